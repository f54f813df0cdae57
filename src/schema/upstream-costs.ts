/**
 * What each field of this schema costs in upstream calls, for the upstream-call budget
 * (upstream-budget.ts): Amplify calls, and reads of step logs. A field that calls upstream must be
 * listed here; list fields take their sizing from list-costs.ts, so the estimate follows the
 * connections' own page sizes.
 *
 * Call identities are shared between fields that use the same loader: `job(...)`, `activeJob` and
 * a federation representation of the same job are one GetJob. What the estimate cannot know before
 * running (which app a job of a page belongs to, a branch's active job) is counted the most it can
 * be, and the loaders enforce the budget again while the operation runs.
 */
import { appIdProblems, branchKeyProblems, jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import { firstProblem, tailLinesProblem } from './argument-checks.js';
import {
  LIST_FIELD_COSTS,
  type ListField,
  type ListFieldCost,
  MAX_JOBS_PER_SUBSCRIPTION,
} from './list-costs.js';
import type { Ancestor, FieldUpstreamCost, UpstreamCostTable } from './upstream-budget.js';

/**
 * The cost of a list field sized by an argument (`first`): one list call per page of up to
 * `maxSize` entries, and everything selected below it once per entry. A size above the maximum is
 * counted as the maximum (the field refuses it anyway).
 */
export function listFieldCost(
  list: Pick<ListFieldCost, 'sizeArgument' | 'defaultSize' | 'maxSize'>,
): FieldUpstreamCost {
  const size = (args: Record<string, unknown>) => {
    const asked = args[list.sizeArgument];
    return typeof asked === 'number' && asked >= 0
      ? Math.min(asked, list.maxSize)
      : list.defaultSize;
  };
  return { calls: (args) => Math.max(1, Math.ceil(size(args) / list.maxSize)), fanOut: size };
}

/**
 * Most steps one job has, for what is selected under `steps` (a step's `log`): Amplify's jobs run
 * BUILD, DEPLOY, VERIFY and, with tests, TEST. A job with more is caught by the loaders' count.
 */
export const STEPS_PER_JOB = 5;

const text = (value: unknown): value is string => typeof value === 'string';

/** The GetJob a job key costs; none when the key is malformed (refused before any call). */
function getJob(key: Record<string, unknown>): string[] {
  const { appId, branchName, jobId } = key;
  if (!text(appId) || !text(branchName) || !text(jobId)) return [];
  const jobKey = { appId, branchName, jobId };
  return jobKeyProblems(jobKey).length > 0 ? [] : [`GetJob ${jobKeyId(jobKey)}`];
}

function getApp(appId: unknown): string[] {
  return text(appId) && appIdProblems(appId).length === 0 ? [`GetApp ${appId}`] : [];
}

function getBranch(key: Record<string, unknown>): string[] {
  const { appId, branchName } = key;
  if (!text(appId) || !text(branchName)) return [];
  return branchKeyProblems({ appId, branchName }).length > 0
    ? []
    : [`GetBranch ${JSON.stringify([appId, branchName])}`];
}

/** The app everything below the nearest field naming one belongs to (`job`, `branch`, `app`). */
function knownApp(ancestors: readonly Ancestor[]): unknown {
  return ancestors.findLast((a) => text(a.args.appId))?.args.appId;
}

/** The branch everything below the nearest field naming one belongs to (`job`, `branch`). */
function knownBranch(ancestors: readonly Ancestor[]): Record<string, unknown> | undefined {
  return ancestors.findLast((a) => text(a.args.appId) && text(a.args.branchName))?.args;
}

const under = (ancestors: readonly Ancestor[], field: string) =>
  ancestors.some((a) => a.field === field);

/** `app` of a job or branch: known from an enclosing `app`/`branch`/`job`, or primed by `apps`. */
/**
 * The representations of the nearest enclosing `_entities`: everything below an entity belongs to
 * its app (and a job's branch is in its representation), so those calls are keyed by them.
 */
function entityRepresentations(ancestors: readonly Ancestor[]): Record<string, unknown>[] {
  const entities = ancestors.findLast((a) => a.field === 'Query._entities');
  return entities === undefined ? [] : representationsOf(entities.args).filter(isPlainObject);
}

const appOf: FieldUpstreamCost = {
  keys: (_args, ancestors) => {
    const app = knownApp(ancestors);
    if (app !== undefined) return getApp(app);
    return [...new Set(entityRepresentations(ancestors).flatMap((r) => getApp(r.appId)))];
  },
  // Apps that `apps` returned are in the loader already; else one GetApp per page of jobs or
  // branches (they all share their app) or per entity.
  calls: (_args, ancestors) => (under(ancestors, 'Query.apps') ? 0 : 1),
  sharedWithin: ['Branch.jobs', 'App.branches'],
};

/** Jobs that come from a page of `Branch.jobs` carry no steps: reading them is one GetJob. */
const JOB_FROM_A_PAGE = ['JobConnection.nodes', 'JobEdge.node'];

/**
 * A list field's cost; its `first`, below another field, checked before the operation runs (at
 * the root, the field refuses it itself before any call, as a field error).
 */
const list = (field: ListField): FieldUpstreamCost => ({
  ...listFieldCost(LIST_FIELD_COSTS[field]),
  problems: (args, ancestors) => {
    if (ancestors.length === 0) return [];
    const first = args.first;
    const problem = typeof first === 'number' ? firstProblem(field, first) : null;
    return problem === null ? [] : [problem];
  },
});

/** The entity types of this subgraph, by `__typename`, and the call one representation costs. */
const ENTITY_CALLS: Readonly<Record<string, (fields: Record<string, unknown>) => string[]>> = {
  Job: (fields) => getJob(fields),
  Branch: (fields) => getBranch(fields),
  App: (fields) => getApp(fields.appId),
};

/** Problems reported per field at most: enough to act on, never a wall of text. */
const MAX_PROBLEMS = 5;

const representationsOf = (args: Record<string, unknown>): unknown[] =>
  Array.isArray(args.representations) ? args.representations : [];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What is wrong with `_entities` representations: each must be an object naming one of this
 * subgraph's entity types in `__typename`, with scalar members only (key fields are strings).
 * Checked without recursion, so a representation nested 45,000 levels deep costs one look.
 */
function representationProblems(args: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [index, representation] of representationsOf(args).entries()) {
    if (problems.length >= MAX_PROBLEMS) break;
    const where = `representations[${index}]`;
    if (!isPlainObject(representation)) {
      problems.push(`${where} must be an object with __typename and the key fields`);
      continue;
    }
    const typename = representation.__typename;
    if (typeof typename !== 'string' || !Object.hasOwn(ENTITY_CALLS, typename)) {
      const shown = typeof typename === 'string' ? JSON.stringify(typename.slice(0, 64)) : 'none';
      problems.push(
        `${where}: __typename must be one of this subgraph's entity types, ${Object.keys(ENTITY_CALLS).join(', ')} (got ${shown})`,
      );
      continue;
    }
    for (const [name, value] of Object.entries(representation)) {
      if (value !== null && typeof value === 'object') {
        problems.push(
          `${where}.${name.slice(0, 64)} must be a string (a key field), not a list or object`,
        );
        break;
      }
    }
  }
  return problems;
}

/** The representations that cost a call: distinct ones of a known entity type. */
function distinctRepresentations(args: Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const representation of representationsOf(args)) {
    if (!isPlainObject(representation)) continue;
    const { __typename: typename } = representation;
    if (typeof typename !== 'string' || !Object.hasOwn(ENTITY_CALLS, typename)) continue;
    for (const key of ENTITY_CALLS[typename]?.(representation) ?? []) keys.add(key);
  }
  return [...keys];
}

/**
 * The distinct, well-formed job keys of `jobsUpdated(jobs: ...)`; none for a list over the
 * maximum, which the field refuses before reading anything.
 */
function subscribedJobs(args: Record<string, unknown>): string[] {
  const jobs = Array.isArray(args.jobs) ? args.jobs : [];
  if (jobs.length > MAX_JOBS_PER_SUBSCRIPTION) return [];
  return [...new Set(jobs.flatMap((job: unknown) => (isPlainObject(job) ? getJob(job) : [])))];
}

/** What the upstream-call estimate needs to know of the configuration. */
export interface UpstreamCostOptions {
  /** STEP_LOG_MAX_BYTES: the most bytes one step log's `text` can hold. */
  stepLogMaxBytes: number;
}

/** The cost table of this schema (see the module comment). */
export function createUpstreamCosts(options: UpstreamCostOptions): UpstreamCostTable {
  return {
    // One call per distinct key, however many aliases name it.
    'Query.job': { keys: (args) => getJob(args) },
    'Query.app': { keys: (args) => getApp(args.appId) },
    'Query.branch': { keys: (args) => getBranch(args) },
    // One call per distinct representation, through the same loaders as the fields above; what is
    // selected below resolves once per distinct representation and is answered once per
    // representation, repeats included.
    'Query._entities': {
      keys: distinctRepresentations,
      fanOut: (args) => distinctRepresentations(args).length,
      copies: (args) => representationsOf(args).length,
      tally: { representations: (args) => representationsOf(args).length },
      problems: representationProblems,
    },
    // A subscription reads each of its jobs once as it starts (through the cache), then resolves
    // what is selected below once per event: counted once per job, the most one poll interval can
    // bring (each job changes at most once per interval).
    'Subscription.jobUpdated': { keys: (args) => getJob(args) },
    'Subscription.jobsUpdated': {
      keys: subscribedJobs,
      fanOut: (args) => subscribedJobs(args).length,
    },
    // StartJob; StopJob and the fresh GetJob that shows the job stopped. Each changes something in
    // Amplify: an operation may hold one.
    'Mutation.startJob': { calls: () => 1, tally: { controlFields: () => 1 } },
    'Mutation.stopJob': { calls: () => 2, tally: { controlFields: () => 1 } },
    // Lists: one call per page; everything below once per entry.
    'Query.apps': list('Query.apps'),
    'App.branches': list('App.branches'),
    'Branch.jobs': list('Branch.jobs'),
    // Navigation.
    'Branch.app': appOf,
    'Branch.url': appOf,
    'Job.app': appOf,
    'Job.branch': {
      keys: (_args, ancestors) => {
        const branch = knownBranch(ancestors);
        if (branch !== undefined) return getBranch(branch);
        // A job of an entity (not of a page of an app's branches) is on its representation's branch.
        if (under(ancestors, 'App.branches')) return [];
        return [...new Set(entityRepresentations(ancestors).flatMap((r) => getBranch(r)))];
      },
      // Branches that `branches` returned are in the loader already; else one GetBranch per page
      // of jobs (they share their branch) or per entity.
      calls: (_args, ancestors) => (under(ancestors, 'App.branches') ? 0 : 1),
      sharedWithin: ['Branch.jobs'],
    },
    // The active job's id is known only once the branch is read: one GetJob per branch.
    'Branch.activeJob': { calls: () => 1 },
    // A job from a page is a summary: its steps are one GetJob (failedStep reads the same steps).
    'Job.steps': { calls: () => 1, onlyFrom: JOB_FROM_A_PAGE, fanOut: () => STEPS_PER_JOB },
    'Job.failedStep': { calls: () => 1, onlyFrom: JOB_FROM_A_PAGE },
    // One read of the log per step.
    'Step.log': {
      calls: () => 1,
      problems: (args) => {
        const tailLines = typeof args.tailLines === 'number' ? args.tailLines : null;
        const problem = tailLinesProblem(tailLines);
        return problem === null ? [] : [problem];
      },
    },
    // Each copy of a log's text in the answer may be STEP_LOG_MAX_BYTES, repeats included.
    'StepLog.text': { tally: { responseBytes: () => options.stepLogMaxBytes } },
  };
}

/** The cost table with STEP_LOG_MAX_BYTES at its default (1 MiB). */
export const UPSTREAM_COSTS: UpstreamCostTable = createUpstreamCosts({
  stepLogMaxBytes: 1024 * 1024,
});
