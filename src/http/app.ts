/**
 * The gateway as a node:http request handler: the cheap routes an orchestrator polls (/health,
 * /ready), the checks that must happen before any GraphQL work (body size, router secret), the
 * caller's identity, the immutable-response fast path, an access log line, then Yoga for
 * /graphql. Listening is server.ts's job, so tests can drive `yoga.fetch` without a socket.
 *
 * This is also where the app is composed: Redis (createSharedStateFor), the upstream wrappers in
 * their order (composeUpstream in src/upstream/compose.ts: SDK client -> single-flight -> cache),
 * the fast path and Yoga with its HTTP caching plugin.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createMemoryCoordination, type LiveCoordination } from '../live/coordination.js';
import { createLiveJobs, type LiveJobs } from '../live/live-jobs.js';
import { createRedisCoordination } from '../live/redis-coordination.js';
import { CursorCodec } from '../schema/cursors.js';
import type { SharedState } from '../shared-state/redis.js';
import {
  composeUpstreams,
  createSharedStateFor,
  type UpstreamStackEvent,
} from '../upstream/compose.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import {
  type AmplifyEventReceiver,
  createAmplifyEventReceiver,
  EVENTS_PATH,
} from './amplify-events.js';
import { DEFAULT_EXAMPLE, type GraphiQLExample, type GraphiQLRenderer } from './graphiql.js';
import { createHttpCaching } from './http-caching.js';
import { createReadiness, type Readiness } from './readiness.js';
import {
  ANONYMOUS_CALLER,
  type CallerKey,
  createResponseCache,
  type IdentifyCaller,
  type ResponseCache,
  type ResponseCacheEvent,
  readBody,
  sendStored,
  TRACE_HEADER,
} from './response-cache.js';
import { createSseStreams, type SseStreams } from './sse.js';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from './yoga.js';

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
   * Who is asking, for the fast path and Cache-Control, run for every /graphql request after the
   * body-size and router-secret checks. Default: everyone is {@link ANONYMOUS_CALLER} (the
   * router secret is today's only credential and it does not change what a caller may see). An
   * authentication step plugs in here: it must answer each caller's own `principal`, and
   * `authenticated: true` for answers that depend on who asked; `null` keeps a request out of
   * every cache.
   */
  identify?: IdentifyCaller;
  /** Told about cache hits, misses and Redis availability (for metrics). */
  onCacheEvent?: CacheEventListener;
  /**
   * How live-status replicas share poll claims and fan out changes. Default: through Redis when
   * REDIS_URL is set, else in memory (one process). The app owns it: `close()` closes it.
   */
  coordination?: LiveCoordination;
}

export interface GatewayApp {
  yoga: GraphQLServer;
  readiness: Readiness;
  /** Redis shared by replicas (REDIS_URL), or `null`. */
  shared: SharedState | null;
  /** The fast path's answers, or `null` when RESPONSE_CACHE_MAX_BYTES=0. */
  responseCache: ResponseCache | null;
  /** Live job subscriptions and their pollers. */
  live: LiveJobs;
  /** Open SSE streams. */
  sseStreams: SseStreams;
  /** POST /events/amplify, when AMPLIFY_EVENTS_SECRET is set. */
  events: AmplifyEventReceiver | null;
  /** The node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
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

export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { config, log, onCacheEvent } = options;
  if (config.graphiql && options.renderGraphiQL === undefined) {
    throw new Error('GRAPHIQL is on: pass renderGraphiQL (see loadGraphiQLRenderer)');
  }
  const shared = createSharedStateFor(config, log, onCacheEvent);
  const { cached: upstream, fresh } = composeUpstreams(
    config,
    options.upstream,
    shared,
    log,
    onCacheEvent,
  );
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
  });
  const events =
    config.amplifyEvents === null
      ? null
      : createAmplifyEventReceiver({
          secret: config.amplifyEvents.secret,
          live,
          claims: coordination.claims,
          maxBodyBytes: config.maxBodyBytes,
          log: liveLog,
        });
  const sseStreams = createSseStreams();
  const readiness = createReadiness(upstream, config.readinessProbe);
  const responseCache =
    config.responseCache === null ? null : createResponseCache(config.responseCache);
  const identify: IdentifyCaller = options.identify ?? (() => ANONYMOUS_CALLER);
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
      cursors: new CursorCodec(config.cursorSecret),
      live,
      controlMutations: config.controlMutations,
    },
    log,
    renderGraphiQL: options.renderGraphiQL,
    example: options.example ?? DEFAULT_EXAMPLE,
    sseStreams,
    httpCaching: createHttpCaching({
      maxAgeS: config.cacheControlMaxAgeS,
      responseCache,
      onEvent: onCacheEvent,
    }),
  });
  let draining = false;

  // One line per request. Its fields are fixed and never hold a secret (the path has no query
  // string, the request id is checked against REQUEST_ID), so it skips the logger's redaction,
  // which costs more than the rest of a fast-path answer (~5 µs a line).
  const access = log.child({}, { redact: [] });
  const accessLog = (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
    started: bigint,
    cache?: 'hit',
  ) => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const fields = { reqId: requestId, method: req.method, path, status: res.statusCode, ms };
    access.info(cache === undefined ? fields : { ...fields, cache }, 'request');
  };

  /** Hands the request to Yoga; `body` when the edge has already read it. */
  function toYoga(
    req: IncomingMessage,
    res: ServerResponse,
    context: ServerContext,
    path: string,
    body: Buffer | null,
  ): void {
    if (log.isLevelEnabled('info')) {
      const started = process.hrtime.bigint();
      res.once('finish', () => accessLog(req, res, context.requestId, path, started));
    }
    // Yoga's Node adapter takes an already-read body from `req.body`, as it does behind body
    // parsers; the stream itself has been consumed.
    if (body !== null) Object.assign(req, { body });
    void yoga(req, res, context);
  }

  /**
   * Identifies the caller, then answers from the fast path when the same caller asked the same
   * thing before and the answer was immutable; otherwise on to Yoga, with the key under which
   * the HTTP caching plugin may store this answer.
   */
  async function throughCaches(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const identified = identify(req);
    // The default is synchronous: no need to wait a turn for it.
    const caller: CallerKey | null = identified instanceof Promise ? await identified : identified;
    const context = (): ServerContext => ({
      requestId,
      log: log.child({ reqId: requestId }),
      ...(caller === null ? {} : { caller }),
      clientAddress: req.socket.remoteAddress,
    });
    const eligible =
      responseCache !== null &&
      caller !== null &&
      (req.method === 'GET' || req.method === 'POST') &&
      req.headers[TRACE_HEADER] === undefined;
    if (!eligible) {
      toYoga(req, res, context(), path, null);
      return;
    }
    const body = req.method === 'POST' ? await readBody(req, config.maxBodyBytes) : null;
    const key = responseCache.keyOf(req, body, caller);
    const stored = responseCache.get(key);
    if (stored !== undefined) {
      sendStored(req, res, stored);
      onCacheEvent?.({ cache: 'response', outcome: 'hit' });
      if (log.isLevelEnabled('info')) accessLog(req, res, requestId, path, started, 'hit');
      return;
    }
    onCacheEvent?.({ cache: 'response', outcome: 'miss' });
    toYoga(req, res, { ...context(), responseCacheKey: key }, path, body);
  }

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
    if (path === EVENTS_PATH && events !== null) {
      // Not GraphQL: its own secret (EventBridge's connection), not the router's or a caller's.
      events.handle(req, res);
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

    throughCaches(req, res, requestId, path ?? '/').catch((error: unknown) => {
      // Only reading the body or identifying the caller can fail here; Yoga handles its own.
      log.warn({ err: error, reqId: requestId }, 'request dropped before GraphQL');
      if (!res.headersSent) {
        sendJson(
          res,
          400,
          graphQLErrorBody('The request could not be read.', ErrorCode.BAD_USER_INPUT),
          { connection: 'close' },
        );
      } else {
        res.destroy();
      }
    });
  }

  let closing: Promise<void> | null = null;
  return {
    yoga,
    readiness,
    shared,
    responseCache,
    live,
    sseStreams,
    events,
    handle,
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
