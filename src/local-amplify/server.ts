/**
 * The request listener: routes /_local/ (control), /_files/ (downloads) and the Amplify REST API,
 * and applies, in order, injected faults (latency first), the optional SigV4 check, and the
 * operation. It does not listen: index.ts owns the socket.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { VirtualClock } from './clock.js';
import { handleControl } from './control.js';
import { corruptBody, type Json } from './corrupt.js';
import { AmplifyError, type AmplifyErrorType, badRequest } from './errors.js';
import type { EventPublisher } from './events.js';
import type { FaultEngine, FaultKind, FaultRule, TerminalFaultKind } from './faults.js';
import { expiredPresignedUrl, serveFile, withRange } from './files.js';
import { OPERATIONS } from './operations.js';
import { type Labels, matchRoute, type OperationName, parseQuery } from './router.js';
import type { SigV4Verifier } from './sigv4.js';
import { type StatsRecorder, UNKNOWN_OPERATION } from './stats.js';
import type { World } from './world.js';

/** Requests bodies beyond this are refused; Amplify's largest input (commitMessage) is ~10 KB. */
const MAX_BODY_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export interface ServerState {
  readonly world: World;
  readonly clock: VirtualClock;
  readonly faults: FaultEngine;
  readonly stats: StatsRecorder;
  /** undefined: signatures are not checked. */
  verifier: SigV4Verifier | undefined;
  readonly url: () => string;
  readonly events: EventPublisher;
}

/** Operations after whose success job statuses may have changed, so events are looked for. */
const CHANGES_JOBS: ReadonlySet<OperationName> = new Set([
  'StartJob',
  'StopJob',
  'StartDeployment',
]);

export interface RequestListener {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Ends held (hanging) responses and pending latency timers, so the server can close. */
  shutdown(): void;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: Buffer,
  requestId: string,
  extra?: Readonly<Record<string, string>>,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    'x-amzn-RequestId': requestId,
    ...extra,
  });
  res.end(body);
}

function sendError(res: ServerResponse, requestId: string, error: AmplifyError): void {
  sendJson(res, error.status, Buffer.from(JSON.stringify({ message: error.message })), requestId, {
    'x-amzn-ErrorType': error.errorType,
    ...error.headers,
  });
}

/** Collects the body; calls back at once when the request declares none (GET/DELETE from the SDK). */
function withBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) {
    done(EMPTY);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('end', () => done(tooLarge ? undefined : Buffer.concat(chunks, size)));
  req.on('error', () => done(undefined));
}

const FAULT_ERRORS: Readonly<
  Partial<Record<TerminalFaultKind, { type: AmplifyErrorType; message: string }>>
> = {
  throttle: { type: 'LimitExceededException', message: 'Rate exceeded' },
  internal: {
    type: 'InternalFailureException',
    message: 'The service failed to perform an operation due to an internal issue.',
  },
  unavailable: {
    type: 'DependentServiceFailureException',
    message: 'An operation failed because a dependent service threw an exception.',
  },
  unauthorized: {
    type: 'UnauthorizedException',
    message: 'Unauthorized: the request lacks access.',
  },
};

/**
 * The `status` fault's response: any status 200..599 with the chosen body shape. HTML and text
 * bodies look like a proxy's own page, so they carry no Amplify headers; JSON and empty bodies
 * carry `x-amzn-RequestId`. 3xx answers point `Location` back at the request's own URL, and 204 and
 * 304 never have a body. `errorType` and `retryAfterSeconds` add their headers to any shape.
 */
function sendStatusFault(
  res: ServerResponse,
  requestId: string,
  rule: FaultRule,
  selfUrl: string,
): void {
  if (res.headersSent || res.destroyed) return;
  const code = rule.statusCode ?? 502;
  const reason = STATUS_CODES[code] ?? 'Unknown';
  const bodiless = code === 204 || code === 304;
  const shape = bodiless ? 'empty' : (rule.body ?? 'html');
  const text = rule.message ?? `${code} ${reason}`;
  let contentType = 'application/json';
  let payload = '';
  if (shape === 'html') {
    contentType = 'text/html';
    payload = `<html>\r\n<head><title>${text}</title></head>\r\n<body>\r\n<center><h1>${text}</h1></center>\r\n<hr><center>awselb/2.0</center>\r\n</body>\r\n</html>\r\n`;
  } else if (shape === 'text') {
    contentType = 'text/plain; charset=utf-8';
    payload = `${text}\n`;
  } else if (shape === 'json') {
    payload = JSON.stringify({ message: rule.message ?? reason });
  }
  const headers: Record<string, string | number> = {};
  if (!bodiless) {
    headers['Content-Type'] = contentType;
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  if (shape === 'json' || shape === 'empty') headers['x-amzn-RequestId'] = requestId;
  if (rule.errorType !== undefined) headers['x-amzn-ErrorType'] = rule.errorType;
  if (rule.retryAfterSeconds !== undefined) headers['Retry-After'] = String(rule.retryAfterSeconds);
  if (code >= 300 && code < 400) headers.Location = selfUrl;
  res.writeHead(code, headers);
  res.end(bodiless ? undefined : payload);
}

export function createRequestListener(state: ServerState): RequestListener {
  const hung = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  function faultError(
    kind: TerminalFaultKind,
    rule: FaultRule,
    operation: OperationName,
  ): AmplifyError {
    if (kind === 'accessDenied') {
      const { region, accountId } = state.world.config;
      return new AmplifyError(
        'AccessDeniedException',
        rule.message ??
          `User: arn:aws:iam::${accountId}:user/local-amplify is not authorized to perform: amplify:${operation} on resource: arn:aws:amplify:${region}:${accountId}:apps/* with an explicit deny`,
      );
    }
    const known = FAULT_ERRORS[kind] ?? FAULT_ERRORS.internal!;
    const headers: Record<string, string> =
      kind === 'throttle' && rule.retryAfterSeconds !== undefined
        ? { 'Retry-After': String(rule.retryAfterSeconds) }
        : {};
    return new AmplifyError(known.type, rule.message ?? known.message, { headers });
  }

  function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    url: string,
    path: string,
    queryStart: number,
  ): void {
    const method = req.method ?? 'GET';
    const route = matchRoute(method, path);
    const operation = route.kind === 'operation' ? route.operation : undefined;
    const labels: Labels = route.kind === 'operation' ? route.labels : {};
    const started = performance.now();
    const at = new Date().toISOString();
    let errorType: string | undefined;
    let fault: FaultKind | undefined;
    state.stats.begin(operation ?? UNKNOWN_OPERATION);
    res.once('close', () => {
      const headers = req.headers;
      state.stats.finish({
        at,
        requestId,
        method,
        url,
        operation: operation ?? UNKNOWN_OPERATION,
        labels,
        status: res.headersSent ? res.statusCode : 0,
        ...(errorType === undefined ? {} : { errorType }),
        ...(fault === undefined ? {} : { fault }),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        headers: {
          ...(typeof headers['amz-sdk-request'] === 'string'
            ? { amzSdkRequest: headers['amz-sdk-request'] }
            : {}),
          ...(typeof headers['amz-sdk-invocation-id'] === 'string'
            ? { amzSdkInvocationId: headers['amz-sdk-invocation-id'] }
            : {}),
          ...(headers['user-agent'] === undefined ? {} : { userAgent: headers['user-agent'] }),
          hasAuthorization: headers.authorization !== undefined,
          hasSessionToken: headers['x-amz-security-token'] !== undefined,
        },
      });
    });
    const fail = (error: AmplifyError): void => {
      errorType = error.errorType;
      sendError(res, requestId, error);
    };

    withBody(req, (body) => {
      if (body === undefined) {
        fail(badRequest('The request body is too large or could not be read'));
        return;
      }
      const decision = operation === undefined ? undefined : state.faults.decide(operation, labels);
      const proceed = (): void => {
        if (res.destroyed || res.headersSent) return;
        const terminal = decision?.terminal;
        // corrupt: answer for real, then damage the 200 body before it is sent.
        let corruptWith: FaultRule | undefined;
        if (terminal !== undefined && operation !== undefined) {
          fault = terminal.kind;
          switch (terminal.kind) {
            case 'reset':
              // No response at all: the client sees ECONNRESET / "socket hang up".
              req.socket.destroy();
              return;
            case 'hang':
              // Hold the request until the client gives up or the server shuts down.
              hung.add(res);
              res.once('close', () => hung.delete(res));
              return;
            case 'malformed': {
              const text =
                terminal.rule.message ?? '<html><body><h1>502 Bad Gateway</h1></body></html>';
              if (!res.headersSent) {
                res.writeHead(200, {
                  'Content-Type': 'application/json',
                  'Content-Length': Buffer.byteLength(text),
                  'x-amzn-RequestId': requestId,
                });
                res.end(text);
              }
              return;
            }
            case 'status':
              sendStatusFault(res, requestId, terminal.rule, `${state.url()}${url}`);
              return;
            case 'corrupt':
              corruptWith = terminal.rule;
              break;
            default:
              fail(faultError(terminal.kind, terminal.rule, operation));
              return;
          }
        } else if (decision?.delayMs !== undefined && decision.delayMs > 0) {
          fault = 'latency';
        }
        if (state.verifier !== undefined) {
          const verdict = state.verifier.verify({ method, url, headers: req.headers, body });
          if (!verdict.ok) {
            fail(new AmplifyError(verdict.errorType, verdict.message));
            return;
          }
        }
        if (route.kind === 'unknown') {
          fail(
            new AmplifyError(
              'UnknownOperationException',
              `No Amplify operation matches ${method} ${path}`,
            ),
          );
          return;
        }
        if (route.kind === 'bad-encoding') {
          fail(badRequest('A path segment is not valid percent-encoded UTF-8'));
          return;
        }
        if (route.kind === 'method-not-allowed') {
          fail(
            new AmplifyError(
              'UnknownOperationException',
              `No Amplify operation matches ${method} ${path} (allowed: ${route.allow.join(', ')})`,
              { status: 405, headers: { Allow: route.allow.join(', ') } },
            ),
          );
          return;
        }
        const query = parseQuery(queryStart < 0 ? '' : url.slice(queryStart + 1));
        if (query === undefined) {
          fail(badRequest('The query string is not valid percent-encoded UTF-8'));
          return;
        }
        try {
          const result = OPERATIONS[route.operation]({
            world: state.world,
            labels,
            query,
            body,
            now: state.clock.nowMs(),
          });
          let payload = Buffer.isBuffer(result) ? result : Buffer.from(JSON.stringify(result));
          if (corruptWith?.variant !== undefined) {
            const damaged = corruptBody(
              corruptWith.variant,
              route.operation,
              JSON.parse(payload.toString('utf8')) as Json,
              corruptWith.url,
            );
            payload = Buffer.from(JSON.stringify(damaged));
          }
          sendJson(res, 200, payload, requestId);
          // After the answer is written: a scan is cheap and only queues events.
          if (CHANGES_JOBS.has(route.operation)) state.events.scan();
        } catch (error) {
          if (error instanceof AmplifyError) fail(error);
          else {
            fail(
              new AmplifyError(
                'InternalFailureException',
                `local Amplify bug: ${error instanceof Error ? error.message : String(error)}`,
                { cause: error },
              ),
            );
          }
        }
      };
      if (decision !== undefined && decision.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          proceed();
        }, decision.delayMs);
        timers.add(timer);
      } else proceed();
    });
  }

  function handleLocal(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    url: string,
    path: string,
    queryStart: number,
  ): void {
    withBody(req, (body) => {
      const query = parseQuery(queryStart < 0 ? '' : url.slice(queryStart + 1)) ?? new Map();
      const response = handleControl(
        {
          world: state.world,
          clock: state.clock,
          faults: state.faults,
          stats: state.stats,
          events: state.events,
          url: state.url,
          signaturesRequired: () => state.verifier !== undefined,
        },
        req.method ?? 'GET',
        path,
        query,
        body ?? EMPTY,
      );
      sendJson(res, response.status, Buffer.from(JSON.stringify(response.body)), requestId);
    });
  }

  function handleFiles(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
    query: string,
  ): void {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'x-amzn-RequestId': requestId });
      res.end();
      return;
    }
    const now = state.clock.nowMs();
    const file = withRange(
      expiredPresignedUrl(query, now) ??
        serveFile(state.world, now, path.slice('/_files/'.length).split('/')),
      req.headers.range,
    );
    res.writeHead(file.status, {
      'Content-Type': file.contentType,
      'Content-Length': file.body.length,
      ...file.headers,
      'x-amzn-RequestId': requestId,
    });
    // A client that stops reading early just closes its socket; Node drops the rest of the body.
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  const listener = ((req: IncomingMessage, res: ServerResponse): void => {
    const requestId = randomUUID();
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    if (path.startsWith('/_local/')) handleLocal(req, res, requestId, url, path, queryStart);
    else if (path.startsWith('/_files/')) {
      handleFiles(req, res, requestId, path, queryStart < 0 ? '' : url.slice(queryStart + 1));
    } else handleApi(req, res, requestId, url, path, queryStart);
  }) as RequestListener;

  listener.shutdown = () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const res of hung) res.socket?.destroy();
    hung.clear();
  };
  return listener;
}
