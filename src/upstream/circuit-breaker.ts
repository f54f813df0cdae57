/**
 * Failing fast when Amplify keeps failing, and backing off when it throttles. A wrapper
 * implementing {@link AmplifyUpstream} around every call method (see wrap.ts), built on cockatiel's
 * circuit breaker (3.2.1: 4.x needs Node 22):
 *
 * - **Circuit breaker.** After `failures` consecutive calls fail for a reason that retrying later
 *   can mend (an outage: {@link isOutage}: 5xx, timeouts, resets, refused connections, a
 *   temporary DNS failure, a 5xx page that is not JSON; after the SDK's retries; never a 4xx), it
 *   opens: every call answers UPSTREAM_UNAVAILABLE at once, without reaching Amplify. After `openMs` the next
 *   call goes through as a probe (half-open; calls arriving meanwhile wait for its outcome): a
 *   probe that succeeds, or gets any answer other than a failure, closes the breaker; a failed one
 *   opens it again for `openMs`. No timer runs: the state moves when a call arrives, or when the
 *   /ready probe, which runs around the breaker, succeeds after the pause ({@link
 *   UpstreamCircuitBreaker.reportSuccess}).
 * - **Throttle pause.** A call that Amplify still throttles once the SDK's retries are spent
 *   (UPSTREAM_THROTTLED) pauses all calls for `throttlePauseMs`: they answer UPSTREAM_THROTTLED at
 *   once instead of adding to the account's rate limit. Each further throttled probe doubles the
 *   pause, up to 30 s; a probe that is not throttled ends it.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  noJitterGenerator,
} from 'cockatiel';
import { ErrorCode, GatewayError } from '../errors.js';
import type { AmplifyUpstream } from './upstream.js';
import { NOT_AMPLIFY_CALLS, wrapCalls } from './wrap.js';

export type BreakerState = 'closed' | 'open' | 'half_open';
export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/** Why a call was answered without reaching Amplify. */
export type ShortCircuitReason = 'circuit_open' | 'throttle_pause';

export interface CircuitBreakerOptions {
  /** `null`: no breaker (calls always go through). */
  breaker: { failures: number; openMs: number } | null;
  /** First pause after a call is throttled beyond the SDK's retries; `null`: no pause. */
  throttlePauseMs: number | null;
  onStateChange?: (state: BreakerState) => void;
  onShortCircuit?: (reason: ShortCircuitReason, method: string) => void;
}

export interface UpstreamCircuitBreaker {
  /** The breaker's state now; `closed` when there is no breaker. */
  readonly state: BreakerState;
  /** The same upstream with every call going through the breaker and the throttle pause. */
  wrap(upstream: AmplifyUpstream): AmplifyUpstream;
  /**
   * Amplify answered a call made around the breaker (the /ready probe). While the breaker is open
   * and its pause is over, that success is its probe and closes it, so it recovers with no traffic
   * at all; before the pause is over, or while it is closed or half-open, nothing changes (failures
   * around the breaker are never counted either).
   */
  reportSuccess(): Promise<void>;
}

/** Longest throttle pause, however long throttling lasts. */
const MAX_THROTTLE_PAUSE_MS = 30_000;

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half_open';
  return 'open';
}

/**
 * Whether a failed call says Amplify (or the way to it) is out: a retryable upstream failure other
 * than throttling. The catalog decides what is retryable (src/errors.ts); a 4xx, a malformed answer
 * to a good request or a configuration error (unknown host, TLS) is not an outage, and a breaker
 * would not mend it.
 */
export function isOutage(error: unknown): boolean {
  return (
    error instanceof GatewayError &&
    error.retryable &&
    error.code.startsWith('UPSTREAM_') &&
    error.code !== ErrorCode.UPSTREAM_THROTTLED
  );
}

export function createCircuitBreaker(options: CircuitBreakerOptions): UpstreamCircuitBreaker {
  const breaker: CircuitBreakerPolicy | null =
    options.breaker === null
      ? null
      : circuitBreaker(handleWhen(isOutage), {
          halfOpenAfter: options.breaker.openMs,
          breaker: new ConsecutiveBreaker(options.breaker.failures),
        });
  const throttle: CircuitBreakerPolicy | null =
    options.throttlePauseMs === null
      ? null
      : circuitBreaker(
          handleWhen((e) => e instanceof GatewayError && e.code === ErrorCode.UPSTREAM_THROTTLED),
          {
            halfOpenAfter: new ExponentialBackoff({
              initialDelay: options.throttlePauseMs,
              maxDelay: Math.max(MAX_THROTTLE_PAUSE_MS, options.throttlePauseMs),
              generator: noJitterGenerator,
            }),
            breaker: new ConsecutiveBreaker(1),
          },
        );
  breaker?.onStateChange((state) => options.onStateChange?.(stateName(state)));

  const paused = (method: string) => {
    options.onShortCircuit?.('throttle_pause', method);
    return new GatewayError(
      ErrorCode.UPSTREAM_THROTTLED,
      'Amplify is throttling the gateway, so it paused its calls for a moment instead of adding to the load; try again in a few seconds.',
      { details: { shortCircuited: 'throttle_pause' } },
    );
  };
  const open = (method: string) => {
    options.onShortCircuit?.('circuit_open', method);
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      'Amplify has been failing, so the gateway stopped calling it for a few seconds (circuit breaker open); try again shortly.',
      { details: { shortCircuited: 'circuit_open' } },
    );
  };

  const throttled = <T>(method: string, call: () => Promise<T>): Promise<T> =>
    throttle === null
      ? call()
      : throttle.execute(call).catch((error: unknown) => {
          throw error instanceof BrokenCircuitError ? paused(method) : error;
        });

  return {
    get state() {
      return breaker === null ? 'closed' : stateName(breaker.state);
    },
    async reportSuccess() {
      if (breaker === null || breaker.state !== CircuitState.Open) return;
      // Open with its pause over: this no-op is the half-open probe, and it succeeds. Within the
      // pause cockatiel refuses it (BrokenCircuitError), which leaves the breaker as it is.
      await breaker.execute(() => Promise.resolve()).catch(() => undefined);
    },
    wrap(upstream) {
      // Step logs come from S3, not from Amplify: their failures say nothing about Amplify.
      return wrapCalls(
        upstream,
        (method, call) =>
          breaker === null
            ? throttled(method, call)
            : breaker
                .execute(() => throttled(method, call))
                .catch((error: unknown) => {
                  throw error instanceof BrokenCircuitError ? open(method) : error;
                }),
        NOT_AMPLIFY_CALLS,
      );
    },
  };
}
