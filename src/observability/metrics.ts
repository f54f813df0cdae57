/**
 * Prometheus metrics (prom-client), one registry per gateway app, served at /metrics by the HTTP
 * edge. Every label takes values from a small fixed set, or is bounded: Amplify operation names
 * come from the SDK's command names, error codes from the catalog, and GraphQL operation names
 * keep their own value only for the first {@link MAX_OPERATION_NAMES} distinct names a process
 * sees (anonymous operations read `Anonymous`, later names `__other__`).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `graphql_operations_total` | counter | operation_name, operation_type |
 * | `graphql_operation_duration_seconds` | histogram | operation_name, operation_type |
 * | `graphql_errors_total` | counter | operation_name, code |
 * | `graphql_operations_rejected_total` | counter | limit |
 * | `gateway_http_responses_total` | counter | route, status |
 * | `gateway_auth_failures_total` | counter | reason |
 * | `amplify_upstream_calls_total` | counter | operation, outcome |
 * | `amplify_upstream_call_duration_seconds` | histogram | operation |
 * | `amplify_upstream_retries_total` | counter | operation |
 * | `amplify_upstream_calls_in_flight` | gauge | |
 * | `amplify_upstream_short_circuited_total` | counter | reason |
 * | `amplify_circuit_breaker_state` | gauge (1 for the current state) | state |
 * | `amplify_circuit_breaker_transitions_total` | counter | state |
 * | `gateway_cache_hits_total`, `gateway_cache_misses_total` | counter | cache |
 * | `gateway_redis_available` | gauge | |
 * | `gateway_live_subscriptions` | gauge | |
 * | `gateway_live_watched_jobs` | gauge | |
 * | `gateway_live_poll_interval_seconds` | gauge | |
 * | `gateway_live_polls_total` | counter | outcome |
 * | `gateway_live_fresh_reads_total` | counter | |
 * | `gateway_live_fanout_received_total` | counter | |
 * | `gateway_amplify_events_total` | counter | outcome |
 *
 * With `processMetrics`, prom-client's default Node.js process metrics (`process_*`, `nodejs_*`)
 * come too.
 */
import { createCounter, createHistogram, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  BREAKER_STATES,
  type BreakerState,
  type ShortCircuitReason,
} from '../upstream/circuit-breaker.js';
import type { UpstreamCallObserver } from '../upstream/observer.js';

/** Distinct GraphQL operation names that get a label value of their own. */
export const MAX_OPERATION_NAMES = 100;
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,49}$/;

/** Why the HTTP edge refused a request's credentials (a label value). */
export type AuthFailureReason =
  | 'missing'
  | 'router_secret'
  | 'unknown_key'
  | 'expired'
  | 'audience'
  | 'issuer'
  | 'unknown_kid'
  | 'signature'
  | 'invalid'
  | 'jwks_unavailable'
  | 'forbidden';

/** Which limit refused an operation before it ran (a label value). */
export type OperationLimit =
  | 'aliases'
  | 'depth'
  | 'tokens'
  | 'directives'
  | 'cost'
  | 'upstream_calls'
  | 'response_bytes'
  | 'entities'
  | 'introspection'
  | 'control_fields'
  | 'trusted_documents';

const OPERATION_LIMITS: ReadonlySet<string> = new Set<OperationLimit>([
  'aliases',
  'depth',
  'tokens',
  'directives',
  'cost',
  'upstream_calls',
  'response_bytes',
  'entities',
  'introspection',
  'control_fields',
  'trusted_documents',
]);
const isOperationLimit = (value: unknown): value is OperationLimit =>
  typeof value === 'string' && OPERATION_LIMITS.has(value);

/** Routes of the HTTP edge, for `gateway_http_responses_total`. */
export type Route = 'graphql' | 'health' | 'ready' | 'metrics' | 'events' | 'other';

/**
 * What the live hub did (src/live/live-jobs.ts): a poll that read the job, found the claim taken
 * by another replica, or failed; a fresh read (a pushed event, a stop); a change received from
 * another replica.
 */
export type LiveActivity =
  | 'poll'
  | 'poll_claimed_elsewhere'
  | 'poll_failed'
  | 'fresh_read'
  | 'received';

/** What POST /events/amplify answered (src/http/amplify-events.ts). */
export type AmplifyEventOutcome = 'accepted' | 'duplicate' | 'rejected' | 'unauthorized';

/** The live hub's numbers read at each scrape. */
export interface LiveGauges {
  subscriptions: number;
  watchedJobs: number;
  pollIntervalMs: number;
}

/**
 * What the caches report (src/http/app.ts's CacheEvent, by shape): a read served by the cache of
 * Amplify answers (`upstream`) or a lookup of the fast path (`response`), a hit or a miss; or
 * Redis becoming available or not.
 */
export interface CacheEventShape {
  cache: string;
  outcome: string;
}

export interface CacheCounters {
  hit(): void;
  miss(): void;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Counts, times and tracks every Amplify operation the SDK client sends. */
  readonly upstreamObserver: UpstreamCallObserver;
  /** The Yoga plugin that records the graphql_* operation metrics. */
  graphqlPlugin(): Plugin;
  breakerStateChanged(state: BreakerState): void;
  shortCircuited(reason: ShortCircuitReason): void;
  authFailed(reason: AuthFailureReason): void;
  operationRejected(limit: OperationLimit): void;
  httpResponse(route: Route, status: number): void;
  /** Hit and miss counters of the cache named `name` (created at zero). */
  cache(name: string): CacheCounters;
  /** Counts one report of the caches (hits, misses, Redis availability). */
  cacheEvent(event: CacheEventShape): void;
  /** The bounded label value for a GraphQL operation name. */
  operationLabel(name: string | null | undefined): string;
  /** Reads the live hub's open subscriptions, watched jobs and poll interval at each scrape. */
  watchLive(read: () => LiveGauges): void;
  liveActivity(activity: LiveActivity): void;
  amplifyEvent(outcome: AmplifyEventOutcome): void;
  /** Records one idle memory trim: its pause, in seconds (src/observability/memory-trim.ts). */
  memoryTrimmed(pauseSeconds: number): void;
}

export interface MetricsOptions {
  /** Also collect prom-client's default process metrics (production; not in tests). */
  processMetrics?: boolean;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const seenOperations = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (name === null || name === undefined || name === '') return 'Anonymous';
    if (seenOperations.has(name)) return name;
    if (!GRAPHQL_NAME.test(name) || seenOperations.size >= MAX_OPERATION_NAMES) return '__other__';
    seenOperations.add(name);
    return name;
  };

  const upstreamCalls = new Counter({
    name: 'amplify_upstream_calls_total',
    help: 'Amplify operations the gateway sent (all SDK attempts of one operation count once), by outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const upstreamDuration = new Histogram({
    name: 'amplify_upstream_call_duration_seconds',
    help: 'Time from sending an Amplify operation to its outcome, retries included.',
    labelNames: ['operation'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const upstreamRetries = new Counter({
    name: 'amplify_upstream_retries_total',
    help: 'HTTP attempts beyond the first that the AWS SDK made for Amplify operations.',
    labelNames: ['operation'] as const,
    registers,
  });
  const inFlight = new Gauge({
    name: 'amplify_upstream_calls_in_flight',
    help: 'Amplify operations sent and not yet settled.',
    registers,
  });
  const shortCircuits = new Counter({
    name: 'amplify_upstream_short_circuited_total',
    help: 'Calls answered without reaching Amplify: circuit_open (circuit breaker) or throttle_pause.',
    labelNames: ['reason'] as const,
    registers,
  });
  const breakerState = new Gauge({
    name: 'amplify_circuit_breaker_state',
    help: 'State of the circuit breaker in front of Amplify: 1 for the current state, 0 for the others.',
    labelNames: ['state'] as const,
    registers,
  });
  const breakerTransitions = new Counter({
    name: 'amplify_circuit_breaker_transitions_total',
    help: 'Times the circuit breaker entered each state.',
    labelNames: ['state'] as const,
    registers,
  });
  const authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Requests refused for their credentials (401) or scopes (403), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'graphql_operations_rejected_total',
    help: 'Operations refused by a limit (before execution, or by the loaders for upstream_calls), by limit.',
    labelNames: ['limit'] as const,
    registers,
  });
  // The counters below move on every request, the fast path's included. They are added up in
  // plain numbers and handed to prom-client when they are read (`collect`, at each scrape and each
  // `get`): prom-client checks and hashes the label set on every `inc`, which cost more than the
  // rest of counting a fast-path answer. What a scrape shows is the same.
  /** Responses since the last read, by route, then status code. */
  const responsesSinceRead = new Map<Route, Map<number, number>>();
  // Registered in `registers`; read only through them.
  new Counter({
    name: 'gateway_http_responses_total',
    help: 'HTTP responses by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers,
    collect() {
      for (const [route, byStatus] of responsesSinceRead) {
        for (const [status, count] of byStatus) {
          if (count > 0) this.inc({ route, status: String(status) }, count);
        }
        byStatus.clear();
      }
    },
  });
  /** Hits and misses of each cache since the last read. */
  const lookupsSinceRead = new Map<string, { hits: number; misses: number }>();
  const cacheHits = new Counter({
    name: 'gateway_cache_hits_total',
    help: 'Lookups answered from a cache, by cache.',
    labelNames: ['cache'] as const,
    registers,
    collect() {
      for (const [cache, counts] of lookupsSinceRead) {
        if (counts.hits > 0) this.inc({ cache }, counts.hits);
        counts.hits = 0;
      }
    },
  });
  const cacheMisses = new Counter({
    name: 'gateway_cache_misses_total',
    help: 'Lookups a cache could not answer, by cache.',
    labelNames: ['cache'] as const,
    registers,
    collect() {
      for (const [cache, counts] of lookupsSinceRead) {
        if (counts.misses > 0) this.inc({ cache }, counts.misses);
        counts.misses = 0;
      }
    },
  });

  // Registered on the first report of Redis, so an instance without REDIS_URL has no such gauge
  // (rather than a 0 that would read as an outage).
  let redisAvailable: Gauge | null = null;
  const cacheCounters = new Map<string, CacheCounters>();
  const countersOf = (name: string): CacheCounters => {
    let counters = cacheCounters.get(name);
    if (counters === undefined) {
      cacheHits.inc({ cache: name }, 0);
      cacheMisses.inc({ cache: name }, 0);
      const counts = { hits: 0, misses: 0 };
      lookupsSinceRead.set(name, counts);
      counters = {
        hit: () => {
          counts.hits++;
        },
        miss: () => {
          counts.misses++;
        },
      };
      cacheCounters.set(name, counters);
    }
    return counters;
  };

  const setBreakerState = (state: BreakerState) => {
    for (const s of BREAKER_STATES) breakerState.set({ state: s }, s === state ? 1 : 0);
  };
  setBreakerState('closed');

  const upstreamObserver: UpstreamCallObserver = {
    start(operation) {
      inFlight.inc();
      const stopTimer = upstreamDuration.startTimer({ operation });
      return (result) => {
        inFlight.dec();
        stopTimer();
        upstreamCalls.inc({ operation, outcome: result.outcome });
        if (result.attempts > 1) upstreamRetries.inc({ operation }, result.attempts - 1);
      };
    },
  };

  const graphqlErrors = new Counter({
    name: 'graphql_errors_total',
    help: 'Errors in GraphQL responses (parse, validation, limits, execution), by operation name and error code.',
    labelNames: ['operation_name', 'code'] as const,
    registers,
  });
  /** Counts every error of every result, whichever phase produced it. */
  const errorCounting = (): Plugin => {
    const names = new WeakMap<object, string | undefined>();
    return {
      onParse({ context, params }) {
        return ({ result }) => {
          if (result instanceof Error || result === null) return;
          const operationName = (params as { operationName?: string }).operationName;
          names.set(context, getOperationAST(result, operationName)?.name?.value);
        };
      },
      onExecutionResult({ result, context }) {
        if (result === undefined || Array.isArray(result) || !('errors' in result)) return;
        const operation = operationLabel(names.get(context));
        const limits = new Set<OperationLimit>();
        let forbidden = false;
        for (const error of result.errors ?? []) {
          const code = error.extensions?.code;
          graphqlErrors.inc({
            operation_name: operation,
            code: typeof code === 'string' && ERROR_CODE.test(code) ? code : 'OTHER',
          });
          const limit = error.extensions?.limit;
          if (code === 'OPERATION_LIMIT_EXCEEDED' && isOperationLimit(limit)) limits.add(limit);
          if (code === 'FORBIDDEN') forbidden = true;
        }
        for (const limit of limits) rejected.inc({ limit });
        if (forbidden) authFailures.inc({ reason: 'forbidden' });
      },
    };
  };

  const prometheus = (): Plugin =>
    usePrometheus({
      registry,
      endpoint: false,
      metrics: {
        graphql_envelop_request: createCounter({
          registry,
          counter: {
            name: 'graphql_operations_total',
            help: 'GraphQL operations executed (valid operations that ran), by name and type.',
            labelNames: ['operation_name', 'operation_type'] as const,
          },
          fillLabelsFn: (params) => ({
            operation_name: operationLabel(params.operationName),
            operation_type: params.operationType ?? 'unknown',
          }),
        }),
        graphql_envelop_request_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_operation_duration_seconds',
            help: 'Time to execute a GraphQL operation, Amplify calls included.',
            labelNames: ['operation_name', 'operation_type'] as const,
            buckets: SECONDS_BUCKETS,
          },
          fillLabelsFn: (params) => ({
            operation_name: operationLabel(params.operationName),
            operation_type: params.operationType ?? 'unknown',
          }),
        }),
        // Counted below instead: this one cannot see the code of validation errors.
        graphql_envelop_error_result: false,
        // Off: summaries cannot be aggregated across replicas, per-phase timings are noise here,
        // and the HTTP histogram labels by full URL (unbounded).
        graphql_envelop_request_time_summary: false,
        graphql_envelop_phase_parse: false,
        graphql_envelop_phase_validate: false,
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_execute: false,
        graphql_envelop_phase_subscribe: false,
        graphql_envelop_deprecated_field: false,
        graphql_envelop_schema_change: false,
        graphql_envelop_execute_resolver: false,
        graphql_yoga_http_duration: false,
      },
    });

  let readLive: (() => LiveGauges) | null = null;
  const liveGauge = (name: string, help: string, value: (live: LiveGauges) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        if (readLive !== null) this.set(value(readLive()));
      },
    });
  liveGauge(
    'gateway_live_subscriptions',
    'Live subscriptions (jobUpdated, each job of jobsUpdated) open in this process.',
    (live) => live.subscriptions,
  );
  liveGauge(
    'gateway_live_watched_jobs',
    'Jobs with at least one live subscriber in this process.',
    (live) => live.watchedJobs,
  );
  liveGauge(
    'gateway_live_poll_interval_seconds',
    "The live pollers' interval now, backoff included.",
    (live) => live.pollIntervalMs / 1000,
  );
  const livePolls = new Counter({
    name: 'gateway_live_polls_total',
    help: 'Live poll ticks of watched jobs: read (this replica polled), claimed_elsewhere (the claim was held: another replica polled, or a replica is backing off), failed.',
    labelNames: ['outcome'],
    registers,
  });
  const freshReads = new Counter({
    name: 'gateway_live_fresh_reads_total',
    help: 'Jobs read around the cache for a pushed event or after a stop.',
    registers,
  });
  const fanoutReceived = new Counter({
    name: 'gateway_live_fanout_received_total',
    help: 'Job changes received from another replica (Redis pub/sub) that were news here.',
    registers,
  });
  const amplifyEvents = new Counter({
    name: 'gateway_amplify_events_total',
    help: 'POST /events/amplify answers: accepted (202), duplicate (200), rejected (400, 413), unauthorized (401).',
    labelNames: ['outcome'],
    registers,
  });
  const memoryTrims = new Histogram({
    name: 'gateway_memory_trim_pause_seconds',
    help: 'Idle memory trims (one memory-reducing garbage collection after a burst, MEMORY_TRIM_IDLE_MS) and how long each held the event loop.',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  for (const outcome of ['read', 'claimed_elsewhere', 'failed']) livePolls.inc({ outcome }, 0);
  for (const outcome of ['accepted', 'duplicate', 'rejected', 'unauthorized']) {
    amplifyEvents.inc({ outcome }, 0);
  }

  const graphqlPlugin = (): Plugin => ({
    onPluginInit({ addPlugin }) {
      addPlugin(prometheus());
      addPlugin(errorCounting());
    },
  });

  return {
    registry,
    upstreamObserver,
    graphqlPlugin,
    breakerStateChanged(state) {
      setBreakerState(state);
      breakerTransitions.inc({ state });
    },
    shortCircuited(reason) {
      shortCircuits.inc({ reason });
    },
    authFailed(reason) {
      authFailures.inc({ reason });
    },
    operationRejected(limit) {
      rejected.inc({ limit });
    },
    httpResponse(route, status) {
      let byStatus = responsesSinceRead.get(route);
      if (byStatus === undefined) {
        byStatus = new Map();
        responsesSinceRead.set(route, byStatus);
      }
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    },
    cache: countersOf,
    cacheEvent(event) {
      if (event.cache === 'redis') {
        redisAvailable ??= new Gauge({
          name: 'gateway_redis_available',
          help: 'Whether the Redis shared by replicas answers (1) or not (0); absent without REDIS_URL.',
          registers,
        });
        redisAvailable.set(event.outcome === 'available' ? 1 : 0);
      } else if (event.cache === 'upstream' || event.cache === 'response') {
        if (event.outcome === 'hit') countersOf(event.cache).hit();
        else if (event.outcome === 'miss') countersOf(event.cache).miss();
      }
    },
    operationLabel,
    watchLive(read) {
      readLive = read;
    },
    liveActivity(activity) {
      if (activity === 'poll') livePolls.inc({ outcome: 'read' });
      else if (activity === 'poll_claimed_elsewhere')
        livePolls.inc({ outcome: 'claimed_elsewhere' });
      else if (activity === 'poll_failed') livePolls.inc({ outcome: 'failed' });
      else if (activity === 'fresh_read') freshReads.inc();
      else fanoutReceived.inc();
    },
    amplifyEvent(outcome) {
      amplifyEvents.inc({ outcome });
    },
    memoryTrimmed(pauseSeconds) {
      memoryTrims.observe(pauseSeconds);
    },
  };
}
