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
  [ErrorCode.UPSTREAM_UNAUTHORIZED]: 'error',
  [ErrorCode.INTERNAL_SERVER_ERROR]: 'error',
};

/**
 * Error masking stays on: a GatewayError keeps its (caller-safe) message and code, GraphQL's own
 * errors (syntax, validation) pass, anything else becomes "Unexpected error." with
 * INTERNAL_SERVER_ERROR. The original is logged by {@link useErrorLog}, with the request id.
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
    return graphQLError;
  }
  return new GraphQLError(message, {
    ...location,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
  });
}

/** Errors already logged with their request, so Yoga's own error log can skip them. */
const loggedErrors = new WeakSet<object>();

/** Logs each error of a result once, at a level that fits its code, with the request's logger. */
export function useErrorLog(): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result }) {
          if (!('errors' in result) || result.errors === undefined) return;
          const log = args.contextValue.log;
          for (const error of result.errors) {
            const original = error.originalError ?? error;
            const code =
              original instanceof GatewayError ? original.code : ErrorCode.INTERNAL_SERVER_ERROR;
            const level = LOG_LEVEL_OF[code] ?? 'error';
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
