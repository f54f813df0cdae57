/**
 * The local Amplify: a wire-compatible emulator of the AWS Amplify Hosting REST API for tests and
 * demos, reached by the real AWS SDK over HTTP. `startLocalAmplify()` listens and returns a handle
 * to steer it (clock, faults) and observe it (stats, world).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from './clock.js';
import {
  EVENT_DEFAULTS,
  EVENT_STATUS_MODES,
  type EventDeliveryOptions,
  EventPublisher,
  type EventRecord,
  type EventStatusMode,
  type EventsSnapshot,
  type EventTarget,
  eventTargetProblems,
  type ResolvedEventOptions,
} from './events.js';
import { FaultEngine, type FaultRule, type FaultRuleState } from './faults.js';
import type { QuirkKind } from './model.js';
import { createRequestListener } from './server.js';
import { type Credentials, SigV4Verifier } from './sigv4.js';
import { type RequestRecord, StatsRecorder, type StatsSnapshot } from './stats.js';
import type { JobSummaryWire, JobWire } from './wire-types.js';
import { type JobKeyFilter, type JobKeyInfo, World } from './world.js';

export type { CorruptVariant } from './corrupt.js';
export { CORRUPT_OPERATIONS, CORRUPT_VARIANTS } from './corrupt.js';
export type {
  AmplifyEvent,
  DeliveryState,
  EventDeliveryOptions,
  EventRecord,
  EventStatusMode,
  EventsSnapshot,
  EventTarget,
} from './events.js';
export {
  DOCUMENTED_JOB_STATUSES,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  EVENT_STATUS_MODES,
} from './events.js';
export type { FaultKind, FaultRule, FaultRuleState, StatusBody } from './faults.js';
export { FAULT_KINDS, parseFaultSpec, STATUS_BODIES } from './faults.js';
export type { JobStatus, JobType, QuirkKind } from './model.js';
export { JOB_STATUSES, JOB_TYPES } from './model.js';
export { PAGE_SIZE } from './operations.js';
export type { Labels, OperationName } from './router.js';
export { OPERATION_NAMES } from './router.js';
export type { Credentials } from './sigv4.js';
export type { RequestRecord, StatsSnapshot } from './stats.js';
export type { AppWire, BranchWire, JobSummaryWire, JobWire, StepWire } from './wire-types.js';
export type { JobKeyFilter, JobKeyInfo } from './world.js';
export { CANCEL_DELAY_MS } from './world.js';

/** The virtual start time when none is given: fixed, so a seed alone decides the whole world. */
export const DEFAULT_START_TIME = '2026-11-16T09:30:00.000Z';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '123456789012';
/** Used by clientConfig()/env() when no credentials are configured. */
export const DEFAULT_CREDENTIALS: Credentials = Object.freeze({
  accessKeyId: 'AKIALOCALAMPLIFY0001',
  secretAccessKey: 'local-amplify-secret-access-key',
});

export interface LocalAmplifyOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Same seed (and start time) -> byte-identical world. Default 1. */
  seed?: number | string;
  /** Virtual seconds per real second: 0 frozen, 1 (default) real time, 60 a minute per second. */
  speed?: number;
  /** Virtual time at startup: epoch ms, Date, ISO string or 'now'. Default DEFAULT_START_TIME. */
  startTime?: number | Date | string;
  /** Default us-east-1; used in ARNs and required in SigV4 credential scopes. */
  region?: string;
  /** 12 digits, used in ARNs. Default 123456789012. */
  accountId?: string;
  /** Fault rules active from the start, evaluated in order. */
  faults?: readonly FaultRule[];
  /** Accepted credentials; the first one is what clientConfig()/env() hand out. */
  credentials?: readonly Credentials[];
  /** Verify SigV4 signatures against `credentials`. Default false: anything is accepted. */
  requireSignature?: boolean;
  /** Concurrent non-terminal jobs started through the API, account-wide. Default 5. */
  concurrentJobsLimit?: number;
  /** How many finished requests stats.lastRequests() keeps. Default 200. */
  lastRequestsLimit?: number;
  /** Base of the file URLs in responses, when clients reach the emulator by another address. */
  publicUrl?: string;
  /**
   * POST an EventBridge "Amplify Deployment Status Change" event here whenever a job's status
   * changes (see docs/local-amplify.md, "EventBridge events"). Default: no target, no events.
   */
  eventTarget?: EventTarget;
  /** `documented` (default): STARTED, SUCCEED, FAILED. `all`: every status change too. */
  eventStatuses?: EventStatusMode;
  /** Real milliseconds between background scans while a target is set. Default 250, min 10. */
  eventScanIntervalMs?: number;
  /** Timeout, retries, queue and history limits of event delivery. */
  eventDelivery?: EventDeliveryOptions;
}

export interface LocalAmplifyClock {
  now(): Date;
  nowMs(): number;
  /** Moves virtual time forward (jobs progress accordingly). */
  advance(ms: number): void;
  setSpeed(speed: number): void;
  readonly speed: number;
}

export interface LocalAmplifyFaults {
  /** Validates and appends a rule; returns its id. */
  add(rule: FaultRule): string;
  remove(id: string): boolean;
  clear(): void;
  list(): FaultRuleState[];
}

export interface LocalAmplifyStats {
  /** Amplify API calls received (all operations, or one), faulted ones and retries included. */
  calls(operation?: string): number;
  snapshot(): StatsSnapshot;
  reset(): void;
  readonly inFlight: number;
  readonly inFlightHighWater: number;
  /** The last `n` finished requests, oldest first. */
  lastRequests(n?: number): RequestRecord[];
}

/** EventBridge event delivery: the target, the counters and the events themselves. */
export interface LocalAmplifyEvents {
  /** The current target, or undefined (no scan runs and no event is made then). */
  readonly target: EventTarget | undefined;
  readonly statuses: EventStatusMode;
  /** Sets or replaces the target; throws TypeError on a bad URL or header. */
  setTarget(target: EventTarget): void;
  /** Stops scanning; queued events are dropped, an attempt in flight is aborted. */
  clearTarget(): void;
  setStatuses(mode: EventStatusMode): void;
  /** Looks for status changes now; returns how many events it queued. */
  scan(): number;
  /** Events delivered with a 2xx answer. */
  sent(): number;
  /** Events given up on (a 4xx other than 429, or every attempt failed). */
  failed(): number;
  /** Events not sent: the queue was full, or the target was cleared or the emulator closed. */
  dropped(): number;
  /** Events queued or being delivered. */
  pending(): number;
  /** The newest `n` events with their delivery state, oldest first. */
  last(n?: number): EventRecord[];
  snapshot(): EventsSnapshot;
  /** Resolves once nothing is queued or being delivered. */
  idle(): Promise<void>;
  /** Zeroes the counters and forgets the history. */
  reset(): void;
}

export interface WorldAppInfo {
  appId: string;
  name: string;
  platform: string;
  quirks: boolean;
  branches: { branchName: string; stage: string; displayName: string; jobs: number }[];
}

export interface QuirkJobKey {
  kind: QuirkKind;
  appId: string;
  branchName: string;
  jobId: string;
}

export interface LocalAmplifyWorld {
  readonly seed: string;
  readonly region: string;
  readonly accountId: string;
  apps(): WorldAppInfo[];
  /** Job keys with their wire status and type as of now, optionally filtered. */
  listJobKeys(filter?: JobKeyFilter): JobKeyInfo[];
  /** The pinned live-service deviation samples (spec §7). */
  quirkJobs(): QuirkJobKey[];
  /** The quirks app: its branch with stage NONE, and its branch with omitted members. */
  quirkApp(): { appId: string; stageNoneBranch: string; sparseBranch: string };
  /** Exactly the body GetJob would send now (`{ job: { summary, steps } }`), or undefined. */
  getJobWire(appId: string, branchName: string, jobId: string): { job: JobWire } | undefined;
  /** Exactly the JobSummary ListJobs would send now, or undefined. */
  getJobSummaryWire(appId: string, branchName: string, jobId: string): JobSummaryWire | undefined;
}

export interface AmplifyClientSettings {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface LocalAmplifyEnv {
  AWS_ENDPOINT_URL_AMPLIFY: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_SESSION_TOKEN?: string;
}

export interface LocalAmplify {
  /** e.g. http://127.0.0.1:43123 */
  readonly url: string;
  readonly port: number;
  readonly world: LocalAmplifyWorld;
  readonly clock: LocalAmplifyClock;
  readonly faults: LocalAmplifyFaults;
  readonly stats: LocalAmplifyStats;
  readonly events: LocalAmplifyEvents;
  /** Whether SigV4 signatures are verified right now. */
  readonly signaturesRequired: boolean;
  /** Turns SigV4 verification on or off at run time. */
  setRequireSignature(required: boolean): void;
  /** Spread into `new AmplifyClient({ ...la.clientConfig(), maxAttempts: 1 })`. */
  clientConfig(): AmplifyClientSettings;
  /** The environment variables that point the AWS CLI or SDK here. */
  env(): LocalAmplifyEnv;
  /**
   * Stops listening, ends every connection (hanging ones included), and stops event scans and
   * deliveries. Idempotent.
   */
  close(): Promise<void>;
}

function resolveStartTime(value: LocalAmplifyOptions['startTime']): number {
  if (value === undefined) return Date.parse(DEFAULT_START_TIME);
  if (value === 'now') return Date.now();
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  return Date.parse(value);
}

interface ResolvedOptions {
  port: number;
  host: string;
  seed: string;
  speed: number;
  startMs: number;
  region: string;
  accountId: string;
  credentials: readonly Credentials[];
  requireSignature: boolean;
  concurrentJobsLimit: number;
  lastRequestsLimit: number;
  publicUrl: string | undefined;
  eventTarget: EventTarget | undefined;
  events: ResolvedEventOptions;
}

/** Checks the event options; appends sentences to `problems`. */
function resolveEventOptions(
  options: LocalAmplifyOptions,
  problems: string[],
): ResolvedEventOptions {
  if (options.eventTarget !== undefined) problems.push(...eventTargetProblems(options.eventTarget));
  const statuses = options.eventStatuses ?? EVENT_DEFAULTS.statuses;
  if (!(EVENT_STATUS_MODES as readonly string[]).includes(statuses)) {
    problems.push(`eventStatuses must be one of ${EVENT_STATUS_MODES.join(', ')}, got ${statuses}`);
  }
  const delivery = options.eventDelivery ?? {};
  const resolved: ResolvedEventOptions = {
    statuses,
    scanIntervalMs: options.eventScanIntervalMs ?? EVENT_DEFAULTS.scanIntervalMs,
    timeoutMs: delivery.timeoutMs ?? EVENT_DEFAULTS.timeoutMs,
    maxAttempts: delivery.maxAttempts ?? EVENT_DEFAULTS.maxAttempts,
    retryDelayMs: delivery.retryDelayMs ?? EVENT_DEFAULTS.retryDelayMs,
    queueLimit: delivery.queueLimit ?? EVENT_DEFAULTS.queueLimit,
    historyLimit: delivery.historyLimit ?? EVENT_DEFAULTS.historyLimit,
  };
  const bounds: [keyof ResolvedEventOptions, number, number][] = [
    ['scanIntervalMs', 10, 3_600_000],
    ['timeoutMs', 1, 600_000],
    ['maxAttempts', 1, 10],
    ['retryDelayMs', 0, 60_000],
    ['queueLimit', 1, 1_000_000],
    ['historyLimit', 1, 100_000],
  ];
  for (const [name, min, max] of bounds) {
    const value = resolved[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const where = name === 'scanIntervalMs' ? 'eventScanIntervalMs' : `eventDelivery.${name}`;
      problems.push(`${where} must be an integer ${min}..${max}, got ${String(value)}`);
    }
  }
  return resolved;
}

/** Checks every option and reports all problems at once. */
function resolveOptions(options: LocalAmplifyOptions): ResolvedOptions {
  const problems: string[] = [];
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`port must be 0..65535, got ${port}`);
  const speed = options.speed ?? 1;
  if (!Number.isFinite(speed) || speed < 0)
    problems.push(`speed must be a number >= 0, got ${speed}`);
  const startMs = resolveStartTime(options.startTime);
  if (!Number.isFinite(startMs))
    problems.push(`startTime is not a valid time: ${String(options.startTime)}`);
  const region = options.region ?? DEFAULT_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) problems.push(`region looks invalid: ${region}`);
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId)) problems.push(`accountId must be 12 digits, got ${accountId}`);
  const credentials = options.credentials ?? [DEFAULT_CREDENTIALS];
  if (credentials.length === 0) problems.push('credentials must not be empty');
  for (const c of credentials) {
    if (!c.accessKeyId || !c.secretAccessKey)
      problems.push('each credential needs accessKeyId and secretAccessKey');
  }
  const concurrentJobsLimit = options.concurrentJobsLimit ?? 5;
  if (!Number.isInteger(concurrentJobsLimit) || concurrentJobsLimit < 0) {
    problems.push(`concurrentJobsLimit must be an integer >= 0, got ${concurrentJobsLimit}`);
  }
  const lastRequestsLimit = options.lastRequestsLimit ?? 200;
  if (!Number.isInteger(lastRequestsLimit) || lastRequestsLimit < 1) {
    problems.push(`lastRequestsLimit must be an integer >= 1, got ${lastRequestsLimit}`);
  }
  const events = resolveEventOptions(options, problems);
  if (problems.length > 0)
    throw new TypeError(`Invalid local Amplify options:\n  - ${problems.join('\n  - ')}`);
  return {
    port,
    host: options.host ?? '127.0.0.1',
    seed: String(options.seed ?? 1),
    speed,
    startMs,
    region,
    accountId,
    credentials,
    requireSignature: options.requireSignature ?? false,
    concurrentJobsLimit,
    lastRequestsLimit,
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    eventTarget: options.eventTarget,
    events,
  };
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  return `http://${shown.includes(':') && !shown.startsWith('[') ? `[${shown}]` : shown}:${port}`;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startLocalAmplify(options: LocalAmplifyOptions = {}): Promise<LocalAmplify> {
  const o = resolveOptions(options);
  const clock = new VirtualClock(o.startMs, o.speed);
  const world = new World(
    { seed: o.seed, startMs: o.startMs, region: o.region, accountId: o.accountId },
    o.concurrentJobsLimit,
    o.publicUrl ?? urlFor(o.host, o.port),
  );
  const faults = new FaultEngine(o.seed);
  for (const rule of options.faults ?? []) faults.add(rule);
  const stats = new StatsRecorder(o.lastRequestsLimit);
  const events = new EventPublisher(world, clock, o.events);
  const makeVerifier = () => new SigV4Verifier(o.credentials, o.region);
  let url = o.publicUrl ?? urlFor(o.host, o.port);
  const state = {
    world,
    clock,
    faults,
    stats,
    verifier: o.requireSignature ? makeVerifier() : undefined,
    url: () => url,
    events,
  };
  const listener = createRequestListener(state);
  const server = createServer({ keepAlive: true }, listener);
  // SDK clients keep connections alive; a long server-side idle timeout avoids racing their reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = await listen(server, o.port, o.host);
  url = urlFor(o.host, port);
  world.setBaseUrl(o.publicUrl ?? url);
  // Jobs already in progress at start-up are watched from their status now.
  if (o.eventTarget !== undefined) events.setTarget(o.eventTarget);

  const primary = o.credentials[0] ?? DEFAULT_CREDENTIALS;
  let closing: Promise<void> | undefined;
  const find = (appId: string, branchName: string, jobId: string) => {
    try {
      return world.job(appId, branchName, jobId);
    } catch {
      return undefined;
    }
  };

  return {
    url,
    port,
    world: {
      seed: o.seed,
      region: o.region,
      accountId: o.accountId,
      apps: () =>
        world.apps.map((app) => ({
          appId: app.appId,
          name: app.name,
          platform: app.platform,
          quirks: app.quirks,
          branches: app.branchList.map((b) => ({
            branchName: b.branchName,
            stage: b.stage,
            displayName: b.displayName,
            jobs: b.jobs.length,
          })),
        })),
      listJobKeys: (filter) => world.listJobKeys(clock.nowMs(), filter),
      quirkJobs: () => world.quirkJobs(),
      quirkApp: () => {
        const [stageNone, sparse] = world.quirkBranches;
        return {
          appId: stageNone!.app.appId,
          stageNoneBranch: stageNone!.branchName,
          sparseBranch: sparse!.branchName,
        };
      },
      getJobWire: (appId, branchName, jobId) => {
        const job = find(appId, branchName, jobId);
        return job === undefined ? undefined : { job: world.jobWire(job, clock.nowMs()) };
      },
      getJobSummaryWire: (appId, branchName, jobId) => {
        const job = find(appId, branchName, jobId);
        return job === undefined ? undefined : { ...world.summary(job, clock.nowMs()) };
      },
    },
    clock: {
      now: () => new Date(clock.nowMs()),
      nowMs: () => clock.nowMs(),
      advance: (ms) => {
        clock.advance(ms);
        events.scan();
      },
      setSpeed: (speed) => {
        clock.setSpeed(speed);
        events.scan();
      },
      get speed() {
        return clock.speed;
      },
    },
    faults: {
      add: (rule) => faults.add(rule),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
      list: () => faults.list(),
    },
    stats: {
      calls: (operation) => stats.calls(operation),
      snapshot: () => stats.snapshot(),
      reset: () => stats.reset(),
      get inFlight() {
        return stats.inFlight;
      },
      get inFlightHighWater() {
        return stats.inFlightHighWater;
      },
      lastRequests: (n) => stats.lastRequests(n),
    },
    events: {
      get target() {
        return events.target;
      },
      get statuses() {
        return events.statuses;
      },
      setTarget: (target) => events.setTarget(target),
      clearTarget: () => events.clearTarget(),
      setStatuses: (mode) => events.setStatuses(mode),
      scan: () => events.scan(),
      sent: () => events.sent(),
      failed: () => events.failed(),
      dropped: () => events.dropped(),
      pending: () => events.pending(),
      last: (n) => events.last(n),
      snapshot: () => events.snapshot(),
      idle: () => events.idle(),
      reset: () => events.reset(),
    },
    get signaturesRequired() {
      return state.verifier !== undefined;
    },
    setRequireSignature: (required) => {
      state.verifier = required ? makeVerifier() : undefined;
    },
    clientConfig: () => ({
      endpoint: url,
      region: o.region,
      credentials: {
        accessKeyId: primary.accessKeyId,
        secretAccessKey: primary.secretAccessKey,
        ...(primary.sessionToken === undefined ? {} : { sessionToken: primary.sessionToken }),
      },
    }),
    env: () => ({
      AWS_ENDPOINT_URL_AMPLIFY: url,
      AWS_REGION: o.region,
      AWS_ACCESS_KEY_ID: primary.accessKeyId,
      AWS_SECRET_ACCESS_KEY: primary.secretAccessKey,
      ...(primary.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: primary.sessionToken }),
    }),
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        events.close();
        listener.shutdown();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
