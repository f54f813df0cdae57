import { type DestinationStream, type Logger, pino } from 'pino';
import type { AccessLogMode, LogLevel } from '../config.js';
import type { WireProblem } from '../upstream/wire-check.js';

/** Request headers that carry a credential: API keys, tokens, the router and events secrets. */
const SECRET_HEADERS = [
  'authorization',
  'cookie',
  '["x-api-key"]',
  '["x-router-secret"]',
  '["x-amplify-events-secret"]',
];

/**
 * Where a secret could sit in a logged object: request headers (at the top or one level down, as
 * `req.headers`), AWS credentials, and the configuration's secrets (the metrics bearer token, the
 * router, cursor and events secrets, a Redis URL with its password). Values are replaced, the keys
 * stay, so a line still says that a header was sent.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((name) => {
    const path = name.startsWith('[') ? `headers${name}` : `headers.${name}`;
    return [path, `*.${path}`];
  }),
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  '*.sessionToken',
  'metricsToken',
  '*.metricsToken',
  'metrics.token',
  '*.metrics.token',
  'routerSecret',
  '*.routerSecret',
  'cursorSecret',
  '*.cursorSecret',
  'routerSecretFallback',
  '*.routerSecretFallback',
  'cursorSecretFallback',
  '*.cursorSecretFallback',
  'amplifyEvents.secret',
  '*.amplifyEvents.secret',
  'redis.url',
  '*.redis.url',
  'password',
  '*.password',
];

/** Longest a gathered log line waits for its write (LOG_BUFFER_BYTES), in milliseconds. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;

/**
 * Where the logs go (standard output unless `dest`, a file descriptor or path, says otherwise).
 * With `bufferBytes` > 0, lines are gathered until that many bytes (or
 * {@link LOG_FLUSH_INTERVAL_MS}) before one write: at thousands of requests a second, one `write`
 * per line or two is a tenth of a cached answer's CPU. Writes are synchronous, pino's default:
 * an asynchronous `fs.write` goes through libuv's thread pool, whose hand-off cost about 5% of a
 * cached answer when the process has one CPU, and a log reader that stops reading would make its
 * pending lines grow in memory without bound; a synchronous write makes the gateway wait for it
 * instead. What is left is written when the process exits (an uncaught error included; not on
 * SIGKILL); `logger.flush()` writes it at once.
 */
export function logDestination(bufferBytes: number, dest: number | string = 1): DestinationStream {
  const stream = pino.destination({
    dest,
    sync: true,
    minLength: bufferBytes,
    // sonic-boom refuses a buffer that is not smaller than one write (16 KB by default).
    maxWrite: Math.max(16 * 1024, 2 * bufferBytes),
    ...(bufferBytes > 0 ? { periodicFlush: LOG_FLUSH_INTERVAL_MS } : {}),
  });
  // pino flushes only its asynchronous destinations at exit; a synchronous one that gathers lines
  // needs the same.
  if (bufferBytes > 0) {
    process.once('exit', () => {
      try {
        stream.flushSync();
      } catch {
        // Closed or broken standard output: nowhere left to write them.
      }
    });
  }
  return stream;
}

/**
 * Whether ACCESS_LOG wants the access-log line of an answer with this HTTP status: every answer
 * (`all`), answers of 400 or more (`errors`), or none (`off`). The gateway and the bench's
 * Mercurius+JIT target both follow it.
 */
export function wantsAccessLine(mode: AccessLogMode, status: number): boolean {
  return mode === 'all' || (mode === 'errors' && status >= 400);
}

/**
 * Structured JSON logs, on stdout unless `destination` is given. Credentials and secrets never
 * reach them: {@link REDACTED_PATHS} are censored, and errors from Redis are logged without the
 * arguments of their command (see src/shared-state/redis.ts).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'amplify-jobs-graphql' },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * Logs each raw value outside a known enum once per process: enough to notice that AWS added a
 * value, without one log line per request.
 */
export function unknownValueLogger(log: Logger): (enumName: string, value: string) => void {
  const seen = new Set<string>();
  return (enumName, value) => {
    const id = `${enumName}:${value}`;
    if (seen.has(id) || seen.size > 1000) return;
    seen.add(id);
    log.warn(
      { enum: enumName, value },
      'Amplify sent a value this gateway does not know; it reads as UNKNOWN',
    );
  };
}

/**
 * Logs each kind of malformed Amplify answer once per process (operation, member path with list
 * indexes dropped, kind of problem), with the first raw value and what was asked: enough to see
 * that Amplify (or something in between) sends something odd, without a line per request.
 */
export function wireProblemLogger(log: Logger): (problem: WireProblem) => void {
  const seen = new Set<string>();
  return (problem) => {
    const id = `${problem.operation} ${problem.path.replace(/\[\d+\]/g, '[]')} ${problem.kind}`;
    if (seen.has(id) || seen.size > 1000) return;
    seen.add(id);
    log.warn(
      {
        operation: problem.operation,
        subject: problem.subject,
        path: problem.path,
        kind: problem.kind,
        value: problem.value,
      },
      `Amplify's answer has a malformed member: ${problem.problem}`,
    );
  };
}
