import { type Logger, pino } from 'pino';
import type { LogLevel } from '../config.js';
import type { WireProblem } from '../upstream/wire-check.js';

/** Structured JSON logs on stdout. Credentials and secrets never reach them. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'amplify-jobs-graphql' },
    redact: {
      paths: [
        'headers.authorization',
        'headers["x-router-secret"]',
        'headers.cookie',
        'credentials',
        '*.secretAccessKey',
        '*.sessionToken',
      ],
      censor: '[redacted]',
    },
  });
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
