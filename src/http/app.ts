/**
 * The gateway as a node:http request handler: the cheap routes an orchestrator polls (/health,
 * /ready, /metrics), the checks that must happen before any GraphQL work (body size, credentials),
 * an access log line, then Yoga for /graphql. Listening is server.ts's job, so tests can drive
 * `yoga.fetch` without a socket. The upstream wrappers are composed here, in one visible order.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { Observability } from '../observability/index.js';
import { createMetrics, type GatewayMetrics, type Route } from '../observability/metrics.js';
import { CursorCodec } from '../schema/cursors.js';
import { UNIDENTIFIED_CALLER } from '../schema/identity.js';
import { createCircuitBreaker, type UpstreamCircuitBreaker } from '../upstream/circuit-breaker.js';
import { withSingleFlight } from '../upstream/single-flight.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import { createAuthenticator } from './auth.js';
import { DEFAULT_EXAMPLE, type GraphiQLExample, type GraphiQLRenderer } from './graphiql.js';
import { createReadiness, type Readiness } from './readiness.js';
import { loadTrustedDocuments } from './trusted-documents.js';
import { createGraphQLServer, type GraphQLServer } from './yoga.js';

export interface GatewayAppOptions {
  config: Config;
  upstream: AmplifyUpstream;
  log: Logger;
  /**
   * Renders GraphiQL's page; required when `config.graphiql` is on. Passed in rather than imported
   * here because the self-contained GraphiQL bundle costs ~40 MB of memory and ~80 ms of start-up,
   * which a production instance with GraphiQL off should not pay: see loadGraphiQLRenderer.
   */
  renderGraphiQL?: GraphiQLRenderer | undefined;
  /** GraphiQL's opening document; the demo passes a job that exists in its world. */
  example?: GraphiQLExample;
  /**
   * Metrics and traces (createObservability); their `upstreamObservers` must also have been given
   * to the SDK upstream for Amplify calls to be counted. Default: a fresh metrics registry.
   */
  observability?: Pick<Observability, 'metrics' | 'tracing'>;
}

export interface GatewayApp {
  yoga: GraphQLServer;
  readiness: Readiness;
  metrics: GatewayMetrics;
  /** The circuit breaker (and throttle pause) in front of Amplify. */
  breaker: UpstreamCircuitBreaker;
  /** The node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** From now on /ready answers 503 and responses ask clients to close their connection. */
  startDraining(): void;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compare equal-length buffers only; the length of the secret itself is not a secret worth
  // hiding, but comparing contents must not leak how many leading bytes matched.
  return a.length === b.length && timingSafeEqual(a, b);
}

const ROUTES: Record<string, Route> = {
  '/graphql': 'graphql',
  '/health': 'health',
  '/ready': 'ready',
  '/metrics': 'metrics',
};

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

function graphQLErrorBody(message: string, code: string, retryable = false) {
  return { errors: [{ message, extensions: { code, retryable } }] };
}

/** Yoga renders GraphiQL for exactly these requests (use-graphiql.js): they execute nothing. */
function isGraphiQLPage(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { config, log } = options;
  const metrics = options.observability?.metrics ?? createMetrics();
  const breaker = createCircuitBreaker({
    breaker: config.circuitBreaker,
    throttlePauseMs: config.throttlePauseMs,
    onStateChange: (state) => {
      metrics.breakerStateChanged(state);
      log[state === 'closed' ? 'info' : 'warn']({ state }, 'Amplify circuit breaker changed state');
    },
    onShortCircuit: (reason) => metrics.shortCircuited(reason),
  });
  // The upstream wrappers, outermost first: single-flight (concurrent requests for one job share
  // one call) -> circuit breaker and throttle pause -> the SDK upstream (observed: metrics, traces).
  const upstream = withSingleFlight(breaker.wrap(options.upstream));
  if (config.graphiql && options.renderGraphiQL === undefined) {
    throw new Error('GRAPHIQL is on: pass renderGraphiQL (see loadGraphiQLRenderer)');
  }
  const readiness = createReadiness(upstream, config.readinessProbe, () => breaker.state);
  const authenticator = createAuthenticator(config, log);
  if (config.cursorSecret === null) {
    log.info(
      'CURSOR_SECRET is not set: connection cursors are signed with a random key of this process, so they stop working after a restart and on other replicas. Set the same CURSOR_SECRET on every replica.',
    );
  }
  const yoga = createGraphQLServer({
    config,
    deps: {
      upstream,
      maxConcurrency: config.upstream.maxConcurrency,
      maxUpstreamCalls: config.limits.maxUpstreamCalls,
      cursors: new CursorCodec(config.cursorSecret),
    },
    log,
    renderGraphiQL: options.renderGraphiQL,
    example: options.example ?? DEFAULT_EXAMPLE,
    metrics,
    tracing: options.observability?.tracing ?? null,
    trustedDocuments:
      config.trustedDocuments === null ? null : loadTrustedDocuments(config.trustedDocuments),
  });
  let draining = false;

  function serveMetrics(req: IncomingMessage, res: ServerResponse, token: string | null): void {
    if (token !== null) {
      const given = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
      if (given === undefined || !sameSecret(given, token)) {
        sendJson(
          res,
          401,
          { error: 'Send the metrics token: Authorization: Bearer <token>.' },
          {
            'www-authenticate': 'Bearer realm="metrics"',
          },
        );
        return;
      }
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'content-type': metrics.registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(text);
      },
      (error: unknown) => {
        log.error({ err: error }, 'collecting metrics failed');
        sendJson(res, 500, { error: 'Collecting metrics failed.' });
      },
    );
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const headerId = req.headers['x-request-id'];
    const requestId =
      typeof headerId === 'string' && REQUEST_ID.test(headerId) ? headerId : randomUUID();
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = ROUTES[path] ?? 'other';
    res.once('finish', () => metrics.httpResponse(route, res.statusCode));

    if (route === 'health') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (route === 'ready') {
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
    if (route === 'metrics' && config.metrics !== null) {
      serveMetrics(req, res, config.metrics.token);
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

    const requestLog = log.child({ reqId: requestId });
    /** Who the request came from, once known: the access log line says it (never a secret). */
    let caller: string | undefined;
    if (requestLog.isLevelEnabled('info')) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        requestLog.info(
          {
            method: req.method,
            path,
            status: res.statusCode,
            caller,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      });
    }
    // CORS preflights carry no credentials, and GraphiQL's page executes nothing (a browser
    // cannot send headers when it opens a URL): both go to Yoga with no identity, which refuses
    // any operation that would somehow run.
    if (req.method === 'OPTIONS' || (config.graphiql && isGraphiQLPage(req))) {
      void yoga(req, res, { requestId, log: requestLog, caller: UNIDENTIFIED_CALLER });
      return;
    }
    authenticator.authenticate(req.headers).then((outcome) => {
      if (outcome.ok) {
        caller = outcome.caller.principal;
        void yoga(req, res, { requestId, log: requestLog, caller: outcome.caller });
        return;
      }
      metrics.authFailed(outcome.reason);
      requestLog.info({ reason: outcome.reason, status: outcome.status }, 'request refused');
      sendJson(
        res,
        outcome.status,
        graphQLErrorBody(outcome.message, outcome.code, outcome.retryable),
        outcome.status === 401 && authenticator.challenge !== null
          ? { 'www-authenticate': authenticator.challenge }
          : undefined,
      );
      req.resume();
    });
  }

  return {
    yoga,
    readiness,
    metrics,
    breaker,
    handle,
    startDraining() {
      draining = true;
    },
  };
}
