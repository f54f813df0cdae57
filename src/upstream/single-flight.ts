/**
 * Shares one in-flight GetJob between every caller that asks for the same job at the same moment,
 * across requests: twenty dashboards polling one running job cost one upstream call at a time,
 * not twenty. Nothing is kept once the call settles (that is a cache's job, not this one's), so a
 * caller never sees an answer older than the call it joined.
 */
import { jobKeyId } from './keys.js';
import type { JobRecord } from './shapes.js';
import type { AmplifyUpstream } from './upstream.js';

export function withSingleFlight(upstream: AmplifyUpstream): AmplifyUpstream {
  const inFlight = new Map<string, Promise<JobRecord>>();
  return {
    ...upstream,
    getJob(key) {
      const id = jobKeyId(key);
      const pending = inFlight.get(id);
      if (pending !== undefined) return pending;
      const call = upstream.getJob(key).finally(() => inFlight.delete(id));
      inFlight.set(id, call);
      return call;
    },
  };
}
