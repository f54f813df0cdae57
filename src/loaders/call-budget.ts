/**
 * The run-time half of the upstream-call budget (MAX_UPSTREAM_CALLS_PER_OPERATION): a per-request
 * wrapper implementing AmplifyUpstream that counts every Amplify call the request's loaders make
 * and refuses the ones past the budget with OPERATION_LIMIT_EXCEEDED, in their own fields. The
 * estimate made before execution (src/schema/upstream-budget.ts) rejects such operations first,
 * with no call at all; this second line catches whatever the estimate cannot see.
 */
import { ErrorCode, GatewayError } from '../errors.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { wrapCalls } from '../upstream/wrap.js';

export interface CallBudget {
  /** The request's upstream: every call method counted against the budget. */
  upstream: AmplifyUpstream;
  /** Calls made (sent or joined) so far. */
  readonly spent: number;
}

export function createCallBudget(upstream: AmplifyUpstream, max: number): CallBudget {
  let spent = 0;
  return {
    upstream: wrapCalls(upstream, (method, call) => {
      if (spent >= max) {
        return Promise.reject(
          new GatewayError(
            ErrorCode.OPERATION_LIMIT_EXCEEDED,
            `This operation used its budget of ${max} Amplify calls (MAX_UPSTREAM_CALLS_PER_OPERATION), so ${method} was not sent. Ask for fewer distinct items or smaller pages, or split the operation.`,
            { details: { limit: 'upstream_calls', max } },
          ),
        );
      }
      spent += 1;
      return call();
    }),
    get spent() {
      return spent;
    },
  };
}
