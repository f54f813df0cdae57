/**
 * `/ready`: whether this instance can serve jobs now. It asks Amplify at most once per interval
 * (concurrent probes share one call) so a fleet of probes cannot become load on AWS. The probe
 * goes through the circuit breaker: while the breaker is open it fails at once
 * (UPSTREAM_UNAVAILABLE, no call), and once the breaker's pause is over the probe itself is the
 * call that tests Amplify and closes the breaker, so readiness recovers with no traffic at all.
 * With the probe off, /ready does not depend on the breaker (nothing would probe it again if the
 * pods left the Service), but still reports its state.
 */

import { ErrorCode, GatewayError } from '../errors.js';
import type { BreakerState } from '../upstream/circuit-breaker.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';

export interface ReadyState {
  ready: boolean;
  status: 'ready' | 'unavailable';
  /** Error code of the last failed probe. */
  reason?: string;
  /** The circuit breaker in front of Amplify, as of this answer. */
  circuitBreaker: BreakerState;
  checkedAt: string;
}

export interface Readiness {
  check(): Promise<ReadyState>;
}

/** Long enough to absorb probe storms, short enough that recovery shows within one probe period. */
const CACHE_MS = 5_000;

export function createReadiness(
  upstream: AmplifyUpstream,
  probe: boolean,
  breakerState: () => BreakerState = () => 'closed',
  now: () => number = Date.now,
): Readiness {
  let last: { state: ReadyState; at: number } | null = null;
  let pending: Promise<ReadyState> | null = null;

  const run = async (): Promise<ReadyState> => {
    const checkedAt = new Date(now()).toISOString();
    if (!probe) return { ready: true, status: 'ready', circuitBreaker: breakerState(), checkedAt };
    try {
      await upstream.checkReady();
      return { ready: true, status: 'ready', circuitBreaker: breakerState(), checkedAt };
    } catch (error) {
      const reason = error instanceof GatewayError ? error.code : ErrorCode.INTERNAL_SERVER_ERROR;
      return {
        ready: false,
        status: 'unavailable',
        reason,
        circuitBreaker: breakerState(),
        checkedAt,
      };
    }
  };

  return {
    check() {
      // A cached answer holds while the breaker keeps the state it had then: once traffic has
      // closed (or opened) the breaker, the next probe tells at once.
      if (
        last !== null &&
        now() - last.at < CACHE_MS &&
        last.state.circuitBreaker === breakerState()
      ) {
        return Promise.resolve(last.state);
      }
      pending ??= run().then((state) => {
        last = { state, at: now() };
        pending = null;
        return state;
      });
      return pending;
    },
  };
}
