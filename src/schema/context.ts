/**
 * What every resolver gets. Collaborators (the upstream, the cursor codec, the logger) are built
 * once per process; loaders are built per request so batching, caching and the upstream-call
 * budget never leak between callers. Every upstream call of a request goes through its `reads` log
 * (src/loaders/reads.ts), which decides whether the answer may be cached over HTTP.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import { ReadLog, recordReads } from '../loaders/reads.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';
import type { CallerIdentity } from './identity.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  /** Who is calling and what they may do, established by the HTTP edge. */
  caller: CallerIdentity;
  loaders: Loaders;
  /** Signs and checks connection cursors. */
  cursors: CursorCodec;
  /**
   * Epoch ms when the request started: "now" for every duration of a running job or step. A
   * field whose value depends on it must record a changing read (`reads.record(false)`), so the
   * answer is never cached as immutable.
   */
  now: number;
  /** What this request read from Amplify (through the caches), for Cache-Control. */
  reads: ReadLog;
}

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
  /** MAX_UPSTREAM_CALLS_PER_OPERATION, enforced by the loaders as the budget's second line. */
  maxUpstreamCalls: number;
  cursors: CursorCodec;
  /** The clock; Date.now unless a test needs another. */
  clock?: () => number;
}

/** What the HTTP edge knows about a request before GraphQL runs. */
export interface RequestFacts {
  requestId: string;
  log: Logger;
  caller: CallerIdentity;
}

export function createGatewayContext(deps: ContextDeps, request: RequestFacts): GatewayContext {
  const reads = new ReadLog();
  return {
    requestId: request.requestId,
    log: request.log,
    caller: request.caller,
    loaders: createLoaders(recordReads(deps.upstream, reads), {
      maxConcurrency: deps.maxConcurrency,
      maxUpstreamCalls: deps.maxUpstreamCalls,
    }),
    cursors: deps.cursors,
    now: (deps.clock ?? Date.now)(),
    reads,
  };
}
