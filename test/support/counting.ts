/** An upstream wrapper for tests: counts the calls of each read method, then passes them on. */
import {
  type AmplifyUpstream,
  READ_METHODS,
  type ReadMethod,
} from '../../src/upstream/upstream.js';
import { wrapReads } from '../../src/upstream/wrap.js';

export interface CountingUpstream {
  /** Use as `createGateway({ wrap })`. */
  wrap(upstream: AmplifyUpstream): AmplifyUpstream;
  /** Calls of one read method (or of all) since the last reset. */
  calls(method?: ReadMethod): number;
  reset(): void;
}

export function countingUpstream(): CountingUpstream {
  const counts = new Map<ReadMethod, number>();
  return {
    wrap: (upstream) =>
      wrapReads(upstream, (method, call) => {
        const counted = (input: object) => {
          counts.set(method, (counts.get(method) ?? 0) + 1);
          return (call as (input: object) => Promise<unknown>)(input);
        };
        return counted as typeof call;
      }),
    calls: (method) =>
      method === undefined
        ? READ_METHODS.reduce((sum, m) => sum + (counts.get(m) ?? 0), 0)
        : (counts.get(method) ?? 0),
    reset: () => counts.clear(),
  };
}
