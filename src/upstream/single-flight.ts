/**
 * Shares one in-flight read between every caller that asks for the same thing at the same moment,
 * across requests: twenty dashboards polling one running job cost one GetJob at a time, not
 * twenty; the same goes for an app, a branch, a page of a list (same list, token and page size)
 * and a step's log. Nothing is kept once the call settles (that is a cache's job, not this one's),
 * so a caller never sees an answer older than the call it joined.
 */
import { type AmplifyUpstream, readKey } from './upstream.js';
import { wrapReads } from './wrap.js';

export function withSingleFlight(upstream: AmplifyUpstream): AmplifyUpstream {
  return wrapReads(upstream, (method, call) => {
    const inFlight = new Map<string, Promise<unknown>>();
    const shared = (input: object): Promise<unknown> => {
      const id = readKey(method, input);
      const pending = inFlight.get(id);
      if (pending !== undefined) return pending;
      const started = (call as (input: object) => Promise<unknown>)(input).finally(() =>
        inFlight.delete(id),
      );
      inFlight.set(id, started);
      return started;
    };
    return shared as typeof call;
  });
}
