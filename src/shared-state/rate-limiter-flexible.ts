/**
 * rate-limiter-flexible, loaded on first use. It is CommonJS: Node's own import gives its classes
 * as named exports, the bundle (scripts/bundle.ts) only under `default`; this takes either.
 */
type RateLimiterFlexible = typeof import('rate-limiter-flexible');

export async function loadRateLimiterFlexible(): Promise<RateLimiterFlexible> {
  const module = (await import('rate-limiter-flexible')) as RateLimiterFlexible & {
    default?: RateLimiterFlexible;
  };
  return module.default?.RateLimiterMemory === undefined ? module : module.default;
}
