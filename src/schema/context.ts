/**
 * What every resolver gets. Collaborators (the upstream, the live hub, the cursor codec, the
 * logger) are built once per process; loaders are built per request so batching and caching never
 * leak between callers. Every upstream call of a request goes through its `reads` log
 * (src/loaders/reads.ts), which decides whether the answer may be cached over HTTP.
 */
import type { Logger } from 'pino';
import type { LiveJobs } from '../live/live-jobs.js';
import { createLoaders, type Loaders } from '../loaders/index.js';
import { ReadLog, recordReads } from '../loaders/reads.js';
import type { AmplifyControl, AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';
import { ANONYMOUS_CALLER, type CallerIdentity } from './identity.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  /**
   * Who is calling and what they may do, established by the HTTP edge. (Not `caller`: Yoga merges
   * this context into the server context, whose `caller` is the caches' key of the caller.)
   */
  identity: CallerIdentity;
  /**
   * Whose subscriptions count together against LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: the caller's
   * principal, or the peer address for anonymous callers.
   */
  client: string;
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
  live: LiveJobs;
  /** StartJob/StopJob, each sent once; only when `controlMutations` is on. */
  control: AmplifyControl;
  controlMutations: boolean;
}

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
  cursors: CursorCodec;
  /** The clock; Date.now unless a test needs another. */
  clock?: () => number;
  live: LiveJobs;
  controlMutations: boolean;
}

/** What the HTTP edge knows about a request before GraphQL runs. */
export interface RequestFacts {
  requestId: string;
  log: Logger;
  /** Who is calling; absent: no access control in front (anonymous, allowed everything). */
  identity?: CallerIdentity | undefined;
  /** An authenticated caller's name as the caches know it, when there is no identity. */
  principal?: string | undefined;
  /** The peer's address, for per-client limits of anonymous callers. */
  clientAddress?: string | undefined;
}

export function createGatewayContext(deps: ContextDeps, request: RequestFacts): GatewayContext {
  const identity = request.identity ?? ANONYMOUS_CALLER;
  const reads = new ReadLog();
  return {
    requestId: request.requestId,
    log: request.log,
    identity,
    client:
      identity.kind !== 'anonymous'
        ? identity.principal
        : request.principal !== undefined
          ? request.principal
          : `address:${request.clientAddress ?? 'unknown'}`,
    loaders: createLoaders(recordReads(deps.upstream, reads), deps.maxConcurrency),
    cursors: deps.cursors,
    now: (deps.clock ?? Date.now)(),
    reads,
    live: deps.live,
    control: deps.upstream,
    controlMutations: deps.controlMutations,
  };
}
