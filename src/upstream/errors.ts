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
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $response?: { statusCode?: number };
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

const NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

function details(error: SdkLikeError): UpstreamDetails {
  const name = typeof error.name === 'string' ? error.name : 'Error';
  const code = typeof error.code === 'string' ? error.code : null;
  return {
    errorName: NETWORK.has(name) || code === null ? name : code,
    httpStatus: error.$metadata?.httpStatusCode ?? error.$response?.statusCode ?? null,
    requestId: error.$metadata?.requestId ?? null,
    attempts: error.$metadata?.attempts ?? null,
  };
}

/** What was asked, for messages: e.g. `job 12 of branch "main" in app d1abc`. */
export type Subject = string;

export function toGatewayError(error: unknown, subject: Subject): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const upstream = details(e);
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const status = upstream.httpStatus;
  const after = upstream.attempts !== null ? ` after ${upstream.attempts} attempt(s)` : '';

  if (name === 'NotFoundException' || name === 'ResourceNotFoundException') {
    return new GatewayError(ErrorCode.NOT_FOUND, `Amplify has no ${subject}.`, {
      cause: error,
      upstream,
    });
  }
  if (THROTTLING.has(name) || status === 429) {
    return new GatewayError(
      ErrorCode.UPSTREAM_THROTTLED,
      `Amplify throttled the request for ${subject}${after}; try again shortly.`,
      { cause: error, upstream },
    );
  }
  if (name === 'CredentialsProviderError') {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `The gateway found no AWS credentials to read ${subject}; its operator must configure a role or keys.`,
      { cause: error, upstream },
    );
  }
  if (UNAUTHORIZED.has(name) || status === 401 || status === 403) {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `Amplify refused the gateway's credentials or permissions for ${subject} (${name || status}).`,
      { cause: error, upstream },
    );
  }
  if (name === 'BadRequestException') {
    const message = typeof e.message === 'string' ? e.message : 'bad request';
    return new GatewayError(
      ErrorCode.BAD_USER_INPUT,
      `Amplify rejected the request for ${subject}: ${message}`,
      { cause: error, upstream },
    );
  }
  const isNetwork = NETWORK.has(name) || NETWORK.has(code);
  // A body that is not JSON: the SDK throws a SyntaxError marked "Deserialization error".
  const isUnreadable =
    name === 'SyntaxError' ||
    (typeof e.message === 'string' && e.message.includes('Deserialization error'));
  if (isNetwork || isUnreadable || (status !== null && status >= 500)) {
    const why = isNetwork
      ? name === 'TimeoutError' || code === 'ETIMEDOUT'
        ? 'timed out'
        : 'could not be reached'
      : isUnreadable
        ? 'sent an unreadable answer'
        : `failed (HTTP ${status})`;
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      `Amplify ${why} for ${subject}${after}; try again later.`,
      { cause: error, upstream },
    );
  }
  return new GatewayError(
    ErrorCode.INTERNAL_SERVER_ERROR,
    `Unexpected error while reading ${subject}.`,
    { cause: error, upstream },
  );
}

/** Network failures that happen before a request leaves: nothing reached Amplify. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Errors of the calls that change something. StartJob has no idempotency token, so a failure
 * after the request may have reached Amplify (5xx, timeout, reset, unreadable answer) leaves its
 * outcome unknown: UPSTREAM_OUTCOME_UNKNOWN, not retryable. Its LimitExceededException is the
 * concurrent-jobs quota, not throttling: QUOTA_EXCEEDED at once. StopJob is safe to repeat, so
 * its errors map as reads do.
 */
export function toControlError(
  error: unknown,
  operation: 'StartJob' | 'StopJob',
  subject: Subject,
): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (operation === 'StartJob' && name === 'LimitExceededException') {
    const said = typeof e.message === 'string' && e.message !== '' ? ` (${e.message})` : '';
    return new GatewayError(
      ErrorCode.QUOTA_EXCEEDED,
      `Amplify did not start ${subject}: the account's concurrent-jobs quota is used up${said}. Nothing was started; try again once a job has finished.`,
      { cause: error, upstream: details(e) },
    );
  }
  const mapped = toGatewayError(error, subject);
  if (
    operation === 'StartJob' &&
    mapped.code === ErrorCode.UPSTREAM_UNAVAILABLE &&
    !NOT_SENT.has(name) &&
    !NOT_SENT.has(code)
  ) {
    return new GatewayError(
      ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
      `Amplify did not confirm ${subject} (${mapped.upstream?.errorName ?? 'no answer'}${mapped.upstream?.httpStatus ? `, HTTP ${mapped.upstream.httpStatus}` : ''}); the job may have started. Look at the branch's jobs before starting it again.`,
      { cause: error, upstream: details(e) },
    );
  }
  return mapped;
}
