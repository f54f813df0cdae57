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
