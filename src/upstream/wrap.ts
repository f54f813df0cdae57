/**
 * The one way to wrap an {@link AmplifyUpstream}: a new upstream whose methods, own and inherited
 * (a class's prototype methods too), are replaced one by one, so the circuit breaker, the
 * per-request call budget, the read log, single-flight and the cache all apply to methods added
 * later (getApp, listJobs, startJob...) without naming them. Lifecycle methods (`region`,
 * `destroy`) always pass through, bound to the original.
 *
 * - {@link wrapCalls}: every call (a method that is not a lifecycle one; it returns a Promise) runs
 *   through one `around(method, call, args)`; the breaker, the budget and the read log use it.
 * - {@link wrapReads}: each read method of {@link READ_METHODS} is replaced by what
 *   `wrap(method, call)` returns for it, with the same contract; single-flight and the cache use it.
 */
import {
  type AmplifyReads,
  type AmplifyUpstream,
  READ_METHODS,
  type ReadMethod,
} from './upstream.js';

/** Methods that are not calls at all: wrappers pass them through untouched. */
const LIFECYCLE_METHODS: ReadonlySet<string> = new Set(['region', 'destroy']);

/**
 * Calls that do not go to the Amplify API: a step's log is read from its presigned S3 URL. The
 * upstream-call budget counts them; the circuit breaker in front of Amplify does not.
 */
export const NOT_AMPLIFY_CALLS: ReadonlySet<string> = new Set(['getStepLog']);

/**
 * Runs one call of `method` (its name on AmplifyUpstream, e.g. `getJob`), made with `args`:
 * `call()` sends it; the wrapper may refuse it, observe its outcome, or change nothing.
 */
export type CallWrapper = <T>(
  method: string,
  call: () => Promise<T>,
  args: readonly unknown[],
) => Promise<T>;

/** Wraps one read method; must return a function with the same contract. */
export type ReadWrapper = <M extends ReadMethod>(
  method: M,
  call: AmplifyReads[M],
) => AmplifyReads[M];

type Method = (...args: unknown[]) => unknown;

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
 * A new upstream whose call methods are `replace(name, method)` (`method` bound to `upstream`);
 * lifecycle methods are the originals, bound.
 */
function replaceCalls(
  upstream: AmplifyUpstream,
  replace: (name: string, method: Method) => Method,
): AmplifyUpstream {
  const source = upstream as unknown as Record<string, Method>;
  const wrapped: Record<string, unknown> = {};
  for (const name of LIFECYCLE_METHODS) {
    const method = source[name];
    if (typeof method === 'function') wrapped[name] = method.bind(upstream);
  }
  for (const name of callMethods(upstream)) {
    wrapped[name] = replace(name, (source[name] as Method).bind(upstream));
  }
  return wrapped as unknown as AmplifyUpstream;
}

/**
 * A new upstream whose calls run through `around`; lifecycle methods, and the calls named in
 * `except`, are the originals.
 */
export function wrapCalls(
  upstream: AmplifyUpstream,
  around: CallWrapper,
  except: ReadonlySet<string> = new Set(),
): AmplifyUpstream {
  return replaceCalls(upstream, (name, method) =>
    except.has(name)
      ? method
      : (...args: unknown[]) => around(name, () => method(...args) as Promise<unknown>, args),
  );
}

/** A new upstream whose every read method goes through `wrap`; the other methods pass through. */
export function wrapReads(upstream: AmplifyUpstream, wrap: ReadWrapper): AmplifyUpstream {
  const reads: ReadonlySet<string> = new Set(READ_METHODS);
  return replaceCalls(upstream, (name, method) =>
    reads.has(name) ? (wrap(name as ReadMethod, method as never) as Method) : method,
  );
}
