/**
 * The per-caller rate limit (RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_S): how many GraphQL
 * requests one caller may send in a fixed window, counted at the edge once the credentials are
 * checked and before anything else runs (the fast path included, so a loop over a cached answer
 * is held too). In Redis when REDIS_URL is set (rate-limiter-flexible), so every replica counts
 * against the same allowance; otherwise in this process. While Redis is unusable (down, or skipped
 * by the shared state's breaker after slow answers), each replica counts in its own memory and
 * nothing fails; the shared count takes over again when Redis answers.
 *
 * The count in this process is bounded ({@link MAX_COUNTED_CALLERS}), so that a flood of distinct
 * client addresses (anonymous callers are counted by address) cannot grow memory without end: an
 * lru-cache of counts that expire with their window. rate-limiter-flexible's memory store keeps
 * every key, with a timer each, until its window ends.
 *
 * Who counts as one caller ({@link rateLimitKey}): an API key (its id) or a JWT (issuer and
 * subject), wherever it calls from; an anonymous caller by its client address (client-address.ts:
 * an IPv6 address by its /56). The router secret's caller (a whole supergraph behind one
 * credential) is not limited here.
 */
import { LRUCache } from 'lru-cache';
import type { CallerIdentity } from '../schema/identity.js';
import { type SharedRateLimiter, type SharedState, UNAVAILABLE } from '../shared-state/redis.js';

/**
 * Most callers one process counts at once (in its own memory; Redis has its own bound). Past it,
 * the caller that has gone longest without a request loses its count, so it starts a fresh window:
 * under a flood from more addresses than this, limits leak a little instead of memory growing.
 * About 280 bytes each (measured with keys of IPv6 /56 addresses): 14 MB when full, against 576
 * bytes each, without a bound, in rate-limiter-flexible's memory store.
 */
export const MAX_COUNTED_CALLERS = 50_000;

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
  /** Callers counted in this process's memory now (at most the limiter's `maxCallers`). */
  readonly countedHere: number;
}

export interface CallerRateLimitOptions {
  /** Requests per window, per caller (> 0). */
  requests: number;
  /** Length of a window in seconds (> 0). */
  windowS: number;
  /** Redis shared by replicas, or `null`: this process counts alone. */
  shared: SharedState | null;
  /** Most callers counted in this process (default {@link MAX_COUNTED_CALLERS}). */
  maxCallers?: number;
  /** Now, in ms (tests); default performance.now. */
  clock?: () => number;
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
 * The limiter of RATE_LIMIT_REQUESTS. rate-limiter-flexible is loaded (by the shared state) only
 * with Redis, so a gateway without one loads none of it.
 */
export async function createCallerRateLimit(
  options: CallerRateLimitOptions,
): Promise<CallerRateLimit> {
  const windowMs = options.windowS * 1000;
  // Requests counted so far in each caller's window, which starts with its first request and ends
  // with the entry's time to live (never extended by later requests).
  const counts = new LRUCache<string, number>({
    // Grows with use: `max` would allocate room for every entry up front.
    maxSize: options.maxCallers ?? MAX_COUNTED_CALLERS,
    sizeCalculation: () => 1,
    ttl: windowMs,
    ...(options.clock === undefined ? {} : { perf: { now: options.clock }, ttlResolution: 0 }),
  });
  const refusal = (msBeforeNext: number): RateLimitRefusal => ({
    retryAfterMs: Math.max(0, msBeforeNext),
    limit: options.requests,
    windowS: options.windowS,
  });
  const inMemory = (key: string): RateLimitRefusal | null => {
    const used = counts.get(key);
    if (used === undefined) {
      counts.set(key, 1);
      return null;
    }
    if (used >= options.requests) return refusal(counts.getRemainingTTL(key));
    counts.set(key, used + 1, { noUpdateTTL: true });
    return null;
  };
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
    get countedHere() {
      return counts.size;
    },
  };
}
