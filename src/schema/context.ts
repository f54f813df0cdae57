/**
 * What every resolver gets. Collaborators (the upstream, the live hub, the cursor codec, the
 * logger) are built once per process; loaders are built per request so batching, caching and the upstream-call
 * budget never leak between callers. Every upstream call of a request goes through its `reads` log
 * (src/loaders/reads.ts), which decides whether the answer may be cached over HTTP.
 */
import type { Logger } from 'pino';
import type { LiveJobs } from '../live/live-jobs.js';
import { type CallBudget, createCallBudget } from '../loaders/call-budget.js';
import { createLoaders, type Loaders } from '../loaders/index.js';
import { ReadLog, recordReads } from '../loaders/reads.js';
import type { AmplifyControl, AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';
import type { CallerIdentity } from './identity.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  /** Who is calling and what they may do, established by the HTTP edge. */
  caller: CallerIdentity;
  /**
   * Whose subscriptions count together against LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: the caller's
   * credentials and the peer address they come from (one leaked or shared key does not hold every
   * holder's quota), the peer address alone for anonymous callers; `null` for a federation router
   * (every supergraph client comes through it: only the per-process limit applies).
   */
  client: string | null;
  /**
   * Aborted when the client goes away; null when the request has none (tests, the reference
   * executor). A subscription still waiting for its first answer listens to it: the HTTP layer
   * drops a response it can no longer send, so nothing else would close its stream.
   */
  signal: AbortSignal | null;
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
  /**
   * StartJob/StopJob, each sent once; only when `controlMutations` is on. Counted against the
   * request's upstream-call budget like every read.
   */
  control: AmplifyControl;
  controlMutations: boolean;
  /** The request's upstream-call budget, shared by its loaders and its control calls. */
  budget: CallBudget;
  /**
   * Starts a new event of a subscription, whose context lives as long as it does: fresh loaders
   * (nothing cached from an earlier event) and a new `now`. The upstream-call budget is the
   * subscription's for one poll interval, whatever the number of events in it, then starts again.
   */
  renewForEvent(this: GatewayContext): void;
}

/** A subscription's budget window when the deps name none: LIVE_POLL_INTERVAL_MS's default. */
const DEFAULT_SUBSCRIPTION_BUDGET_WINDOW_MS = 5_000;

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
  /** MAX_UPSTREAM_CALLS_PER_OPERATION, enforced by the loaders as the budget's second line. */
  maxUpstreamCalls: number;
  cursors: CursorCodec;
  /** The clock; Date.now unless a test needs another. */
  clock?: () => number;
  live: LiveJobs;
  controlMutations: boolean;
  /**
   * How long one upstream-call budget lasts for a subscription (LIVE_POLL_INTERVAL_MS): each of
   * its jobs changes at most once per poll interval, so the estimate made as it starts covers one
   * interval's events. Default 5000.
   */
  subscriptionBudgetWindowMs?: number;
}

/** What the HTTP edge knows about a request before GraphQL runs. */
export interface RequestFacts {
  requestId: string;
  log: Logger;
  caller: CallerIdentity;
  /** The request's client (`clientAddressOf`: an IPv6 address by its /56), for per-client limits. */
  clientAddress?: string | undefined;
  /** Aborted when the client goes away (the HTTP request's signal). */
  signal?: AbortSignal | undefined;
}

/** See {@link GatewayContext.client}. */
function clientOf(request: RequestFacts): string | null {
  const address = `address:${request.clientAddress ?? 'unknown'}`;
  switch (request.caller.kind) {
    case 'router':
      return null;
    case 'anonymous':
      return address;
    default:
      return `${request.caller.principal} ${address}`;
  }
}

export function createGatewayContext(deps: ContextDeps, request: RequestFacts): GatewayContext {
  const reads = new ReadLog();
  const clock = deps.clock ?? Date.now;
  const budget = createCallBudget(recordReads(deps.upstream, reads), deps.maxUpstreamCalls);
  const budgetWindowMs = deps.subscriptionBudgetWindowMs ?? DEFAULT_SUBSCRIPTION_BUDGET_WINDOW_MS;
  let budgetSince = clock();
  const loaders = () =>
    createLoaders(budget.upstream, { maxConcurrency: deps.maxConcurrency, maxUpstreamCalls: null });
  const context: GatewayContext = {
    requestId: request.requestId,
    log: request.log,
    caller: request.caller,
    client: clientOf(request),
    signal: request.signal ?? null,
    loaders: loaders(),
    cursors: deps.cursors,
    now: clock(),
    reads,
    live: deps.live,
    control: budget.upstream,
    controlMutations: deps.controlMutations,
    budget,
    // `this`: Yoga merges this object into the context it executes with, a different object.
    renewForEvent() {
      this.loaders = loaders();
      this.now = clock();
      if (this.now - budgetSince >= budgetWindowMs) {
        budget.reset();
        budgetSince = this.now;
      }
    },
  };
  return context;
}
