/**
 * What every resolver gets. Collaborators (the upstream, the live hub, the cursor codec, the
 * logger) are built once per process; loaders are built per request so batching and caching never
 * leak between callers.
 */
import type { Logger } from 'pino';
import type { LiveJobs } from '../live/live-jobs.js';
import { createLoaders, type Loaders } from '../loaders/index.js';
import type { AmplifyControl, AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';
import { ANONYMOUS_CALLER, type CallerIdentity } from './identity.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  /** Who is calling and what they may do, established by the HTTP edge. */
  caller: CallerIdentity;
  /**
   * Whose subscriptions count together against LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: the caller's
   * principal, or the peer address for anonymous callers.
   */
  client: string;
  loaders: Loaders;
  /** Signs and checks connection cursors. */
  cursors: CursorCodec;
  /** Epoch ms when the request started: "now" for every duration of a running job or step. */
  now: number;
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
  /** Absent: no access control in front (anonymous, allowed everything). */
  caller?: CallerIdentity | undefined;
  /** The peer's address, for per-client limits of anonymous callers. */
  clientAddress?: string | undefined;
}

export function createGatewayContext(deps: ContextDeps, request: RequestFacts): GatewayContext {
  const caller = request.caller ?? ANONYMOUS_CALLER;
  return {
    requestId: request.requestId,
    log: request.log,
    caller,
    client:
      caller.kind === 'anonymous'
        ? `address:${request.clientAddress ?? 'unknown'}`
        : caller.principal,
    loaders: createLoaders(deps.upstream, deps.maxConcurrency),
    cursors: deps.cursors,
    now: (deps.clock ?? Date.now)(),
    live: deps.live,
    control: deps.upstream,
    controlMutations: deps.controlMutations,
  };
}
