/**
 * `/ready`: whether this replica should receive traffic. What it protects against is a replica
 * that cannot serve at all (no working credentials, a wrong endpoint), not an Amplify outage: every
 * replica shares Amplify, so an outage would turn all of them unready at once, leave the Service
 * without endpoints and make even the finished jobs in their caches unreachable. Hence:
 *
 * - **Not ready until the first successful probe**, so a rollout with a wrong role, region or
 *   endpoint never receives traffic (and `maxUnavailable: 0` keeps the old pods serving).
 * - **Not ready while Amplify refuses the credentials** (UPSTREAM_UNAUTHORIZED), even after
 *   having been ready: credentials are per pod (an IRSA token it failed to refresh, a revoked
 *   key), and a replica that cannot authenticate should leave the Service to the others.
 * - **Still ready during an outage** once it has succeeded: 5xx, timeouts, resets, throttling or
 *   an open circuit breaker are reported in the body (`status: "degraded"`, `upstream:
 *   "unavailable"`, `reason`, `circuitBreaker`) while the replica keeps serving what it can (its
 *   cache, errors that say `retryable: true`).
 *
 * The probe is one ListApps of one item, ONE attempt cut at `timeoutMs` (well under the
 * orchestrator's probe timeout), at most once per {@link REFRESH_MS}; concurrent and repeated
 * checks share it, and a check that arrives while a probe is in flight answers the last known
 * state at once. It runs around the circuit breaker: its short timeout must not open the breaker
 * that guards requests with longer ones, and a probe must not be refused by it. A successful probe
 * while the breaker is open counts as the breaker's own probe once its pause is over, so the
 * breaker closes with no traffic at all.
 */

import { ErrorCode, GatewayError } from '../errors.js';
import type { BreakerState } from '../upstream/circuit-breaker.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';

/** The body of `/ready` (HTTP 200 when `ready`, else 503). */
export interface ReadyState {
  ready: boolean;
  /**
   * `ready`: Amplify answered the last probe. `degraded`: ready, but the last probe failed for an
   * outage (see `reason`). `not_ready`: no probe has succeeded yet, or Amplify refuses the
   * credentials.
   */
  status: 'ready' | 'degraded' | 'not_ready';
  /**
   * What the last probe saw: `available`, `unavailable` (an outage or no answer yet), `refused`
   * (Amplify refused the credentials or permissions), `unchecked` (READINESS_PROBE=off).
   */
  upstream: 'available' | 'unavailable' | 'refused' | 'unchecked';
  /** Error code of the last failed probe, e.g. UPSTREAM_TIMEOUT. */
  reason?: string;
  /** The circuit breaker in front of Amplify, as of this answer. */
  circuitBreaker: BreakerState;
  /** When the last probe ended (RFC 3339); absent before the first one ends. */
  checkedAt?: string;
}

export interface Readiness {
  check(): Promise<ReadyState>;
}

export interface ReadinessOptions {
  /** The SDK upstream itself, below the circuit breaker; `null`: no probe (ready once listening). */
  upstream: AmplifyUpstream | null;
  /** Milliseconds the probe's one attempt may take. */
  timeoutMs: number;
  breakerState?: () => BreakerState;
  /** Told that the probe succeeded (the breaker's {@link UpstreamCircuitBreaker.reportSuccess}). */
  onProbeSuccess?: () => Promise<void>;
  now?: () => number;
}

/** Long enough to absorb probe storms, short enough that recovery shows within one probe period. */
export const REFRESH_MS = 5_000;

interface ProbeOutcome {
  error: GatewayError | null;
  at: number;
  /** The breaker's state when the outcome was recorded: a change makes it stale at once. */
  breaker: BreakerState;
}

export function createReadiness(options: ReadinessOptions): Readiness {
  const { upstream, timeoutMs } = options;
  const breakerState = options.breakerState ?? (() => 'closed');
  const now = options.now ?? Date.now;
  let last: ProbeOutcome | null = null;
  /** Whether a probe has succeeded since the start (or since Amplify last refused us). */
  let succeeded = false;
  let inFlight: Promise<void> | null = null;

  const probe = async (): Promise<void> => {
    if (upstream === null) return;
    let error: GatewayError | null = null;
    let timer: NodeJS.Timeout | undefined;
    try {
      // The upstream cuts its attempt at timeoutMs; this deadline also covers what happens before
      // the attempt (resolving credentials), so a check never waits longer.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new GatewayError(
                ErrorCode.UPSTREAM_TIMEOUT,
                `The readiness probe got no answer within ${timeoutMs} ms.`,
              ),
            ),
          timeoutMs,
        );
      });
      await Promise.race([upstream.checkReady({ timeoutMs }), deadline]);
      succeeded = true;
      await options.onProbeSuccess?.();
    } catch (caught) {
      error =
        caught instanceof GatewayError
          ? caught
          : new GatewayError(ErrorCode.INTERNAL_SERVER_ERROR, 'The readiness probe failed.', {
              cause: caught,
            });
      if (error.code === ErrorCode.UPSTREAM_UNAUTHORIZED) succeeded = false;
    } finally {
      clearTimeout(timer);
    }
    last = { error, at: now(), breaker: breakerState() };
  };

  const view = (): ReadyState => {
    const circuitBreaker = breakerState();
    if (upstream === null) {
      return { ready: true, status: 'ready', upstream: 'unchecked', circuitBreaker };
    }
    const checkedAt = last === null ? {} : { checkedAt: new Date(last.at).toISOString() };
    if (last === null || last.error === null) {
      return last === null
        ? { ready: false, status: 'not_ready', upstream: 'unavailable', circuitBreaker }
        : { ready: true, status: 'ready', upstream: 'available', circuitBreaker, ...checkedAt };
    }
    const reason = last.error.code;
    if (reason === ErrorCode.UPSTREAM_UNAUTHORIZED) {
      return {
        ready: false,
        status: 'not_ready',
        upstream: 'refused',
        reason,
        circuitBreaker,
        ...checkedAt,
      };
    }
    return {
      ready: succeeded,
      status: succeeded ? 'degraded' : 'not_ready',
      upstream: 'unavailable',
      reason,
      circuitBreaker,
      ...checkedAt,
    };
  };

  return {
    async check() {
      if (upstream === null) return view();
      const fresh =
        last !== null && now() - last.at < REFRESH_MS && last.breaker === breakerState();
      if (fresh) return view();
      if (inFlight !== null) {
        // Answer from what is known rather than wait; before the first probe ends, wait for it
        // (it ends within timeoutMs).
        if (last !== null) return view();
        await inFlight;
        return view();
      }
      inFlight = probe().finally(() => {
        inFlight = null;
      });
      await inFlight;
      return view();
    },
  };
}
