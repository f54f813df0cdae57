/**
 * Wraps every Amplify call of an {@link AmplifyUpstream} without naming its methods, so the
 * circuit breaker, the per-request call budget and whatever comes next apply to methods added
 * later (getApp, listJobs, startJob...) as well. A call method is any method that is not a
 * lifecycle method; it must return a Promise.
 */
import type { AmplifyUpstream } from './upstream.js';

/** Methods that are not calls at all: call wrappers pass them through untouched. */
const LIFECYCLE_METHODS: ReadonlySet<string> = new Set(['region', 'destroy']);

/**
 * Calls that do not go to the Amplify API: a step's log is read from its presigned S3 URL. The
 * upstream-call budget counts them; the circuit breaker in front of Amplify does not.
 */
export const NOT_AMPLIFY_CALLS: ReadonlySet<string> = new Set(['getStepLog']);

/** Runs one call of `method` (its name on AmplifyUpstream, e.g. `getJob`); may refuse it. */
export type CallWrapper = <T>(method: string, call: () => Promise<T>) => Promise<T>;

/** The names of `upstream`'s call methods, own and inherited. */
export function callMethods(upstream: AmplifyUpstream): string[] {
  const names = new Set<string>();
  for (
    let object: object | null = upstream;
    object !== null && object !== Object.prototype;
    object = Object.getPrototypeOf(object)
  ) {
    for (const name of Object.getOwnPropertyNames(object)) {
      const value = (upstream as unknown as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof value === 'function' && !LIFECYCLE_METHODS.has(name)) {
        names.add(name);
      }
    }
  }
  return [...names];
}

/**
 * A new upstream whose call methods run through `around`; lifecycle methods, and the calls named
 * in `except`, are the originals.
 */
export function wrapCalls(
  upstream: AmplifyUpstream,
  around: CallWrapper,
  except: ReadonlySet<string> = new Set(),
): AmplifyUpstream {
  const source = upstream as unknown as Record<string, (...args: unknown[]) => unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const name of LIFECYCLE_METHODS) {
    const method = source[name];
    if (typeof method === 'function') wrapped[name] = method.bind(upstream);
  }
  for (const name of callMethods(upstream)) {
    const method = source[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = except.has(name)
      ? method.bind(upstream)
      : (...args: unknown[]) => around(name, () => method.apply(upstream, args));
  }
  return wrapped as unknown as AmplifyUpstream;
}
