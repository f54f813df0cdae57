/**
 * The gateway as a node:http request handler: the cheap routes an orchestrator polls (/health,
 * /ready, /metrics), the checks that must happen before any GraphQL work (body size, then
 * credentials: auth.ts), the immutable-response fast path (per caller), an access log line, then
 * Yoga for /graphql. Listening is server.ts's job, so tests can drive `yoga.fetch` without a
 * socket.
 *
 * This is also where the app is composed: Redis (createSharedStateFor), the upstream wrappers in
 * their order (composeUpstreams in src/upstream/compose.ts: SDK client -> circuit breaker ->
 * single-flight -> cache), the fast path and Yoga with its HTTP caching plugin.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createMemoryCoordination, type LiveCoordination } from '../live/coordination.js';
import { createLiveJobs, type LiveJobs } from '../live/live-jobs.js';
import { createRedisCoordination } from '../live/redis-coordination.js';
import type { Observability } from '../observability/index.js';
import { wantsAccessLine } from '../observability/logger.js';
import { createMetrics, type GatewayMetrics, type Route } from '../observability/metrics.js';
import { CursorCodec } from '../schema/cursors.js';
import { type CallerIdentity, UNIDENTIFIED_CALLER } from '../schema/identity.js';
import type { SharedState } from '../shared-state/redis.js';
import { createCircuitBreaker, type UpstreamCircuitBreaker } from '../upstream/circuit-breaker.js';
import {
  composeUpstreams,
  createSharedStateFor,
  type UpstreamStackEvent,
} from '../upstream/compose.js';
import { connectionResetCode } from '../upstream/errors.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import {
  type AmplifyEventReceiver,
  createAmplifyEventReceiver,
  EVENTS_PATH,
} from './amplify-events.js';
import { type AuthOutcome, createAuthenticator } from './auth.js';
import { edgeCorsHeaders } from './browser-access.js';
import { clientAddressOf } from './client-address.js';
import {
  createGraphiQLPage,
  DEFAULT_EXAMPLE,
  type GraphiQLExample,
  type GraphiQLRenderer,
  graphiqlOptions,
} from './graphiql.js';
import { createHttpCaching } from './http-caching.js';
import { createCallerRateLimit, rateLimitKey } from './rate-limit.js';
import { createReadiness, type Readiness } from './readiness.js';
import { readBodyThen } from './request-body.js';
import {
  type CallerKey,
  createResponseCache,
  type IdentifyCaller,
  INCLUDE_INLINE_TRACE,
  type ResponseCache,
  type ResponseCacheEvent,
  sendStored,
  TRACE_HEADER,
} from './response-cache.js';
import { sameSecret } from './secrets.js';
import { createSseStreams, type SseStreams } from './sse.js';
import { loadTrustedDocuments } from './trusted-documents.js';
import {
  createGraphQLServer,
  type GraphQLServer,
  type GraphQLServerOptions,
  type ServerContext,
} from './yoga.js';

/**
 * What the caches report, for metrics: one event per upstream read served (hit or miss, and
 * where from), per fast-path lookup and store, and per change of Redis availability.
 */
export type CacheEvent = UpstreamStackEvent | ResponseCacheEvent;
export type CacheEventListener = (event: CacheEvent) => void;

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
   * How the caches name the caller of a request that passed the edge's checks, credentials
   * included. Default: {@link cacheKeyOf} the authenticated caller (its principal and scopes).
   * Tests replace it to name callers without keys; `null` keeps a request out of every cache.
   */
  identify?: IdentifyCaller;
  /** Told about cache hits, misses and Redis availability (metrics count them too). */
  onCacheEvent?: CacheEventListener;
  /**
   * Metrics and traces (createObservability); their `upstreamObservers` must also have been given
   * to the SDK upstream for Amplify calls to be counted. Default: a fresh metrics registry.
   */
  observability?: Pick<Observability, 'metrics' | 'tracing'>;
  /**
   * Now, in epoch ms: each request's "now" (durations still counting), the TTLs of the cache of
   * Amplify answers, and how long answers holding presigned URLs may be cached. Default Date.now;
   * tests move it instead of waiting (e.g. to a URL's expiry).
   */
  clock?: () => number;
  /**
   * How live-status replicas share poll claims and fan out changes. Default: through Redis when
   * REDIS_URL is set, else in memory (one process). The app owns it: `close()` closes it.
   */
  coordination?: LiveCoordination;
}

export interface GatewayApp {
  /** The GraphQL server of every request but those asking for an inline trace. */
  yoga: GraphQLServer;
  /**
   * The GraphQL server of requests with `apollo-federation-include-trace: ftv1` (a router asking
   * for Apollo's inline trace), made on the first such request.
   */
  tracedYoga(): GraphQLServer;
  readiness: Readiness;
  /** Redis shared by replicas (REDIS_URL), or `null`. */
  shared: SharedState | null;
  /** The fast path's answers, or `null` when RESPONSE_CACHE_MAX_BYTES=0. */
  responseCache: ResponseCache | null;
  metrics: GatewayMetrics;
  /** The circuit breaker (and throttle pause) in front of Amplify. */
  breaker: UpstreamCircuitBreaker;
  /** Live job subscriptions and their pollers. */
  live: LiveJobs;
  /** Open SSE streams. */
  sseStreams: SseStreams;
  /** POST /events/amplify, when AMPLIFY_EVENTS_SECRET is set. */
  events: AmplifyEventReceiver | null;
  /** The node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Responses to /graphql and /events/amplify finished so far; probes and scrapes (/health,
   * /ready, /metrics) do not count. The idle memory trim watches it.
   */
  readonly apiResponsesFinished: number;
  /**
   * From now on /ready answers 503, responses ask clients to close their connection, and every
   * SSE stream ends (without `complete`, so clients reconnect to another replica).
   */
  startDraining(): void;
  /**
   * Stops the live pollers, waits for their reads, and closes what the app opened itself (the
   * Redis connections); call after the server closed. The SDK client is the caller's.
   */
  close(): Promise<void>;
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

function graphQLErrorBody(
  message: string,
  code: string,
  retryable = false,
  more?: Record<string, unknown>,
) {
  return { errors: [{ message, extensions: { code, retryable, ...more } }] };
}

const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';

/**
 * Whether the edge's own answer to this Accept is `application/json` rather than
 * `application/graphql-response+json`, picked as Yoga picks for its answers: the first listed
 * type it can give, `application/json` or `application/*` for the former, the latter or `*\/*`
 * for itself. Unlike Yoga, an entry with `q=0` (not acceptable, RFC 9110) is skipped. Nothing
 * listed that fits (or no Accept): `application/graphql-response+json`, since a refusal is still
 * answered.
 */
export function edgeAnswersJson(accept: string | undefined): boolean {
  for (const entry of (accept ?? '').toLowerCase().split(',')) {
    const [type = '', ...parameters] = entry.split(';').map((part) => part.trim());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (type === 'application/json' || type === 'application/*') return true;
    if (type === GRAPHQL_RESPONSE_JSON || type === '*/*') return false;
  }
  return false;
}

/**
 * A GraphQL error answered by the edge (401, 411, 413, 429, 400) in the media type the client
 * accepts ({@link edgeAnswersJson}).
 */
function sendGraphQLError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: ReturnType<typeof graphQLErrorBody>,
  extra?: Record<string, string>,
): void {
  const mediaType = edgeAnswersJson(req.headers.accept)
    ? 'application/json; charset=utf-8'
    : `${GRAPHQL_RESPONSE_JSON}; charset=utf-8`;
  sendJson(res, status, body, { ...extra, 'content-type': mediaType });
}

/** A Content-Type with its media type (not its parameters, e.g. a boundary) in lower case. */
function lowerCaseMediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return semicolon === -1
    ? contentType.toLowerCase()
    : contentType.slice(0, semicolon).toLowerCase() + contentType.slice(semicolon);
}

/** The last Host found parsable: clients send the same one again and again. */
let lastParsableHost: string | undefined;

/**
 * Whether the Host makes a URL: Yoga builds one from it and the request target (a known path
 * here: only /graphql and /events/amplify get this far), and a bad Host (`[x`, `a b`) would
 * otherwise end in an unhandled 500 with a stack trace. Parsed once per new Host, not per request.
 */
function hasParsableHost(req: IncomingMessage): boolean {
  const host = req.headers.host ?? 'localhost';
  if (host === lastParsableHost) return true;
  if (!URL.canParse(`http://${host}/`)) return false;
  lastParsableHost = host;
  return true;
}

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/graphql', 'graphql'],
  ['/health', 'health'],
  ['/ready', 'ready'],
  ['/metrics', 'metrics'],
  [EVENTS_PATH, 'events'],
]);
const ROUTE_NAMES: readonly Route[] = [...ROUTES.values(), 'other'];

/** GraphiQL's page is for exactly these requests (as Yoga's use-graphiql.js): they execute nothing. */
function isGraphiQLPage(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

const callerKeys = new WeakMap<CallerIdentity, CallerKey>();

/**
 * The caches' name for an authenticated caller: its principal and its scopes (two tokens of one
 * subject with different scopes must not share answers), private when credentials were shown.
 * Worked out once per identity object (identities are frozen once made): the anonymous and router
 * callers and each API key's caller are made once (auth.ts), a JWT's caller per request.
 */
export function cacheKeyOf(caller: CallerIdentity): CallerKey {
  let key = callerKeys.get(caller);
  if (key === undefined) {
    key = {
      principal: `${caller.principal} [${[...caller.scopes].sort().join(' ')}]`,
      authenticated: caller.kind === 'apiKey' || caller.kind === 'jwt',
    };
    if (Object.isFrozen(caller)) callerKeys.set(caller, key);
  }
  return key;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { config, log } = options;
  if (config.graphiql && options.renderGraphiQL === undefined) {
    throw new Error('GRAPHIQL is on: pass renderGraphiQL (see loadGraphiQLRenderer)');
  }
  const graphiql =
    config.graphiql && options.renderGraphiQL !== undefined
      ? createGraphiQLPage(
          options.renderGraphiQL,
          graphiqlOptions(options.example ?? DEFAULT_EXAMPLE),
          (error) => log.error({ err: error }, 'rendering GraphiQL failed'),
        )
      : null;
  const metrics = options.observability?.metrics ?? createMetrics();
  const onCacheEvent: CacheEventListener = (event) => {
    metrics.cacheEvent(event);
    options.onCacheEvent?.(event);
  };
  const breaker = createCircuitBreaker({
    breaker: config.circuitBreaker,
    throttlePauseMs: config.throttlePauseMs,
    onStateChange: (state) => {
      metrics.breakerStateChanged(state);
      log[state === 'closed' ? 'info' : 'warn']({ state }, 'Amplify circuit breaker changed state');
    },
    onShortCircuit: (reason) => metrics.shortCircuited(reason),
  });
  const shared = createSharedStateFor(config, log, onCacheEvent);
  const { clock } = options;
  const { cached: upstream, fresh } = composeUpstreams(config, options.upstream, {
    shared,
    log,
    onEvent: onCacheEvent,
    breaker,
    clock,
  });
  const liveLog = log.child({ component: 'live' });
  const onListenerError = (error: unknown) => liveLog.error({ err: error }, 'live listener failed');
  const coordination =
    options.coordination ??
    (shared === null
      ? createMemoryCoordination(onListenerError)
      : createRedisCoordination(shared, { log: liveLog, onListenerError }));
  // Polls and first answers read through the cache; pushed events and stops read around it.
  const live = createLiveJobs({
    read: (key) => upstream.getJob(key),
    readFresh: (key) => fresh.getJob(key),
    coordination,
    ...config.live,
    log: liveLog,
    onActivity: (activity) => metrics.liveActivity(activity),
  });
  metrics.watchLive(() => live.stats());
  const events =
    config.amplifyEvents === null
      ? null
      : createAmplifyEventReceiver({
          secret: config.amplifyEvents.secret,
          live,
          claims: coordination.claims,
          maxBodyBytes: config.maxBodyBytes,
          log: liveLog,
          onOutcome: (outcome) => metrics.amplifyEvent(outcome),
        });
  const sseStreams = createSseStreams();
  // The probe asks the SDK upstream itself, around the breaker (readiness.ts says why).
  const readiness = createReadiness({
    upstream: config.readinessProbe === null ? null : options.upstream,
    timeoutMs: config.readinessProbe?.timeoutMs ?? 0,
    breakerState: () => breaker.state,
    onProbeSuccess: () => breaker.reportSuccess(),
  });
  const authenticator = createAuthenticator(config, log);
  /**
   * A GraphQL error answered by the edge, with the CORS headers Yoga gives the same origin, so a
   * page on an allowed origin can read the refusal (401, 413, 429...) instead of a network error.
   */
  const sendEdgeError = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: ReturnType<typeof graphQLErrorBody>,
    extra?: Record<string, string>,
  ) =>
    sendGraphQLError(req, res, status, body, {
      ...edgeCorsHeaders(config.corsOrigins, req.headers.origin),
      ...extra,
    });
  /**
   * Refuses a request the edge cannot take (bad Host, body too large or of unknown length) with a
   * BAD_USER_INPUT error, closing the connection; whatever body was sent is drained, unread.
   */
  const refuseAtEdge = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    message: string,
  ) => {
    sendEdgeError(req, res, status, graphQLErrorBody(message, ErrorCode.BAD_USER_INPUT), {
      connection: 'close',
    });
    req.resume();
  };
  // Loaded on its own (rate-limiter-flexible), and only when RATE_LIMIT_REQUESTS asks for it.
  const rateLimit =
    config.rateLimit === null
      ? null
      : createCallerRateLimit({ ...config.rateLimit, shared }).catch((error: unknown) => {
          log.error({ err: error }, 'the rate limiter could not start: requests are not limited');
          return null;
        });
  const responseCache =
    config.responseCache === null ? null : createResponseCache({ ...config.responseCache, clock });
  const identify = options.identify;
  /** Where a request comes from: the TCP peer, or behind TRUSTED_PROXIES the client they name. */
  const clientAddress = clientAddressOf(config.trustedProxies);
  const serverOptions: GraphQLServerOptions = {
    config,
    deps: {
      upstream,
      maxConcurrency: config.upstream.maxConcurrency,
      maxUpstreamCalls: config.limits.maxUpstreamCalls,
      cursors: new CursorCodec(config.cursorSecret, config.cursorSecretFallback),
      live,
      controlMutations: config.controlMutations,
      clock,
      subscriptionBudgetWindowMs: config.live.pollIntervalMs,
    },
    log,
    sseStreams,
    httpCaching: createHttpCaching({
      maxAgeS: config.cacheControlMaxAgeS,
      responseCache,
      onEvent: onCacheEvent,
      clock,
    }),
    metrics,
    tracing: options.observability?.tracing ?? null,
    trustedDocuments:
      config.trustedDocuments === null ? null : loadTrustedDocuments(config.trustedDocuments),
  };
  const yoga = createGraphQLServer(serverOptions);
  let tracedYoga: GraphQLServer | null = null;
  /** Made when a router first asks for a trace: a gateway never asked pays for it in no way. */
  const tracedServer = (): GraphQLServer =>
    (tracedYoga ??= createGraphQLServer({ ...serverOptions, federatedTracing: true }));
  let draining = false;

  // One line per request. Its fields are fixed and never hold a secret (the path has no query
  // string, the request id is checked against REQUEST_ID), so it skips the logger's redaction,
  // which costs more than the rest of a fast-path answer (~5 µs a line).
  const access = log.child({}, { redact: [] });
  /** Whether requests may get an access-log line: ACCESS_LOG is not `off` and info is logged. */
  const logsAccess = () => config.accessLog !== 'off' && log.isLevelEnabled('info');
  /** Writes the line of a finished request, if ACCESS_LOG wants it for its status. */
  const accessLog = (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
    started: bigint,
    caller: string | undefined,
    cache?: 'hit',
  ) => {
    if (!wantsAccessLine(config.accessLog, res.statusCode)) return;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Who asked (a key id, a token's issuer and subject: never a secret). Two literals rather
    // than a spread: the same fields in the same order, without copying an object per line.
    access.info(
      cache === undefined
        ? { reqId: requestId, method: req.method, path, status: res.statusCode, caller, ms }
        : { reqId: requestId, method: req.method, path, status: res.statusCode, caller, ms, cache },
      'request',
    );
  };

  let apiResponsesFinished = 0;
  /**
   * Counts a finished response by route and status (`this` is the response): one per route. The
   * API routes also count their responses for the idle memory trim, which watches for a spell
   * without any (probes and scrapes excluded).
   */
  const countResponse = Object.fromEntries(
    ROUTE_NAMES.map((route) => {
      const api = route === 'graphql' || route === 'events';
      return [
        route,
        function (this: ServerResponse) {
          if (api) apiResponsesFinished++;
          metrics.httpResponse(route, this.statusCode);
        },
      ];
    }),
  ) as Record<Route, (this: ServerResponse) => void>;
  // Made on the first lookup, as before: /metrics shows the fast path's counters once it ran.
  let responseCacheCounters: ReturnType<GatewayMetrics['cache']> | null = null;

  /**
   * Every answer names its request; a replica that was draining when the request came asks the
   * client to close the connection.
   */
  function stamp(res: ServerResponse, requestId: string, closing: boolean): void {
    res.setHeader('x-request-id', requestId);
    if (closing) res.setHeader('connection', 'close');
  }

  /** Hands the request to Yoga; `body` when the edge has already read it. */
  function toYoga(
    req: IncomingMessage,
    res: ServerResponse,
    context: ServerContext,
    path: string,
    body: Buffer | null,
  ): void {
    if (logsAccess()) {
      const started = process.hrtime.bigint();
      const caller = context.caller.principal;
      res.once('finish', () => accessLog(req, res, context.requestId, path, started, caller));
    }
    // Yoga's Node adapter takes an already-read body from `req.body`, as it does behind body
    // parsers; the stream itself has been consumed.
    if (body !== null) Object.assign(req, { body });
    const server = req.headers[TRACE_HEADER] === INCLUDE_INLINE_TRACE ? tracedServer() : yoga;
    void server(req, res, context);
  }

  function contextOf(
    req: IncomingMessage,
    requestId: string,
    identity: CallerIdentity,
    caller: CallerKey | null,
  ): ServerContext {
    return {
      requestId,
      log: log.child({ reqId: requestId }),
      caller: identity,
      ...(caller === null ? {} : { cacheCaller: caller }),
      clientAddress: clientAddress(req),
    };
  }

  /**
   * Answers from the fast path when the same caller asked the same thing before and the answer was
   * immutable; otherwise on to Yoga, with the key under which the HTTP caching plugin may store
   * this answer. `identity` is who the credentials say is asking. When `replayable`, the response
   * has no headers yet (see `handle`): a replayed answer is written with all of them at once.
   * Synchronous unless a custom `identify` answers with a promise; errors reach `drop`.
   */
  function throughCaches(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    closing: boolean,
    path: string,
    identity: CallerIdentity,
    replayable: boolean,
  ): void {
    const started = process.hrtime.bigint();
    const identified = identify === undefined ? cacheKeyOf(identity) : identify(req);
    if (identified instanceof Promise) {
      identified
        .then((caller) =>
          lookUp(req, res, requestId, closing, path, identity, replayable, caller, started),
        )
        .catch((error: unknown) => drop(error, requestId, closing, res));
    } else {
      lookUp(req, res, requestId, closing, path, identity, replayable, identified, started);
    }
  }

  function lookUp(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    closing: boolean,
    path: string,
    identity: CallerIdentity,
    replayable: boolean,
    caller: CallerKey | null,
    started: bigint,
  ): void {
    if (!replayable || caller === null || req.headers[TRACE_HEADER] !== undefined) {
      if (replayable) stamp(res, requestId, closing);
      toYoga(req, res, contextOf(req, requestId, identity, caller), path, null);
      return;
    }
    if (req.method !== 'POST') {
      replayOrRun(req, res, requestId, closing, path, identity, caller, started, null);
      return;
    }
    readBodyThen(req, config.maxBodyBytes, (error, body) => {
      try {
        if (body === undefined) drop(error, requestId, closing, res);
        else replayOrRun(req, res, requestId, closing, path, identity, caller, started, body);
      } catch (thrown) {
        drop(thrown, requestId, closing, res);
      }
    });
  }

  function replayOrRun(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    closing: boolean,
    path: string,
    identity: CallerIdentity,
    caller: CallerKey,
    started: bigint,
    body: Buffer | null,
  ): void {
    // `replayable` (handle) holds only with a response cache.
    if (responseCache === null) throw new Error('no response cache');
    const key = responseCache.keyOf(req, body, caller);
    const stored = responseCache.get(key);
    responseCacheCounters ??= metrics.cache('response');
    if (stored !== undefined) {
      sendStored(req, res, stored, requestId, closing);
      responseCacheCounters.hit();
      options.onCacheEvent?.({ cache: 'response', outcome: 'hit' });
      if (logsAccess()) {
        accessLog(req, res, requestId, path, started, identity.principal, 'hit');
      }
      return;
    }
    responseCacheCounters.miss();
    options.onCacheEvent?.({ cache: 'response', outcome: 'miss' });
    stamp(res, requestId, closing);
    const context = contextOf(req, requestId, identity, caller);
    context.responseCacheKey = key;
    toYoga(req, res, context, path, body);
  }

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
    const closing = draining;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = ROUTES.get(path) ?? 'other';
    res.on('finish', countResponse[route]);
    // A request the fast path may answer gets its headers once the edge knows which way it goes,
    // so that a replayed answer is written with one writeHead; every other request gets them now.
    const replayable =
      responseCache !== null &&
      route === 'graphql' &&
      (req.method === 'GET' || req.method === 'POST') &&
      !(graphiql !== null && isGraphiQLPage(req));
    if (!replayable) stamp(res, requestId, closing);

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

    // Only /graphql and the EventBridge receiver go further: an unknown path (or a disabled
    // /metrics) is not found whatever the credentials, and never reaches the fast path or Yoga.
    if (route !== 'graphql' && route !== 'events') {
      sendJson(res, 404, { error: 'Not found.' });
      req.resume();
      return;
    }
    if (!hasParsableHost(req)) {
      if (replayable) stamp(res, requestId, closing);
      refuseAtEdge(req, res, 400, 'The Host header is not a valid host.');
      return;
    }
    // Media types ignore case (RFC 9110): `Application/JSON` is JSON to Yoga's parser too.
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) req.headers['content-type'] = lowerCaseMediaType(contentType);

    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > config.maxBodyBytes) {
      if (replayable) stamp(res, requestId, closing);
      refuseAtEdge(req, res, 413, `Request body is larger than ${config.maxBodyBytes} bytes.`);
      return;
    }
    if (length === undefined && req.headers['transfer-encoding'] !== undefined) {
      // Without a length the size cannot be checked up front; clients here always know it.
      if (replayable) stamp(res, requestId, closing);
      refuseAtEdge(req, res, 411, 'Send a Content-Length header.');
      return;
    }
    if (route === 'events') {
      // Not GraphQL: its own secret (EventBridge's connection), not the router's or a caller's;
      // without AMPLIFY_EVENTS_SECRET the route does not exist, whatever the credentials.
      if (events !== null) {
        events.handle(req, res);
        return;
      }
      sendJson(res, 404, { error: 'Not found.' });
      req.resume();
      return;
    }
    // GraphiQL's page executes nothing and a browser cannot send headers when it opens a URL: it
    // needs no credentials, and every request gets the same bytes, rendered once.
    if (graphiql !== null && route === 'graphql' && isGraphiQLPage(req)) {
      if (logsAccess()) {
        const started = process.hrtime.bigint();
        res.once('finish', () => accessLog(req, res, requestId, path, started, undefined));
      }
      graphiql.serve(req, res);
      return;
    }
    // CORS preflights carry no credentials: they go to Yoga with no identity, which refuses any
    // operation that would somehow run.
    if (req.method === 'OPTIONS') {
      toYoga(
        req,
        res,
        { requestId, log: log.child({ reqId: requestId }), caller: UNIDENTIFIED_CALLER },
        path,
        null,
      );
      return;
    }
    const outcome = authenticator.authenticate(req.headers);
    if (outcome instanceof Promise) {
      outcome
        .then((settled) => admit(req, res, requestId, closing, path, replayable, settled))
        .catch((error: unknown) => drop(error, requestId, closing, res));
    } else {
      admit(req, res, requestId, closing, path, replayable, outcome);
    }
  }

  /** On with an authenticated request, or its refusal. */
  function admit(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    closing: boolean,
    path: string,
    replayable: boolean,
    outcome: AuthOutcome,
  ): void {
    if (outcome.ok) {
      const key = rateLimit === null ? null : rateLimitKey(outcome.caller, clientAddress(req));
      if (rateLimit === null || key === null) {
        pass(req, res, requestId, closing, path, replayable, outcome.caller);
        return;
      }
      const started = process.hrtime.bigint();
      rateLimit
        .then((limit) => (limit === null ? null : limit.take(key)))
        .then((refused) => {
          if (refused === null) {
            pass(req, res, requestId, closing, path, replayable, outcome.caller);
            return;
          }
          if (replayable) stamp(res, requestId, closing);
          const seconds = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
          sendEdgeError(
            req,
            res,
            429,
            graphQLErrorBody(
              `Too many requests: this caller may send ${refused.limit} in ${refused.windowS} s (RATE_LIMIT_REQUESTS). Retry in ${seconds} s.`,
              ErrorCode.RATE_LIMITED,
              true,
              { retryAfterSeconds: seconds },
            ),
            { 'retry-after': String(seconds) },
          );
          req.resume();
          if (logsAccess()) {
            // The key it was counted under: an anonymous caller's address (or IPv6 /56).
            accessLog(req, res, requestId, path, started, key);
          }
        })
        .catch((error: unknown) => drop(error, requestId, closing, res));
      return;
    }
    if (replayable) stamp(res, requestId, closing);
    metrics.authFailed(outcome.reason);
    log.info(
      { reqId: requestId, reason: outcome.reason, status: outcome.status },
      'request refused',
    );
    sendEdgeError(
      req,
      res,
      outcome.status,
      graphQLErrorBody(outcome.message, outcome.code, outcome.retryable),
      outcome.status === 401 && authenticator.challenge !== null
        ? { 'www-authenticate': authenticator.challenge }
        : undefined,
    );
    req.resume();
  }

  /** On to the caches and Yoga with an admitted caller. */
  function pass(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    closing: boolean,
    path: string,
    replayable: boolean,
    caller: CallerIdentity,
  ): void {
    try {
      throughCaches(req, res, requestId, closing, path, caller, replayable);
    } catch (error) {
      drop(error, requestId, closing, res);
    }
  }

  function drop(error: unknown, requestId: string, closing: boolean, res: ServerResponse): void {
    // Only reading the body or identifying the caller can fail here; Yoga handles its own. A
    // client that went away mid-upload is its own business (debug), not the operator's (warn).
    const reset = connectionResetCode(error);
    const gone = res.req.destroyed || res.req.aborted || reset !== undefined;
    if (gone) log.debug({ reqId: requestId, reason: reset }, 'client went away');
    else log.warn({ err: error, reqId: requestId }, 'request dropped before GraphQL');
    if (!res.headersSent) {
      if (!res.hasHeader('x-request-id')) stamp(res, requestId, closing);
      sendEdgeError(
        res.req,
        res,
        400,
        graphQLErrorBody('The request could not be read.', ErrorCode.BAD_USER_INPUT),
        { connection: 'close' },
      );
    } else {
      res.destroy();
    }
  }

  let closing: Promise<void> | null = null;
  return {
    yoga,
    tracedYoga: tracedServer,
    readiness,
    shared,
    responseCache,
    metrics,
    breaker,
    live,
    sseStreams,
    events,
    handle,
    get apiResponsesFinished() {
      return apiResponsesFinished;
    },
    startDraining() {
      draining = true;
      sseStreams.closeAll();
    },
    close() {
      closing ??= (async () => {
        sseStreams.closeAll();
        await events?.close();
        await live.close();
        await coordination.close();
        await shared?.close();
      })();
      return closing;
    },
  };
}
