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
  /** Amplify failed, timed out, reset the connection or answered something unreadable. */
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /** Amplify refused the gateway's credentials or IAM permissions. */
  UPSTREAM_UNAUTHORIZED: 'UPSTREAM_UNAUTHORIZED',
  /** The request carried no valid credentials (API key, JWT, router secret); HTTP 401. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The credentials are valid but lack the scope the operation needs (e.g. `write`); HTTP 403. */
  FORBIDDEN: 'FORBIDDEN',
  /**
   * The operation is over one of the gateway's limits (aliases, depth, tokens, directives, cost,
   * upstream calls); `extensions.limit` names which. Nothing was sent upstream.
   */
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  /** A bug or an unexpected failure in the gateway; details are in the server log only. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Whether a client may retry the same request later and expect a different outcome. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UPSTREAM_THROTTLED,
  ErrorCode.UPSTREAM_UNAVAILABLE,
]);

export interface UpstreamDetails {
  /** AWS error name, e.g. NotFoundException, or the network error code. */
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
  /** More caller-safe facts for `extensions`, e.g. `{ limit: 'upstreamCalls', max: 50 }`. */
  readonly details: Readonly<Record<string, string | number>> | null;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      cause?: unknown;
      upstream?: UpstreamDetails;
      details?: Record<string, string | number>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.upstream = options.upstream ?? null;
    this.details = options.details ?? null;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
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

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}
