/**
 * The per-caller rate limit (RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_S): how many GraphQL
 * requests one caller may send in a fixed window, counted at the edge once the credentials are
 * checked and before anything else runs (the fast path included, so a loop over a cached answer
 * is held too). Counting is rate-limiter-flexible's: in this process by default, and in Redis when
 * REDIS_URL is set, so every replica counts against the same allowance. While Redis is unusable
 * (down, or skipped by the shared state's breaker after slow answers), each replica counts in its
 * own memory and nothing fails; the shared count takes over again when Redis answers.
 *
 * Who counts as one caller ({@link rateLimitKey}): an API key (its id) or a JWT (issuer and
 * subject), wherever it calls from; an anonymous caller by its client address (client-address.ts:
 * an IPv6 address by its /56). The router secret's caller (a whole supergraph behind one
 * credential) is not limited here.
 */
import type { CallerIdentity } from '../schema/identity.js';
import { loadRateLimiterFlexible } from '../shared-state/rate-limiter-flexible.js';
import { type SharedRateLimiter, type SharedState, UNAVAILABLE } from '../shared-state/redis.js';

/** Why a request was refused: when the caller's window ends, in milliseconds from now. */
export interface RateLimitRefusal {
  retryAfterMs: number;
  /** Requests allowed per window (RATE_LIMIT_REQUESTS). */
  limit: number;
  windowS: number;
}

export interface CallerRateLimit {
  /**
   * Counts one request of `key`: `null` when it may go on, a {@link RateLimitRefusal} when the
   * caller's allowance for this window is spent. Never rejects: while Redis cannot be used, this
   * process counts on its own.
   */
  take(key: string): Promise<RateLimitRefusal | null>;
}

export interface CallerRateLimitOptions {
  /** Requests per window, per caller (> 0). */
  requests: number;
  /** Length of a window in seconds (> 0). */
  windowS: number;
  /** Redis shared by replicas, or `null`: this process counts alone. */
  shared: SharedState | null;
}

/**
 * The key a caller is counted under, or `null` for the router secret's caller (not limited).
 * Keys hold no secret: an API key's id, a token's issuer and subject, or `client`, the request's
 * client as `clientAddressOf` names it (an IPv6 address by its /56).
 */
export function rateLimitKey(caller: CallerIdentity, client: string | undefined): string | null {
  switch (caller.kind) {
    case 'router':
      return null;
    case 'anonymous':
      return `address:${client ?? 'unknown'}`;
    default:
      return caller.principal;
  }
}

/**
 * The limiter of RATE_LIMIT_REQUESTS. rate-limiter-flexible is loaded here, on first use, so a
 * gateway without a limit loads none of it.
 */
export async function createCallerRateLimit(
  options: CallerRateLimitOptions,
): Promise<CallerRateLimit> {
  const { RateLimiterMemory, RateLimiterRes } = await loadRateLimiterFlexible();
  const memory = new RateLimiterMemory({
    points: options.requests,
    duration: options.windowS,
    keyPrefix: 'rate',
  });
  const refusal = (msBeforeNext: number): RateLimitRefusal => ({
    retryAfterMs: Math.max(0, msBeforeNext),
    limit: options.requests,
    windowS: options.windowS,
  });
  const inMemory = (key: string) =>
    memory.consume(key, 1).then(
      () => null,
      (rejection: unknown) => {
        // Points spent: a RateLimiterRes. The memory store itself cannot fail.
        if (rejection instanceof RateLimiterRes) return refusal(rejection.msBeforeNext);
        throw rejection;
      },
    );
  const state = options.shared;
  // Counted under the window and the limit too: replicas with different settings (a rolling
  // deploy that changes them) each keep their own policy instead of mixing counts.
  const shared: SharedRateLimiter | null =
    state === null
      ? null
      : await state.rateLimiter({
          name: `rate:v1:${options.requests}:${options.windowS}`,
          points: options.requests,
          durationS: options.windowS,
        });
  return {
    async take(key) {
      if (shared === null) return inMemory(key);
      const verdict = await shared.consume(key);
      if (verdict === UNAVAILABLE) return inMemory(key);
      return verdict.allowed ? null : refusal(verdict.msBeforeNext);
    },
  };
}
