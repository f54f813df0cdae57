/**
 * The AWS-style error catalog. Every error response carries `x-amzn-ErrorType` (the SDK resolves
 * the exception class from it first; without it a body `code` member could win) and a body
 * `{"message": ...}` only, never `__type`.
 */

export const ERROR_STATUS = {
  BadRequestException: 400,
  UnauthorizedException: 401,
  NotFoundException: 404,
  LimitExceededException: 429,
  InternalFailureException: 500,
  DependentServiceFailureException: 503,
  // Not in the Amplify model: the SDK surfaces them as AmplifyServiceException with this name.
  AccessDeniedException: 403,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  IncompleteSignatureException: 403,
  MissingAuthenticationTokenException: 403,
  UnknownOperationException: 404,
} as const;

export type AmplifyErrorType = keyof typeof ERROR_STATUS;

export class AmplifyError extends Error {
  readonly status: number;

  constructor(
    readonly errorType: AmplifyErrorType,
    message: string,
    options: { status?: number; headers?: Readonly<Record<string, string>>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = errorType;
    this.status = options.status ?? ERROR_STATUS[errorType];
    this.headers = options.headers ?? {};
  }

  readonly headers: Readonly<Record<string, string>>;
}

export const badRequest = (message: string): AmplifyError =>
  new AmplifyError('BadRequestException', message);

export const notFound = (message: string): AmplifyError =>
  new AmplifyError('NotFoundException', message);

/** Keeps user input short inside messages (the model caps `message` at 255 characters). */
export function quoteValue(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value;
}
