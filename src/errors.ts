/**
 * The gateway's error catalog: every error a client can see has one of these stable codes in
 * `extensions.code`. Foreign errors (AWS SDK exceptions, network errors) are mapped onto it in one
 * place (src/upstream/errors.ts); everything else is masked as INTERNAL_SERVER_ERROR.
 */
export const ErrorCode = {
  /** The job (or app, branch) does not exist, or is not visible to the gateway's credentials. */
  NOT_FOUND: 'NOT_FOUND',
  /** An argument is malformed; nothing was sent upstream. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** Amplify throttled the gateway (or a quota was exceeded) and retries did not help. */
  UPSTREAM_THROTTLED: 'UPSTREAM_THROTTLED',
  /** Amplify answered with a server error (HTTP 5xx with an AWS error body, or none). */
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /**
   * Amplify did not open a connection, answer, or finish its answer within the configured time
   * (`UPSTREAM_CONNECT_TIMEOUT_MS`, `UPSTREAM_REQUEST_TIMEOUT_MS`), or answered HTTP 408.
   */
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  /** The connection to Amplify was reset or closed before the answer was complete. */
  UPSTREAM_CONNECTION_RESET: 'UPSTREAM_CONNECTION_RESET',
  /** Amplify's endpoint refused the connection, or there is no route to it. */
  UPSTREAM_CONNECTION_REFUSED: 'UPSTREAM_CONNECTION_REFUSED',
  /**
   * The endpoint's host name could not be resolved: retryable only for a temporary DNS failure
   * (EAI_AGAIN), not for a name that does not exist (ENOTFOUND).
   */
  UPSTREAM_DNS_FAILURE: 'UPSTREAM_DNS_FAILURE',
  /** The TLS handshake with the endpoint failed (untrusted or mismatched certificate, protocol). */
  UPSTREAM_TLS_FAILURE: 'UPSTREAM_TLS_FAILURE',
  /**
   * Amplify (or something in between) answered with a body that is not JSON; the message says the
   * HTTP status. Retryable only for a 5xx (a load balancer's error page).
   */
  UPSTREAM_UNREADABLE_RESPONSE: 'UPSTREAM_UNREADABLE_RESPONSE',
  /** Amplify answered an HTTP status the gateway does not expect (3xx, an unknown 4xx). */
  UPSTREAM_UNEXPECTED_STATUS: 'UPSTREAM_UNEXPECTED_STATUS',
  /** Amplify refused the gateway's credentials or IAM permissions. */
  UPSTREAM_UNAUTHORIZED: 'UPSTREAM_UNAUTHORIZED',
  /**
   * Amplify answered, but without a usable entity (no job, a job that is not an object, another
   * job than the one asked for). Never retryable: the same answer would come back.
   */
  UPSTREAM_INVALID_RESPONSE: 'UPSTREAM_INVALID_RESPONSE',
  /**
   * Amplify named a URL (a step's log) the gateway will not fetch: a host where Amplify logs do
   * not live, a non-public address, or a redirect elsewhere.
   */
  UPSTREAM_URL_REFUSED: 'UPSTREAM_URL_REFUSED',
  /**
   * A request any web page could send without a CORS preflight (a GET, a form-like POST) came
   * without a CSRF header (HTTP 403); see src/http/browser-access.ts.
   */
  CSRF_PREVENTED: 'CSRF_PREVENTED',
  /** The request carried no valid credentials (API key, JWT, router secret); HTTP 401. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /**
   * The caller may not do this: its credentials lack the scope the operation needs (e.g. `write`,
   * HTTP 403), or control mutations are off (`CONTROL_MUTATIONS`). Nothing was sent upstream.
   */
  FORBIDDEN: 'FORBIDDEN',
  /**
   * The operation is over one of the gateway's limits (aliases, depth, tokens, directives, cost,
   * upstream calls); `extensions.limit` names which. Nothing was sent upstream.
   */
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  /**
   * Amplify refused to start a job because the account's concurrent-jobs quota is used up
   * (LimitExceededException on StartJob). Nothing was started; try again once a job has finished.
   */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /**
   * A call that changes something (StartJob) failed in a way that leaves its outcome unknown: the
   * connection broke, it timed out or Amplify answered 5xx. The job may have started; look at the
   * branch's jobs before trying again. Never retried automatically.
   */
  UPSTREAM_OUTCOME_UNKNOWN: 'UPSTREAM_OUTCOME_UNKNOWN',
  /**
   * The gateway already holds as many live subscriptions as it allows, for this caller or in all
   * (`LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT`, `LIVE_MAX_SUBSCRIPTIONS`). Close one, or retry later.
   */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /**
   * This caller sent more requests than RATE_LIMIT_REQUESTS allows in one RATE_LIMIT_WINDOW_S
   * (HTTP 429, `Retry-After`); nothing ran. Retry once the window ends.
   */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A bug or an unexpected failure in the gateway; details are in the server log only. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Whether a client may retry the same request later and expect a different outcome, by code; an
 * error may say otherwise for itself (`retryable` option).
 */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UPSTREAM_THROTTLED,
  ErrorCode.UPSTREAM_UNAVAILABLE,
  ErrorCode.QUOTA_EXCEEDED,
  ErrorCode.TOO_MANY_SUBSCRIPTIONS,
  ErrorCode.RATE_LIMITED,
  ErrorCode.UPSTREAM_TIMEOUT,
  ErrorCode.UPSTREAM_CONNECTION_RESET,
  ErrorCode.UPSTREAM_CONNECTION_REFUSED,
]);

/** One caller-safe fact in `extensions`: a number, a string, or a small record of strings. */
export type ErrorDetail = string | number | Readonly<Record<string, string>>;

export interface UpstreamDetails {
  /**
   * AWS error name (e.g. NotFoundException), the network error code (ECONNRESET, ENOTFOUND,
   * DEPTH_ZERO_SELF_SIGNED_CERT), TimeoutError, SyntaxError for a body that is not JSON, or
   * InvalidResponse for an answer without a usable entity.
   */
  errorName: string;
  httpStatus: number | null;
  /** Amplify's request id, for a support case with AWS. */
  requestId: string | null;
  attempts: number | null;
}

/**
 * An error whose message is safe to show to the caller. The original error, which may hold host
 * names or stack traces, is kept as `cause` for the log only.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly upstream: UpstreamDetails | null;
  /** Whether retrying the same request later can give another outcome. */
  readonly retryable: boolean;
  /**
   * More caller-safe facts for `extensions`, e.g. `{ limit: 'upstream_calls', max: 50 }` or
   * `{ job: { appId, branchName, jobId } }`.
   */
  readonly details: Readonly<Record<string, ErrorDetail>> | null;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      cause?: unknown;
      upstream?: UpstreamDetails;
      retryable?: boolean;
      details?: Record<string, ErrorDetail>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.upstream = options.upstream ?? null;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.details = options.details ?? null;
  }

  /**
   * The same error (code, message, retryable, upstream details, cause) with more caller-safe facts
   * in `extensions`, e.g. which job of a subscription it is about.
   */
  withDetails(details: Record<string, ErrorDetail>): GatewayError {
    return new GatewayError(this.code, this.message, {
      cause: this.cause,
      ...(this.upstream === null ? {} : { upstream: this.upstream }),
      retryable: this.retryable,
      details: { ...this.details, ...details },
    });
  }

  /** What goes into GraphQL `extensions`: stable, documented, free of secrets and host names. */
  toExtensions(): Record<string, unknown> {
    const extensions: Record<string, unknown> = {
      code: this.code,
      retryable: this.retryable,
      ...this.details,
    };
    if (this.upstream !== null) {
      extensions.upstream = {
        errorName: this.upstream.errorName,
        httpStatus: this.upstream.httpStatus,
        requestId: this.upstream.requestId,
        attempts: this.upstream.attempts,
      };
    }
    return extensions;
  }
}
