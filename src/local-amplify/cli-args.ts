/**
 * Command-line parsing for `npm run local-amplify -- ...`, kept apart from cli.ts so it can be
 * tested without starting anything. All problems are reported at once.
 */
import { parseArgs } from 'node:util';
import { EVENT_STATUS_MODES, type EventStatusMode, parseEventHeader } from './events.js';
import { type FaultRule, parseFaultSpec } from './faults.js';
import type { LocalAmplifyOptions } from './index.js';
import type { Credentials } from './sigv4.js';

export const HELP_TEXT = `local Amplify: a wire-compatible emulator of the AWS Amplify Hosting API

Usage: npm run local-amplify -- [options]

Options:
  -p, --port <n>                Port to listen on (default 4566; 0 picks a free one)
      --host <addr>             Address to bind (default 127.0.0.1)
      --seed <n|text>           World seed; same seed, same world (default 1)
      --speed <x>               Virtual seconds per real second: 0 frozen, 1 real time,
                                60 a minute per second (default 1)
      --start-time <iso|ms|now> Virtual time at startup (default 2026-11-16T09:30:00.000Z)
      --region <region>         Region in ARNs and signatures (default us-east-1)
      --account-id <12 digits>  Account id in ARNs (default 123456789012)
      --require-signature       Verify SigV4 signatures (default: accept anything)
      --credentials <id:secret> Accepted credentials, repeatable; the first is printed
                                (default AKIALOCALAMPLIFY0001:local-amplify-secret-access-key)
      --fault <spec>            Fault rule, repeatable: <ops>:<kind>[:k=v,...]
                                ops: * or Op1,Op2; kinds: latency throttle internal
                                unavailable unauthorized accessDenied reset hang malformed
                                corrupt status;
                                keys: count ratio ms jitter retryAfter message for appId
                                branchName jobId artifactId; corrupt: variant (nullStep
                                msTimestamps isoTimestamps farFuture wrongTypes noJob
                                stepsNotList badEntries logUrl), url (last); status: code
                                body (html json empty text) errorType
                                e.g. 'GetJob:throttle:ratio=0.1'  '*:latency:ms=50,jitter=20'
                                'GetJob:corrupt:variant=nullStep'  '*:status:code=502,for=30s'
      --event-url <url>         POST EventBridge "Amplify Deployment Status Change" events
                                here as jobs change status (default: no events)
      --event-header <'name: value'>  Header for every event POST, repeatable
      --event-statuses <mode>   documented (STARTED SUCCEED FAILED, default) or all
      --event-scan-ms <n>       Real ms between scans for status changes (default 250)
      --concurrent-jobs-limit <n>  Concurrent jobs started through the API (default 5)
      --public-url <url>        Base URL to put in log/artifact URLs (default: the listen URL)
  -h, --help                    Show this help

Control API (not part of the Amplify API): GET /_local/health, GET /_local/stats,
POST /_local/stats/reset, GET|POST|DELETE /_local/faults, DELETE /_local/faults/<id>,
GET|POST /_local/clock {advanceMs, speed}, GET /_local/world, POST /_local/branches
{appId, branchName}, GET /_local/jobs?status=...,
GET /_local/events, POST|DELETE /_local/events/target {url, headers, statuses},
POST /_local/events/scan, POST /_local/events/reset
`;

export type CliParse =
  | { readonly ok: true; readonly help: boolean; readonly options: LocalAmplifyOptions }
  | { readonly ok: false; readonly problems: readonly string[] };

function number(name: string, raw: string | undefined, problems: string[]): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    problems.push(`--${name} must be a number, got "${raw}"`);
    return undefined;
  }
  return value;
}

export function parseCliArgs(argv: readonly string[]): CliParse {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
  const v = parsed.values;
  if (v.help === true) return { ok: true, help: true, options: {} };
  const problems: string[] = [];
  const faults: FaultRule[] = [];
  for (const spec of v.fault ?? []) {
    try {
      faults.push(parseFaultSpec(spec));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  const credentials: Credentials[] = [];
  for (const pair of v.credentials ?? []) {
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) {
      problems.push(`--credentials must be <accessKeyId>:<secretAccessKey>, got "${pair}"`);
    } else {
      credentials.push({
        accessKeyId: pair.slice(0, colon),
        secretAccessKey: pair.slice(colon + 1),
      });
    }
  }
  const eventHeaders: Record<string, string> = {};
  for (const text of v['event-header'] ?? []) {
    const header = parseEventHeader(text);
    if (header === undefined) problems.push(`--event-header must be 'name: value', got "${text}"`);
    else eventHeaders[header[0]] = header[1];
  }
  const eventUrl = v['event-url'];
  if (eventUrl === undefined && Object.keys(eventHeaders).length > 0) {
    problems.push('--event-header needs --event-url');
  }
  const eventStatuses = v['event-statuses'];
  if (
    eventStatuses !== undefined &&
    !(EVENT_STATUS_MODES as readonly string[]).includes(eventStatuses)
  ) {
    problems.push(
      `--event-statuses must be one of ${EVENT_STATUS_MODES.join(', ')}, got "${eventStatuses}"`,
    );
  }
  const eventScanMs = number('event-scan-ms', v['event-scan-ms'], problems);
  const startRaw = v['start-time'];
  const startTime =
    startRaw === undefined ? undefined : /^\d+$/.test(startRaw) ? Number(startRaw) : startRaw;
  const options: LocalAmplifyOptions = {
    port: number('port', v.port, problems) ?? 4566,
    host: v.host ?? '127.0.0.1',
    seed: v.seed ?? 1,
    speed: number('speed', v.speed, problems) ?? 1,
    ...(startTime === undefined ? {} : { startTime }),
    ...(v.region === undefined ? {} : { region: v.region }),
    ...(v['account-id'] === undefined ? {} : { accountId: v['account-id'] }),
    requireSignature: v['require-signature'] === true,
    ...(credentials.length === 0 ? {} : { credentials }),
    faults,
    ...(v['concurrent-jobs-limit'] === undefined
      ? {}
      : {
          concurrentJobsLimit:
            number('concurrent-jobs-limit', v['concurrent-jobs-limit'], problems) ?? 5,
        }),
    ...(v['public-url'] === undefined ? {} : { publicUrl: v['public-url'] }),
    ...(eventUrl === undefined
      ? {}
      : {
          eventTarget: {
            url: eventUrl,
            ...(Object.keys(eventHeaders).length === 0 ? {} : { headers: eventHeaders }),
          },
        }),
    ...(eventStatuses === undefined ? {} : { eventStatuses: eventStatuses as EventStatusMode }),
    ...(eventScanMs === undefined ? {} : { eventScanIntervalMs: eventScanMs }),
  };
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, help: false, options };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      seed: { type: 'string' },
      speed: { type: 'string' },
      'start-time': { type: 'string' },
      region: { type: 'string' },
      'account-id': { type: 'string' },
      'require-signature': { type: 'boolean' },
      credentials: { type: 'string', multiple: true },
      fault: { type: 'string', multiple: true },
      'concurrent-jobs-limit': { type: 'string' },
      'public-url': { type: 'string' },
      'event-url': { type: 'string' },
      'event-header': { type: 'string', multiple: true },
      'event-statuses': { type: 'string' },
      'event-scan-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
