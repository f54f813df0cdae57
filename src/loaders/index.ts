/**
 * Per-request loaders. A GraphQL request may name the same job many times (aliases, repeats,
 * federation representations): the loader turns that into one GetJob per distinct job, issued
 * concurrently but never more than `maxConcurrency` at once, so one query cannot open a hundred
 * sockets to AWS. A failed key fails only its own slot, never the batch.
 */
import DataLoader from 'dataloader';
import { ErrorCode, GatewayError } from '../errors.js';
import { jobKeyId, jobKeyProblems } from '../upstream/keys.js';
import type { JobKey, JobRecord } from '../upstream/shapes.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { createLimiter } from './limiter.js';

export interface Loaders {
  job: DataLoader<JobKey, JobRecord, string>;
}

export function createLoaders(upstream: AmplifyUpstream, maxConcurrency: number): Loaders {
  const limit = createLimiter(maxConcurrency);
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
