/**
 * What one GraphQL request read from Amplify, so its HTTP answer can say how long it stays true
 * (Cache-Control) and whether it may be replayed (the fast path). Every call a request makes goes
 * through {@link recordReads}, which records each answer as `immutable` or not; only a request
 * whose reads were all immutable can be cached. It fails closed: a method this file does not know
 * (an app, a branch, a page of a list: anything added later) counts as changing, and so does a
 * failed call.
 */
import { isFinishedJob, type JobRecord } from '../upstream/shapes.js';
import type { StepLogRequest } from '../upstream/step-log.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { wrapCalls } from '../upstream/wrap.js';

/** Calls of AmplifyUpstream that are not reads of Amplify data (lifecycle methods never are). */
const NOT_READS: ReadonlySet<string> = new Set(['checkReady']);

/** Answers that never change, by method; every other method's answers may change. */
const IMMUTABLE: Readonly<Record<string, (value: unknown, input: unknown) => boolean>> = {
  // A finished job (SUCCEED, FAILED, CANCELLED) never changes again.
  getJob: (value) => isFinishedJob(value as JobRecord),
  // Nor does the log of a finished step.
  getStepLog: (_value, input) => (input as StepLogRequest).final,
};

export class ReadLog {
  #reads = 0;
  #changing = 0;

  /** Records one read; `immutable` when its answer can never change. */
  record(immutable: boolean): void {
    this.#reads += 1;
    if (!immutable) this.#changing += 1;
  }

  /**
   * Marks the answer as one that changes without any read changing: a value computed from the
   * clock (a duration still counting). It is then never cached as immutable.
   */
  changing(): void {
    this.#changing += 1;
  }

  /** How many upstream reads the request made (cached or not). */
  get count(): number {
    return this.#reads;
  }

  /** At least one read, and every read's answer is one that never changes. */
  get immutableOnly(): boolean {
    return this.#reads > 0 && this.#changing === 0;
  }
}

/**
 * The same upstream for one request, recording each read's answer in `reads`. Lifecycle methods
 * and `checkReady` pass through; every other call is recorded, as changing unless
 * {@link IMMUTABLE} says otherwise.
 */
export function recordReads(upstream: AmplifyUpstream, reads: ReadLog): AmplifyUpstream {
  return wrapCalls(
    upstream,
    (method, call, args) => {
      const immutable = IMMUTABLE[method];
      return call().then(
        (value) => {
          reads.record(immutable?.(value, args[0]) ?? false);
          return value;
        },
        (error: unknown) => {
          reads.record(false);
          throw error;
        },
      );
    },
    NOT_READS,
  );
}
