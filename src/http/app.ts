/**
 * The gateway as a node:http request handler: the cheap routes an orchestrator polls (/health,
 * /ready), the checks that must happen before any GraphQL work (body size, router secret), an
 * access log line, then Yoga for /graphql. Listening is server.ts's job, so tests can drive
 * `yoga.fetch` without a socket.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createMemoryCoordination, type LiveCoordination } from '../live/coordination.js';
import { createLiveJobs, type LiveJobs } from '../live/live-jobs.js';
import { CursorCodec } from '../schema/cursors.js';
import { withSingleFlight } from '../upstream/single-flight.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import {
  type AmplifyEventReceiver,
  createAmplifyEventReceiver,
  EVENTS_PATH,
} from './amplify-events.js';
import { DEFAULT_EXAMPLE, type GraphiQLExample, type GraphiQLRenderer } from './graphiql.js';
import { createReadiness, type Readiness } from './readiness.js';
import { createSseStreams, type SseStreams } from './sse.js';
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
   * How live-status replicas share poll claims and fan out changes: in memory (one process) by
   * default. The app owns it: `close()` closes it.
   */
  coordination?: LiveCoordination;
}

export interface GatewayApp {
  yoga: GraphQLServer;
  readiness: Readiness;
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
  /** Stops the live pollers and waits for background reads; call after the server closed. */
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
  const { config, log } = options;
  // Concurrent requests for one job share one GetJob (see single-flight.ts).
  const fresh = withSingleFlight(options.upstream);
  // What requests and live polls read through (the cache will wrap `fresh` here).
  const upstream = fresh;
  if (config.graphiql && options.renderGraphiQL === undefined) {
    throw new Error('GRAPHIQL is on: pass renderGraphiQL (see loadGraphiQLRenderer)');
  }
  const liveLog = log.child({ component: 'live' });
  const coordination =
    options.coordination ??
    createMemoryCoordination((error) => liveLog.error({ err: error }, 'live listener failed'));
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
      live,
      controlMutations: config.controlMutations,
      cursors: new CursorCodec(config.cursorSecret),
    },
    log,
    renderGraphiQL: options.renderGraphiQL,
    example: options.example ?? DEFAULT_EXAMPLE,
    sseStreams,
  });
  let draining = false;

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
    void yoga(req, res, {
      requestId,
      log: requestLog,
      clientAddress: req.socket.remoteAddress,
    });
  }

  let closing: Promise<void> | null = null;
  return {
    yoga,
    readiness,
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
      })();
      return closing;
    },
  };
}
