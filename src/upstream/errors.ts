/**
 * The one place where foreign errors (AWS SDK exceptions, Node network errors, deserialization
 * failures) become catalog errors. Messages are written for the caller; the original error stays
 * in `cause` for the log.
 */
import { ErrorCode, GatewayError, type UpstreamDetails } from '../errors.js';

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  /** Set on exceptions the SDK built from an AWS error answer: `client` or `server`. */
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const THROTTLING = new Set([
  'LimitExceededException',
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
]);

const UNAUTHORIZED = new Set([
  'UnauthorizedException',
  'AccessDeniedException',
  'AccessDenied',
  'NotAuthorized',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);

/** Node and undici codes of a connection reset or closed mid-answer (either side's). */
export const CONNECTION_RESET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
/**
 * Whether a Node error (`code`, `message`) is a connection reset or closed mid-message, by either
 * side: a reset code, or Node's "socket hang up" / "aborted" without one.
 */
function isResetLike(code: string, message: string): boolean {
  return (
    CONNECTION_RESET_CODES.has(code) ||
    message.startsWith('socket hang up') ||
    message.startsWith('aborted')
  );
}

/**
 * The reset code of an error that is a connection reset (see above; `ECONNRESET` when Node gave
 * only a message), undefined for any other error.
 */
export function connectionResetCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const codeText = stringOf(code);
  if (!isResetLike(codeText, stringOf(message))) return undefined;
  return codeText || 'ECONNRESET';
}

/** A connection that could not be opened: refused, or no route to the host. */
const REFUSED: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  EHOSTUNREACH: 'could not be reached (no route to host)',
  ENETUNREACH: 'could not be reached (network unreachable)',
  EADDRNOTAVAIL: 'could not be reached (address not available)',
};
/** getaddrinfo failures; only EAI_AGAIN is temporary. */
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
/** OpenSSL and Node TLS codes: certificate checks, and handshakes that cannot work. */
const TLS =
  /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function details(error: SdkLikeError, errorName: string): UpstreamDetails {
  return {
    errorName,
    httpStatus: error.$metadata?.httpStatusCode ?? error.$response?.statusCode ?? null,
    requestId: error.$metadata?.requestId ?? null,
    attempts: error.$metadata?.attempts ?? null,
  };
}

/** What was asked, for messages: e.g. `job 12 of branch "main" in app d1abc`. */
export type Subject = string;

/**
 * Maps any failure of one Amplify call onto the catalog: a code per failure mode, a `retryable`
 * flag that is true only where retrying can change the outcome, a message naming the cause, and
 * `upstream` details (AWS error name or network code, HTTP status, request id, attempts).
 * Anything unrecognised is INTERNAL_SERVER_ERROR (a bug), with the original kept as `cause`.
 */
export function toGatewayError(error: unknown, subject: Subject): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const name = stringOf(e.name);
  const code = stringOf(e.code);
  const message = stringOf(e.message);
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode ?? null;
  const attempts = e.$metadata?.attempts;
  const after = attempts !== undefined ? ` after ${attempts} attempt(s)` : '';
  const make = (
    errorCode: ErrorCode,
    text: string,
    errorName: string = name || 'Error',
    retryable?: boolean,
  ) =>
    new GatewayError(errorCode, text, {
      cause: error,
      upstream: details(e, errorName),
      ...(retryable === undefined ? {} : { retryable }),
    });

  // Answers in Amplify's own words (an AWS error type on a JSON body).
  if (name === 'NotFoundException' || name === 'ResourceNotFoundException') {
    return make(ErrorCode.NOT_FOUND, `Amplify has no ${subject}.`);
  }
  if (THROTTLING.has(name) || status === 429) {
    return make(
      ErrorCode.UPSTREAM_THROTTLED,
      `Amplify throttled the request for ${subject}${after}; try again shortly.`,
    );
  }
  if (name === 'CredentialsProviderError') {
    return make(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `The gateway found no AWS credentials to read ${subject}; its operator must configure a role or keys.`,
    );
  }

  // Failures below HTTP: the code says what happened (the SDK names resets "TimeoutError" so its
  // retry logic treats them alike; the code tells them apart).
  if (isResetLike(code, message)) {
    return make(
      ErrorCode.UPSTREAM_CONNECTION_RESET,
      `The connection to Amplify was reset before the answer for ${subject} was complete${after}; try again later.`,
      code || 'ECONNRESET',
    );
  }
  const refused = REFUSED[code];
  if (refused !== undefined) {
    return make(
      ErrorCode.UPSTREAM_CONNECTION_REFUSED,
      `Amplify's endpoint ${refused} while reading ${subject}${after}; try again later.`,
      code,
    );
  }
  if (DNS.has(code)) {
    const temporary = code === 'EAI_AGAIN';
    return make(
      ErrorCode.UPSTREAM_DNS_FAILURE,
      temporary
        ? `The name of Amplify's endpoint could not be resolved for now (${code}) while reading ${subject}; try again later.`
        : `The name of Amplify's endpoint does not resolve (${code}) while reading ${subject}; the gateway's endpoint configuration must be fixed.`,
      code,
      temporary,
    );
  }
  if (TLS.test(code)) {
    return make(
      ErrorCode.UPSTREAM_TLS_FAILURE,
      `The TLS handshake with Amplify's endpoint failed (${code}) while reading ${subject}: its certificate or protocol is not accepted; retrying will not help.`,
      code,
    );
  }
  if (
    name === 'TimeoutError' ||
    code === 'ETIMEDOUT' ||
    name === 'RequestTimeout' ||
    name === 'RequestTimeoutException' ||
    status === 408
  ) {
    const what = message.includes('did not establish a connection')
      ? 'did not accept a connection in time'
      : message.includes('of inactivity')
        ? 'stopped sending its answer midway'
        : 'did not answer in time';
    return make(
      ErrorCode.UPSTREAM_TIMEOUT,
      `Amplify ${what} for ${subject}${after}; try again later.`,
      name || code || 'TimeoutError',
    );
  }

  // An answer whose body is not JSON: a load balancer's or proxy's page, or garbage. The SDK
  // throws a SyntaxError marked "Deserialization error" (a 5xx is retried first).
  const isServiceError = e.$fault !== undefined;
  if (
    !isServiceError &&
    (name === 'SyntaxError' || message.includes('Deserialization error')) &&
    status !== null
  ) {
    const type = stringOf(e.$response?.headers?.['content-type']).split(';', 1)[0];
    return make(
      ErrorCode.UPSTREAM_UNREADABLE_RESPONSE,
      `Amplify answered HTTP ${status} with a non-JSON body${type ? ` (${type})` : ''} for ${subject}${after}${status >= 500 ? '; try again later.' : '; retrying will not help.'}`,
      name || 'SyntaxError',
      status >= 500,
    );
  }

  if (UNAUTHORIZED.has(name) || status === 401 || status === 403) {
    return make(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `Amplify refused the gateway's credentials or permissions for ${subject} (${name || status}).`,
    );
  }
  if (name === 'BadRequestException') {
    return make(
      ErrorCode.BAD_USER_INPUT,
      `Amplify rejected the request for ${subject}: ${message || 'bad request'}`,
    );
  }
  if (status !== null && status >= 500) {
    return make(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      `Amplify failed (HTTP ${status}${name && name !== 'Unknown' ? ` ${name}` : ''}) for ${subject}${after}; try again later.`,
    );
  }
  if (status !== null && isServiceError) {
    return make(
      ErrorCode.UPSTREAM_UNEXPECTED_STATUS,
      `Amplify answered HTTP ${status}${name && name !== 'Unknown' ? ` ${name}` : ' without an AWS error type'} for ${subject}, which the gateway does not expect; retrying will not help.`,
    );
  }
  return make(ErrorCode.INTERNAL_SERVER_ERROR, `Unexpected error while reading ${subject}.`);
}

/**
 * Failure modes after which a request may have reached Amplify and been acted on: the answer was
 * a 5xx, was cut off, never came, or was a 2xx whose body cannot be read (Amplify accepted it).
 * (Refused connections, DNS and TLS failures, and a connect timeout happen before anything is
 * sent; an unreadable 3xx or 4xx is a refusal.)
 */
const MAYBE_APPLIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UPSTREAM_UNAVAILABLE,
  ErrorCode.UPSTREAM_TIMEOUT,
  ErrorCode.UPSTREAM_CONNECTION_RESET,
  ErrorCode.UPSTREAM_UNREADABLE_RESPONSE,
]);

/**
 * Errors of the calls that change something. StartJob has no idempotency token, so a failure
 * after the request may have reached Amplify (5xx, a timeout after connecting, a reset, an
 * unreadable 5xx page, a 2xx whose body cannot be read) leaves its outcome unknown:
 * UPSTREAM_OUTCOME_UNKNOWN, not retryable. Its LimitExceededException is the concurrent-jobs quota, not throttling: QUOTA_EXCEEDED at once.
 * StopJob is safe to repeat, so its errors map as reads do.
 */
export function toControlError(
  error: unknown,
  operation: 'StartJob' | 'StopJob',
  subject: Subject,
): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const name = stringOf(e.name);
  if (operation === 'StartJob' && name === 'LimitExceededException') {
    const said = stringOf(e.message) === '' ? '' : ` (${stringOf(e.message)})`;
    return new GatewayError(
      ErrorCode.QUOTA_EXCEEDED,
      `Amplify did not start ${subject}: the account's concurrent-jobs quota is used up${said}. Nothing was started; try again once a job has finished.`,
      { cause: error, upstream: details(e, name) },
    );
  }
  const mapped = toGatewayError(error, subject);
  const notConnected = stringOf(e.message).includes('did not establish a connection');
  // An unreadable 3xx or 4xx is a refusal on the way (nothing was started); an unreadable 2xx is
  // Amplify accepting the job without saying which one, and an unreadable 5xx may have been acted on.
  const status = mapped.upstream?.httpStatus ?? null;
  const unreadableRefusal =
    mapped.code === ErrorCode.UPSTREAM_UNREADABLE_RESPONSE &&
    status !== null &&
    status >= 300 &&
    status < 500;
  if (
    operation === 'StartJob' &&
    MAYBE_APPLIED.has(mapped.code) &&
    !notConnected &&
    !unreadableRefusal
  ) {
    return new GatewayError(
      ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
      `Amplify did not confirm ${subject} (${mapped.upstream?.errorName ?? 'no answer'}${status ? `, HTTP ${status}` : ''}); the job may have started. Look at the branch's jobs before starting it again.`,
      { cause: error, ...(mapped.upstream === null ? {} : { upstream: mapped.upstream }) },
    );
  }
  return mapped;
}
