import { type Logger, pino } from 'pino';
import type { LogLevel } from '../config.js';

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
 * Logs each kind of list entry the gateway had to skip (an entry of ListApps, ListBranches or
 * ListJobs it cannot key) once per process: enough to notice that Amplify sends such entries.
 */
export function skippedEntryLogger(log: Logger): (list: string, reason: string) => void {
  const seen = new Set<string>();
  return (list, reason) => {
    const id = `${list}:${reason}`;
    if (seen.has(id) || seen.size > 1000) return;
    seen.add(id);
    log.warn({ list, reason }, 'Amplify sent a list entry the gateway cannot use; it was skipped');
  };
}
