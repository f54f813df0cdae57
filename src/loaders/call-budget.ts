/**
 * The run-time half of the upstream-call budget (MAX_UPSTREAM_CALLS_PER_OPERATION): a per-request
 * wrapper implementing AmplifyUpstream that counts every Amplify call the request's loaders make
 * and refuses the ones past the budget with OPERATION_LIMIT_EXCEEDED, in their own fields. The
 * estimate made before execution (src/schema/upstream-budget.ts) rejects such operations first,
 * with no call at all; this second line catches whatever the estimate cannot see. The request's
 * loaders and its control calls (StartJob, StopJob) share one budget; a subscription keeps one
 * across its events, started again once per poll interval (src/schema/context.ts).
 */
import { ErrorCode, GatewayError } from '../errors.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { wrapCalls } from '../upstream/wrap.js';

export interface CallBudget {
  /** The request's upstream: every call method counted against the budget. */
  upstream: AmplifyUpstream;
  /** Calls made (sent or joined) so far. */
  readonly spent: number;
  /**
   * Counts one call made around `upstream` (a read through the live hub after a stop); throws
   * OPERATION_LIMIT_EXCEEDED, and counts nothing, when the budget is spent.
   */
  charge(method: string): void;
  /** Starts the budget again: a subscription's next poll interval. */
  reset(): void;
}

export function createCallBudget(upstream: AmplifyUpstream, max: number): CallBudget {
  let spent = 0;
  const refusal = (method: string) =>
    new GatewayError(
      ErrorCode.OPERATION_LIMIT_EXCEEDED,
      `This operation used its budget of ${max} Amplify calls (MAX_UPSTREAM_CALLS_PER_OPERATION), so ${method} was not sent. Ask for fewer distinct items or smaller pages, or split the operation.`,
      { details: { limit: 'upstream_calls', max } },
    );
  const charge = (method: string) => {
    if (spent >= max) throw refusal(method);
    spent += 1;
  };
  return {
    upstream: wrapCalls(upstream, (method, call) => {
      try {
        charge(method);
      } catch (error) {
        return Promise.reject(error);
      }
      return call();
    }),
    get spent() {
      return spent;
    },
    charge,
    reset() {
      spent = 0;
    },
  };
}
