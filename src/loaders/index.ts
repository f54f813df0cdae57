/**
 * Per-request loaders. A GraphQL request may name the same job, app or branch many times (aliases,
 * repeats, every job of a page pointing at its app, federation representations): each loader
 * turns that into one upstream call per distinct key. All of a request's upstream calls share one
 * limiter, so they are issued concurrently but never more than `maxConcurrency` at once and one
 * query cannot open a hundred sockets to AWS. A failed key fails only its own slot, never the
 * batch. Pages of apps and branches prime the app and branch loaders, so navigating from a list to
 * an entry it already holds costs nothing more. Every call also counts against the request's
 * upstream-call budget (call-budget.ts).
 */
import DataLoader from 'dataloader';
import { ErrorCode, GatewayError } from '../errors.js';
import type { AppRecord } from '../upstream/app-shapes.js';
import type { BranchKey, BranchRecord } from '../upstream/branch-shapes.js';
import {
  appIdProblems,
  branchKeyId,
  branchKeyProblems,
  jobKeyId,
  jobKeyProblems,
} from '../upstream/keys.js';
import type {
  JobListItem,
  ListAppsRequest,
  ListBranchesRequest,
  ListJobsRequest,
  Page,
} from '../upstream/page-shapes.js';
import type { JobKey, JobRecord } from '../upstream/shapes.js';
import type { StepLogRecord, StepLogRequest } from '../upstream/step-log.js';
import { type AmplifyUpstream, type AppKey, readKey } from '../upstream/upstream.js';
import { createCallBudget } from './call-budget.js';
import { createLimiter } from './limiter.js';

export interface Loaders {
  job: DataLoader<JobKey, JobRecord, string>;
  app: DataLoader<AppKey, AppRecord, string>;
  branch: DataLoader<BranchKey, BranchRecord, string>;
  appPage: DataLoader<ListAppsRequest, Page<AppRecord>, string>;
  branchPage: DataLoader<ListBranchesRequest, Page<BranchRecord>, string>;
  jobPage: DataLoader<ListJobsRequest, Page<JobListItem>, string>;
  stepLog: DataLoader<StepLogRequest, StepLogRecord, string>;
}

type Limit = ReturnType<typeof createLimiter>;

/**
 * A loader whose keys are each one upstream call, made under the request's limiter. `problems`
 * is checked here as well as in resolvers so no caller (query, entity) reaches Amplify with a
 * malformed key.
 *
 * Each key settles on its own: the batch hands DataLoader one promise per key (a promise resolved
 * with a promise takes on its outcome), not one promise for the whole batch, so the fields of a
 * job whose answer is in are resolved while slower calls are still out. With more keys than
 * UPSTREAM_MAX_CONCURRENCY, the first wave's GraphQL work then overlaps the second wave's wait.
 */
function perKey<K, V>(
  limit: Limit,
  call: (key: K) => Promise<V>,
  cacheKeyFn: (key: K) => string,
  problems: (key: K) => string[] = () => [],
): DataLoader<K, V, string> {
  return new DataLoader<K, V, string>(
    async (keys) =>
      keys.map((key): V | Promise<V> | Error => {
        const found = problems(key);
        if (found.length > 0) return new GatewayError(ErrorCode.BAD_USER_INPUT, found.join('; '));
        return limit(() => call(key));
      }) as Array<V | Error>,
    { cacheKeyFn, maxBatchSize: 1000 },
  );
}

export interface LoaderOptions {
  /** Most upstream calls in flight at once for this request. */
  maxConcurrency: number;
  /**
   * Most upstream calls this request may make in all (MAX_UPSTREAM_CALLS_PER_OPERATION); `null`
   * when `shared` is already counted against the request's budget (createCallBudget).
   */
  maxUpstreamCalls: number | null;
}

export function createLoaders(shared: AmplifyUpstream, options: LoaderOptions): Loaders {
  const limit = createLimiter(options.maxConcurrency);
  const upstream =
    options.maxUpstreamCalls === null
      ? shared
      : createCallBudget(shared, options.maxUpstreamCalls).upstream;
  const appKeyId = (key: AppKey) => key.appId;
  const app = perKey(
    limit,
    (key: AppKey) => upstream.getApp(key),
    appKeyId,
    (key) => appIdProblems(key.appId),
  );
  const branch = perKey(
    limit,
    (key: BranchKey) => upstream.getBranch(key),
    branchKeyId,
    branchKeyProblems,
  );
  return {
    job: perKey(limit, (key: JobKey) => upstream.getJob(key), jobKeyId, jobKeyProblems),
    app,
    branch,
    appPage: perKey(
      limit,
      async (request: ListAppsRequest) => {
        const page = await upstream.listApps(request);
        for (const item of page.items) app.prime({ appId: item.appId }, item);
        return page;
      },
      (request) => readKey('listApps', request),
    ),
    branchPage: perKey(
      limit,
      async (request: ListBranchesRequest) => {
        const page = await upstream.listBranches(request);
        for (const item of page.items) branch.prime(item, item);
        return page;
      },
      (request) => readKey('listBranches', request),
      (request) => appIdProblems(request.appId),
    ),
    jobPage: perKey(
      limit,
      (request: ListJobsRequest) => upstream.listJobs(request),
      (request) => readKey('listJobs', request),
      branchKeyProblems,
    ),
    stepLog: perKey(
      limit,
      (request: StepLogRequest) => upstream.getStepLog(request),
      (request) => readKey('getStepLog', request),
    ),
  };
}
