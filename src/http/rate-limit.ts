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
 * subject), wherever it calls from; an anonymous caller by its address. The router secret's caller
 * (a whole supergraph behind one credential) is not limited here.
 */
import type { RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { CallerIdentity } from '../schema/identity.js';
import { loadRateLimiterFlexible } from '../shared-state/rate-limiter-flexible.js';
import type { SharedState } from '../shared-state/redis.js';

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
   * caller's allowance for this window is spent. Never rejects: a failing store is replaced by
   * this process's own count.
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
 * Keys hold no secret: an API key's id, a token's issuer and subject, or an address.
 */
export function rateLimitKey(caller: CallerIdentity, address: string | undefined): string | null {
  switch (caller.kind) {
    case 'router':
      return null;
    case 'anonymous':
      return `address:${address ?? 'unknown'}`;
    default:
      return caller.principal;
  }
}

function refusal(result: unknown, options: CallerRateLimitOptions): RateLimitRefusal | null {
  // rate-limiter-flexible rejects with a RateLimiterRes when the points are spent, and with an
  // Error when its store failed (only without an insurance limiter, which ours always have).
  if (result instanceof Error || typeof result !== 'object' || result === null) return null;
  const res = result as RateLimiterRes;
  return {
    retryAfterMs: Math.max(0, res.msBeforeNext),
    limit: options.requests,
    windowS: options.windowS,
  };
}

/**
 * The limiter of RATE_LIMIT_REQUESTS. rate-limiter-flexible is loaded here, on first use, so a
 * gateway without a limit loads none of it.
 */
export async function createCallerRateLimit(
  options: CallerRateLimitOptions,
): Promise<CallerRateLimit> {
  const flexible = await loadRateLimiterFlexible();
  const memory: RateLimiterMemory = new flexible.RateLimiterMemory({
    points: options.requests,
    duration: options.windowS,
    keyPrefix: 'rate',
  });
  let shared: RateLimiterAbstract | null = null;
  const { shared: state } = options;
  if (state !== null) {
    shared = await state.rateLimiter({
      name: 'rate',
      points: options.requests,
      durationS: options.windowS,
      insurance: memory,
    });
  }
  return {
    take(key) {
      // While the shared state skips Redis (down or slow), count here rather than wait for it.
      const limiter = shared !== null && state?.available === true ? shared : memory;
      return limiter.consume(key, 1).then(
        () => null,
        (rejection: unknown) => refusal(rejection, options),
      );
    },
  };
}
