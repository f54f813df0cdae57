/**
 * Observing every Amplify operation the one AmplifyClient sends, whichever upstream method sends
 * it: a middleware on the client's stack (see sdk-upstream.ts) tells each observer when an
 * operation starts and how it ended, all SDK attempts included. Metrics and traces
 * (src/observability/) are such observers.
 */
import { ErrorCode } from '../errors.js';

/** How one Amplify operation ended: a small, fixed set (a metric label), one per catalog code. */
export type UpstreamOutcome =
  | 'success'
  | 'not_found'
  | 'bad_request'
  | 'throttled'
  | 'unavailable'
  | 'timeout'
  | 'connection_reset'
  | 'connection_refused'
  | 'dns_failure'
  | 'tls_failure'
  | 'unreadable_response'
  | 'unexpected_status'
  | 'unauthorized'
  | 'invalid_response'
  | 'error';

const OUTCOME_OF: Partial<Record<ErrorCode, UpstreamOutcome>> = {
  [ErrorCode.NOT_FOUND]: 'not_found',
  [ErrorCode.BAD_USER_INPUT]: 'bad_request',
  [ErrorCode.UPSTREAM_THROTTLED]: 'throttled',
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 'unavailable',
  [ErrorCode.UPSTREAM_TIMEOUT]: 'timeout',
  [ErrorCode.UPSTREAM_CONNECTION_RESET]: 'connection_reset',
  [ErrorCode.UPSTREAM_CONNECTION_REFUSED]: 'connection_refused',
  [ErrorCode.UPSTREAM_DNS_FAILURE]: 'dns_failure',
  [ErrorCode.UPSTREAM_TLS_FAILURE]: 'tls_failure',
  [ErrorCode.UPSTREAM_UNREADABLE_RESPONSE]: 'unreadable_response',
  [ErrorCode.UPSTREAM_UNEXPECTED_STATUS]: 'unexpected_status',
  [ErrorCode.UPSTREAM_UNAUTHORIZED]: 'unauthorized',
  [ErrorCode.UPSTREAM_INVALID_RESPONSE]: 'invalid_response',
};

/** The outcome label of a failed operation, from the catalog code its error maps to. */
export function outcomeOf(code: ErrorCode): UpstreamOutcome {
  return OUTCOME_OF[code] ?? 'error';
}

export interface UpstreamCallResult {
  outcome: UpstreamOutcome;
  /** HTTP attempts the SDK made (1 without retries). */
  attempts: number;
  /** The last HTTP status; null when no answer came (reset, timeout). */
  httpStatus: number | null;
  /** Amplify's request id, when it answered. */
  requestId: string | null;
}

export interface UpstreamCallObserver {
  /**
   * An Amplify operation (`GetJob`, `ListApps`...) is about to be sent. The returned function is
   * called exactly once when it settles.
   */
  start(operation: string): (result: UpstreamCallResult) => void;
}
