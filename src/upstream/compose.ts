/**
 * The order of the upstream wrappers, in one place: the SDK client, the circuit breaker and
 * throttle pause (failing fast while Amplify is out), single-flight (concurrent identical calls
 * share one), then the cache (memory, and Redis shared by replicas), which answers what it holds
 * even while the breaker is open. The HTTP edge
 * (createGatewayApp) builds its upstream here, and so does any other server of the same answers
 * (the bench's Mercurius target). The live pollers read through the cache; pushed events read
 * around it (`fresh`).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createSharedState, type SharedState } from '../shared-state/redis.js';
import { type UpstreamCacheEvent, withCache } from './cache.js';
import type { UpstreamCircuitBreaker } from './circuit-breaker.js';
import { withSingleFlight } from './single-flight.js';
import type { AmplifyUpstream } from './upstream.js';

/** Redis became usable (`available`) or not, as the shared state saw it. */
export interface SharedCacheEvent {
  cache: 'redis';
  outcome: 'available' | 'unavailable';
}

/** What the upstream caches report: reads served, and changes of Redis availability. */
export type UpstreamStackEvent = UpstreamCacheEvent | SharedCacheEvent;

/** Milliseconds a replica may hold the lease on a shared miss: one attempt of its Amplify call. */
function leaseMs(config: Config): number {
  return Math.min(config.upstream.requestTimeoutMs, 5_000);
}

/** The app's two ways to Amplify: through the cache, and around it (both behind the breaker). */
export interface UpstreamStack {
  /** Breaker, single-flight, then the cache: what requests and live polls read through. */
  cached: AmplifyUpstream;
  /**
   * Breaker and single-flight only: a read that must not be older than the moment it is made (a
   * pushed event, right after a stop), still shared with the reads in flight.
   */
  fresh: AmplifyUpstream;
}

/** What the upstream stack is built with besides the config and the SDK client. */
export interface UpstreamStackOptions {
  /** Redis shared by replicas (createSharedStateFor), or `null`: memory only. */
  shared: SharedState | null;
  log: Logger;
  /** Told about cache hits and misses. */
  onEvent?: ((event: UpstreamStackEvent) => void) | undefined;
  /** The circuit breaker and throttle pause in front of Amplify; none when absent. */
  breaker?: UpstreamCircuitBreaker | undefined;
  /** Now, in epoch ms, for the expiry of presigned URLs the cache holds; default Date.now. */
  clock?: (() => number) | undefined;
}

/**
 * The Amplify calls of the app, innermost first: the SDK client (`upstream`), the circuit
 * breaker (when given), single-flight, then the cache (memory, and Redis when `shared`); no cache
 * when it is off.
 */
export function composeUpstreams(
  config: Config,
  upstream: AmplifyUpstream,
  options: UpstreamStackOptions,
): UpstreamStack {
  const { breaker } = options;
  const singleFlight = withSingleFlight(breaker === undefined ? upstream : breaker.wrap(upstream));
  if (config.cache === null) return { cached: singleFlight, fresh: singleFlight };
  const cached = withCache(singleFlight, {
    ...config.cache,
    shared: options.shared,
    leaseMs: leaseMs(config),
    log: options.log,
    onEvent: options.onEvent,
    clock: options.clock,
  });
  return { cached, fresh: singleFlight };
}

/**
 * Redis for what replicas share (the cache, and the live pollers' claims and fan-out), when
 * REDIS_URL is set; else `null`.
 */
export function createSharedStateFor(
  config: Config,
  log: Logger,
  onEvent?: (event: UpstreamStackEvent) => void,
): SharedState | null {
  if (config.redis === null) return null;
  return createSharedState({
    ...config.redis,
    log,
    onAvailabilityChange: (available) =>
      onEvent?.({ cache: 'redis', outcome: available ? 'available' : 'unavailable' }),
  });
}
