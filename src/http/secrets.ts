/**
 * Comparing a presented secret with a configured one (the router secret, the metrics token, the
 * EventBridge secret, an API key's hash) in constant time, so the time an answer takes never says
 * how many leading bytes were right.
 */
import { timingSafeEqual } from 'node:crypto';

/**
 * Whether `given` equals `expected`, byte for byte, compared in constant time. Strings are compared
 * as UTF-8. Different lengths answer false at once: a secret's length is not worth hiding, its
 * bytes are.
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const a = typeof given === 'string' ? Buffer.from(given, 'utf8') : given;
  const b = typeof expected === 'string' ? Buffer.from(expected, 'utf8') : expected;
  return a.length === b.length && timingSafeEqual(a, b);
}
