/**
 * Per-request loaders. A GraphQL request may name the same job many times (aliases, repeats,
 * federation representations): the loader turns that into one GetJob per distinct job, issued
 * concurrently but never more than `maxConcurrency` at once, so one query cannot open a hundred
 * sockets to AWS. A failed key fails only its own slot, never the batch. Every call also counts
 * against the request's upstream-call budget (call-budget.ts).
 */
import DataLoader from 'dataloader';
import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import type { JobKey, JobRecord } from '../upstream/shapes.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { createCallBudget } from './call-budget.js';
import { createLimiter } from './limiter.js';

export interface Loaders {
  job: DataLoader<JobKey, JobRecord, string>;
}

export interface LoaderOptions {
  /** Most upstream calls in flight at once for this request. */
  maxConcurrency: number;
  /** Most upstream calls this request may make in all (MAX_UPSTREAM_CALLS_PER_OPERATION). */
  maxUpstreamCalls: number;
}

export function createLoaders(shared: AmplifyUpstream, options: LoaderOptions): Loaders {
  const limit = createLimiter(options.maxConcurrency);
  const { upstream } = createCallBudget(shared, options.maxUpstreamCalls);
  return {
    job: new DataLoader<JobKey, JobRecord, string>(
      async (keys) =>
        Promise.all(
          keys.map((key) => {
            // Checked here as well as in resolvers so no caller (query, entity) reaches AWS with
            // a malformed key.
            const problems = jobKeyProblems(key);
            if (problems.length > 0) {
              return new GatewayError(ErrorCode.BAD_USER_INPUT, problems.join('; '));
            }
            return limit(() => upstream.getJob(key)).catch((error: unknown) =>
              error instanceof Error ? error : new Error(String(error)),
            );
          }),
        ),
      { cacheKeyFn: jobKeyId, maxBatchSize: 1000 },
    ),
  };
}
