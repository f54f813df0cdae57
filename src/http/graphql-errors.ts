/**
 * How GraphQL errors leave the gateway and reach the log. Error masking stays on: a GatewayError
 * keeps its caller-safe message and catalog code, GraphQL's own request errors (syntax,
 * validation, coercion) pass unchanged, anything else becomes "Unexpected error." with
 * INTERNAL_SERVER_ERROR, and the original is logged with the request id.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import type { GatewayContext } from '../schema/context.js';

const LOG_LEVEL_OF: Record<string, 'debug' | 'info' | 'warn' | 'error'> = {
  [ErrorCode.NOT_FOUND]: 'debug',
  [ErrorCode.BAD_USER_INPUT]: 'debug',
  [ErrorCode.UNAUTHENTICATED]: 'warn',
  [ErrorCode.FORBIDDEN]: 'warn',
  [ErrorCode.OPERATION_LIMIT_EXCEEDED]: 'info',
  [ErrorCode.UPSTREAM_THROTTLED]: 'warn',
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 'warn',
  [ErrorCode.UPSTREAM_TIMEOUT]: 'warn',
  [ErrorCode.UPSTREAM_CONNECTION_RESET]: 'warn',
  [ErrorCode.UPSTREAM_CONNECTION_REFUSED]: 'warn',
  [ErrorCode.UPSTREAM_UNREADABLE_RESPONSE]: 'warn',
  // Configuration or a change on Amplify's side: an operator must look.
  [ErrorCode.UPSTREAM_DNS_FAILURE]: 'error',
  [ErrorCode.UPSTREAM_TLS_FAILURE]: 'error',
  [ErrorCode.UPSTREAM_UNEXPECTED_STATUS]: 'error',
  [ErrorCode.UPSTREAM_UNAUTHORIZED]: 'error',
  [ErrorCode.QUOTA_EXCEEDED]: 'warn',
  [ErrorCode.UPSTREAM_OUTCOME_UNKNOWN]: 'error',
  [ErrorCode.TOO_MANY_SUBSCRIPTIONS]: 'warn',
  [ErrorCode.RATE_LIMITED]: 'info',
  [ErrorCode.UPSTREAM_INVALID_RESPONSE]: 'error',
  [ErrorCode.UPSTREAM_URL_REFUSED]: 'warn',
  [ErrorCode.INTERNAL_SERVER_ERROR]: 'error',
};

/**
 * Error masking stays on: a GatewayError keeps its (caller-safe) message and code, GraphQL's own
 * errors (syntax, validation, variable coercion) and Yoga's request errors (BAD_REQUEST) pass,
 * anything else becomes "Unexpected error." with INTERNAL_SERVER_ERROR. An `originalError`
 * extension (Yoga puts the JSON parser's error there) never reaches the caller. The original is
 * logged by {@link useErrorLog}, with the request id.
 */
export function maskError(error: unknown, message: string): Error {
  const graphQLError = error instanceof GraphQLError ? error : null;
  const original = graphQLError?.originalError ?? error;
  const location = {
    nodes: graphQLError?.nodes ?? null,
    source: graphQLError?.source ?? null,
    positions: graphQLError?.positions ?? null,
    path: graphQLError?.path ?? null,
  };
  if (original instanceof GatewayError) {
    return new GraphQLError(original.message, { ...location, extensions: original.toExtensions() });
  }
  if (graphQLError !== null && (original === graphQLError || original instanceof GraphQLError)) {
    return withoutOriginalError(graphQLError);
  }
  return new GraphQLError(message, {
    ...location,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
  });
}

/** The error without an `originalError` extension: internals stay in the log. */
function withoutOriginalError(error: GraphQLError): GraphQLError {
  if (!('originalError' in error.extensions)) return error;
  const { originalError: _dropped, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError,
    extensions,
  });
}

/** Errors already logged with their request, so Yoga's own error log can skip them. */
const loggedErrors = new WeakSet<object>();

/**
 * How an error is logged: a GatewayError by its code; GraphQL's own errors (a request error such
 * as variable coercion, or a GraphQLError a resolver chose to throw) as client errors at debug
 * level; anything else as INTERNAL_SERVER_ERROR at error level.
 */
function classify(
  error: GraphQLError,
  original: Error,
): { code: string; level: 'debug' | 'info' | 'warn' | 'error' } {
  if (original instanceof GatewayError) {
    return { code: original.code, level: LOG_LEVEL_OF[original.code] ?? 'error' };
  }
  if (original instanceof GraphQLError) {
    const code = error.extensions.code ?? original.extensions.code;
    return { code: typeof code === 'string' ? code : 'GRAPHQL_REQUEST_ERROR', level: 'debug' };
  }
  return { code: ErrorCode.INTERNAL_SERVER_ERROR, level: 'error' };
}

/**
 * Logs the errors of a refused request (syntax, validation, a limit) at debug: they are the
 * client's, and the answer says what they are.
 */
export function logRequestErrors(
  log: Logger,
  errors: readonly Error[],
  fallbackCode = 'GRAPHQL_REQUEST_ERROR',
): void {
  if (!log.isLevelEnabled('debug')) return;
  for (const error of errors) {
    const code = error instanceof GraphQLError ? error.extensions.code : undefined;
    log.debug({ code: typeof code === 'string' ? code : fallbackCode }, error.message);
  }
}

/** Logs each error of a result once, at a level that fits its code, with the request's logger. */
export function useErrorLog(): Plugin<GatewayContext> {
  return {
    // Request errors (nothing runs): the client's, logged at debug with the request id.
    onParse() {
      return ({ result, context }) => {
        if (result instanceof Error)
          logRequestErrors(context.log, [result], 'GRAPHQL_PARSE_FAILED');
      };
    },
    onValidate() {
      return ({ valid, result, context }) => {
        if (!valid) logRequestErrors(context.log, result, 'GRAPHQL_VALIDATION_FAILED');
      };
    },
    onExecute() {
      return {
        onExecuteDone({ args, result }) {
          if (!('errors' in result) || result.errors === undefined) return;
          const log = args.contextValue.log;
          for (const error of result.errors) {
            const original = error.originalError ?? error;
            const { code, level } = classify(error, original);
            const cause = original instanceof GatewayError ? original.cause : original;
            loggedErrors.add(original);
            log[level](
              { code, path: error.path?.join('.'), err: cause ?? original },
              original.message,
            );
          }
        },
      };
    },
  };
}

/**
 * Yoga's own log lines, into pino. Errors raised while executing are logged by useErrorLog with
 * the request id and the right level, so Yoga's copy of them is dropped here.
 */
export function yogaLogger(log: Logger) {
  const text = (args: unknown[]) => args.map(String).join(' ');
  return {
    debug: (...args: unknown[]) => log.debug(text(args)),
    info: (...args: unknown[]) => log.info(text(args)),
    warn: (...args: unknown[]) => log.warn(text(args)),
    error: (...args: unknown[]) => {
      const first = args[0];
      const original = first instanceof GraphQLError ? (first.originalError ?? first) : first;
      if (original instanceof GatewayError || original instanceof GraphQLError) return;
      if (typeof original === 'object' && original !== null && loggedErrors.has(original)) return;
      if (original instanceof Error) log.error({ err: original }, original.message);
      else log.error(text(args));
    },
  };
}
