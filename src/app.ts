/**
 * The gateway as an HTTP request handler: Yoga for /graphql, plus the cheap routes an orchestrator
 * polls (/health, /ready) and the checks that must happen before any GraphQL work (body size,
 * router secret). Listening is someone else's job (server.ts), so tests can drive `yoga.fetch`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import { GraphQLError } from 'graphql';
import {
  createYoga,
  type GraphiQLOptions,
  type Plugin,
  type YogaServerInstance,
} from 'graphql-yoga';
import type { Logger } from 'pino';
import { withSingleFlight } from './amplify/single-flight.js';
import type { AmplifyUpstream } from './amplify/upstream.js';
import type { Config } from './config.js';
import { createGatewayContext, type GatewayContext } from './context.js';
import { ErrorCode, GatewayError } from './errors.js';
import { createReadiness, type Readiness } from './readiness.js';
import { buildSchema } from './schema/index.js';

/** What the node handler hands to Yoga for each request. */
export interface ServerContext {
  requestId: string;
  log: Logger;
}

export interface GatewayAppOptions {
  config: Config;
  upstream: AmplifyUpstream;
  log: Logger;
  /**
   * Renders GraphiQL's page; required when `config.graphiql` is on. Passed in rather than imported
   * here because the self-contained GraphiQL bundle costs ~40 MB of memory and ~80 ms of start-up,
   * which a production instance with GraphiQL off should not pay: see {@link loadGraphiQLRenderer}.
   */
  renderGraphiQL?: (options?: GraphiQLOptions) => string;
  /** GraphiQL's opening document; the demo passes a job that exists in its world. */
  example?: { query: string; variables?: Record<string, unknown> };
}

export interface GatewayApp {
  yoga: YogaServerInstance<ServerContext, GatewayContext>;
  readiness: Readiness;
  /** The node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** From now on /ready answers 503 and responses ask clients to close their connection. */
  startDraining(): void;
}

export const DEFAULT_EXAMPLE = {
  query: `# Fill in a job of yours, then run with the ▶ button (or Ctrl+Enter).
query Job($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) {
    summary { jobArn status jobType commitId commitMessage startTime endTime }
    steps { stepName status startTime endTime logUrl statusReason screenshots { name url } }
  }
}
`,
  variables: { appId: 'd1a2b3c4d5e6f7', branchName: 'main', jobId: '1' },
};

const LOG_LEVEL_OF: Record<string, 'debug' | 'warn' | 'error'> = {
  [ErrorCode.NOT_FOUND]: 'debug',
  [ErrorCode.BAD_USER_INPUT]: 'debug',
  [ErrorCode.UNAUTHENTICATED]: 'warn',
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
function useErrorLog(): Plugin<GatewayContext> {
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
function yogaLogger(log: Logger) {
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

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compare equal-length buffers only; the length of the secret itself is not a secret worth
  // hiding, but comparing contents must not leak how many leading bytes matched.
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra?: Record<string, string>,
) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(payload);
}

function graphQLErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * GraphiQL's page with its scripts inlined from the npm package instead of loaded from a CDN, so it
 * works offline, in air-gapped clusters and under a strict Content-Security-Policy. Loaded only
 * when GraphiQL is on.
 */
export async function loadGraphiQLRenderer(
  config: Config,
): Promise<GatewayAppOptions['renderGraphiQL']> {
  if (!config.graphiql) return undefined;
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  return renderGraphiQL;
}

export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { config, log } = options;
  // Concurrent requests for one job share one GetJob (see single-flight.ts).
  const upstream = withSingleFlight(options.upstream);
  if (config.graphiql && options.renderGraphiQL === undefined) {
    throw new Error('GRAPHIQL is on: pass renderGraphiQL (see loadGraphiQLRenderer)');
  }
  const readiness = createReadiness(upstream, config.readinessProbe);
  const deps = { upstream, maxConcurrency: config.upstream.maxConcurrency };
  const example = options.example ?? DEFAULT_EXAMPLE;
  let draining = false;

  const yoga = createYoga<ServerContext, GatewayContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Checked from the Content-Length header below: Yoga's streaming limit costs a quarter of its
    // CPU per request (stack notes).
    maxRequestBodySize: false,
    context: ({ requestId, log: requestLog }) => createGatewayContext(deps, requestId, requestLog),
    maskedErrors: { maskError },
    cors:
      config.corsOrigins === null
        ? false
        : {
            origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
            methods: ['GET', 'POST'],
            allowedHeaders: ['content-type', 'x-request-id', 'apollo-require-preflight'],
            exposedHeaders: ['x-request-id'],
            credentials: false,
            maxAge: 600,
          },
    ...(options.renderGraphiQL ? { renderGraphiQL: options.renderGraphiQL } : {}),
    graphiql: config.graphiql
      ? {
          title: 'Amplify jobs GraphQL',
          defaultQuery: example.query,
          ...(example.variables ? { variables: JSON.stringify(example.variables, null, 2) } : {}),
        }
      : false,
    logging: yogaLogger(log),
    plugins: [
      useGraphQlJit(),
      // Federated tracing: a router sending `apollo-federation-include-trace: ftv1` gets an
      // inline trace in `extensions.ftv1`; others pay nothing.
      useApolloInlineTrace(),
      useErrorLog(),
    ],
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const headerId = req.headers['x-request-id'];
    const requestId =
      typeof headerId === 'string' && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?', 1)[0];

    if (path === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/ready') {
      if (draining) {
        sendJson(res, 503, { status: 'draining' });
        return;
      }
      readiness.check().then(
        (state) => sendJson(res, state.ready ? 200 : 503, state),
        (error: unknown) => {
          log.error({ err: error }, 'readiness check failed');
          sendJson(res, 503, { status: 'unavailable', reason: ErrorCode.INTERNAL_SERVER_ERROR });
        },
      );
      return;
    }

    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > config.maxBodyBytes) {
      sendJson(
        res,
        413,
        graphQLErrorBody(
          `Request body is larger than ${config.maxBodyBytes} bytes.`,
          ErrorCode.BAD_USER_INPUT,
        ),
        { connection: 'close' },
      );
      req.resume();
      return;
    }
    if (length === undefined && req.headers['transfer-encoding'] !== undefined) {
      // Without a length the size cannot be checked up front; clients here always know it.
      sendJson(
        res,
        411,
        graphQLErrorBody('Send a Content-Length header.', ErrorCode.BAD_USER_INPUT),
        { connection: 'close' },
      );
      req.resume();
      return;
    }
    if (config.routerSecret !== null && req.method !== 'OPTIONS') {
      const given = req.headers['x-router-secret'];
      if (typeof given !== 'string' || !sameSecret(given, config.routerSecret)) {
        sendJson(
          res,
          401,
          graphQLErrorBody('Missing or wrong x-router-secret header.', ErrorCode.UNAUTHENTICATED),
        );
        req.resume();
        return;
      }
    }

    const requestLog = log.child({ reqId: requestId });
    if (requestLog.isLevelEnabled('info')) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        requestLog.info(
          {
            method: req.method,
            path,
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      });
    }
    void yoga(req, res, { requestId, log: requestLog });
  }

  return {
    yoga,
    readiness,
    handle,
    startDraining() {
      draining = true;
    },
  };
}
