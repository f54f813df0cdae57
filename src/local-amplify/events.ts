/**
 * EventBridge "Amplify Deployment Status Change" events, pushed to an HTTP endpoint the way an
 * EventBridge API destination delivers them (spec §11). Job state is derived lazily from the
 * virtual clock, so nothing happens by itself: while a target is set, a bounded scan over the
 * non-terminal jobs runs every `scanIntervalMs` of real time and right after anything that moves
 * jobs (StartJob, StopJob, StartDeployment, clock changes). Each status change found becomes one
 * event, queued (bounded, drops counted) and POSTed one at a time with a short timeout and a
 * small bounded retry. Nothing here ever delays an Amplify API response.
 */
import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { VirtualClock } from './clock.js';
import { jobStatusAt } from './job-state.js';
import { isTerminalStatus, type JobRecord, type JobStatus } from './model.js';
import type { World } from './world.js';

export const EVENT_SOURCE = 'aws.amplify';
export const EVENT_DETAIL_TYPE = 'Amplify Deployment Status Change';
/** What the service is documented to send in `detail.jobStatus`. */
export const DOCUMENTED_JOB_STATUSES = ['STARTED', 'SUCCEED', 'FAILED'] as const;
/** `documented`: STARTED, SUCCEED, FAILED only. `all`: every status change (an extension). */
export const EVENT_STATUS_MODES = ['documented', 'all'] as const;
export type EventStatusMode = (typeof EVENT_STATUS_MODES)[number];

/** Where events go: an http(s) URL, and headers added to every POST (an API key, say). */
export interface EventTarget {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Delivery limits. Times are real milliseconds. */
export interface EventDeliveryOptions {
  /** Per attempt, from sending to the end of the response. Default 2000. */
  readonly timeoutMs?: number;
  /** Attempts per event, first included, 1..10. Default 3. */
  readonly maxAttempts?: number;
  /** Wait before retry n is retryDelayMs * 2^(n-1). Default 100. */
  readonly retryDelayMs?: number;
  /**
   * Events waiting or being delivered; a new event beyond this is dropped and counted, so
   * `pending()` never exceeds it. Default 1000.
   */
  readonly queueLimit?: number;
  /** How many events `last()` and GET /_local/events keep. Default 100. */
  readonly historyLimit?: number;
}

/** The POST body, exactly as an EventBridge API destination delivers it. */
export interface AmplifyEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': typeof EVENT_DETAIL_TYPE;
  readonly source: typeof EVENT_SOURCE;
  readonly account: string;
  /** Real wall-clock time the event was made, ISO 8601 to the second (`2026-11-16T09:30:05Z`). */
  readonly time: string;
  readonly region: string;
  /** The job's ARN. */
  readonly resources: readonly string[];
  readonly detail: {
    readonly appId: string;
    readonly branchName: string;
    readonly jobId: string;
    /** STARTED (the job entered RUNNING), SUCCEED, FAILED; with `all` also the other statuses. */
    readonly jobStatus: string;
  };
}

export type DeliveryState = 'queued' | 'delivering' | 'sent' | 'failed' | 'dropped';

/** One event and what happened to it. */
export interface EventRecord {
  readonly event: AmplifyEvent;
  /** The job status the change entered (RUNNING for a STARTED event). */
  readonly jobStatus: JobStatus;
  /** Virtual instant of the change, ISO 8601. */
  readonly virtualTime: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** HTTP status of the last attempt, when one answered. */
  readonly responseStatus?: number;
  /** Why the last attempt failed, when it failed without a response (or with a bad status). */
  readonly error?: string;
}

export interface EventsSnapshot {
  /** The target with header names only (values may be secrets), or null. */
  readonly target: { readonly url: string; readonly headerNames: readonly string[] } | null;
  readonly statuses: EventStatusMode;
  readonly scanIntervalMs: number;
  /** Non-terminal jobs being watched. */
  readonly watching: number;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  /** Queued or being delivered. */
  readonly pending: number;
  /** The newest events, oldest first. */
  readonly events: readonly EventRecord[];
}

export interface ResolvedEventOptions {
  readonly statuses: EventStatusMode;
  readonly scanIntervalMs: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  readonly queueLimit: number;
  readonly historyLimit: number;
}

export const EVENT_DEFAULTS: ResolvedEventOptions = Object.freeze({
  statuses: 'documented',
  scanIntervalMs: 250,
  timeoutMs: 2000,
  maxAttempts: 3,
  retryDelayMs: 100,
  queueLimit: 1000,
  historyLimit: 100,
});

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Problems with a target, as sentences; empty when it is usable. */
export function eventTargetProblems(target: unknown): string[] {
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    return ['the event target must be an object { url, headers? }'];
  }
  const { url, headers } = target as Record<string, unknown>;
  const problems: string[] = [];
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    problems.push(`the event target url must be an http or https URL, got ${String(url)}`);
  }
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      problems.push('the event target headers must be an object of strings');
    } else {
      for (const [name, value] of Object.entries(headers)) {
        if (!TOKEN.test(name)) problems.push(`event header name "${name}" is not a valid token`);
        if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
          problems.push(`event header ${name} must be a string without line breaks`);
        }
      }
    }
  }
  return problems;
}

/** Parses `name: value` (the CLI's --event-header); undefined when there is no colon. */
export function parseEventHeader(text: string): [string, string] | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** The distinct statuses a job's timeline passes through, in order, with when each begins. */
function statusPath(job: JobRecord): { status: JobStatus; at: number }[] {
  const points: { status: JobStatus; at: number }[] = [
    { status: 'CREATED', at: job.createdAt },
    { status: 'PENDING', at: job.pendingAt },
    { status: 'PROVISIONING', at: job.provisioningAt },
    { status: 'RUNNING', at: job.runningAt },
    { status: job.outcome, at: job.endAt },
  ];
  const cancel = job.cancel;
  const planned =
    cancel === undefined
      ? points
      : [
          ...points.filter((p) => p.at < cancel.requestedAt),
          { status: 'CANCELLING' as const, at: cancel.requestedAt },
          { status: 'CANCELLED' as const, at: cancel.completedAt },
        ];
  // A phase of zero length is never observable: the later status at the same instant wins.
  return planned.filter((point, i) => planned[i + 1]?.at !== point.at);
}

/**
 * The steps along `path` after `last` up to and including `current`. A job seen for the first time
 * (`last` undefined) reports its whole path so far. When a stop has rewritten the path so `last`
 * is no longer on it, only `current` is reported.
 */
function changesBetween(
  path: readonly { status: JobStatus; at: number }[],
  last: JobStatus | undefined,
  current: JobStatus,
): { status: JobStatus; at: number }[] {
  const to = path.findIndex((p) => p.status === current);
  if (to < 0) return [];
  if (last === undefined) return path.slice(0, to + 1);
  const from = path.findIndex((p) => p.status === last);
  return from >= 0 && from < to ? path.slice(from + 1, to + 1) : path.slice(to, to + 1);
}

interface MutableRecord {
  event: AmplifyEvent;
  jobStatus: JobStatus;
  virtualTime: string;
  state: DeliveryState;
  attempts: number;
  responseStatus?: number;
  error?: string;
}

function snapshotOf(record: MutableRecord): EventRecord {
  return { ...record };
}

export class EventPublisher {
  readonly #world: World;
  readonly #clock: VirtualClock;
  readonly #options: ResolvedEventOptions;
  #statuses: EventStatusMode;
  #target: EventTarget | undefined;
  /** Non-terminal jobs and the last status an event was considered for. */
  readonly #watched = new Map<JobRecord, JobStatus | undefined>();
  readonly #queue: MutableRecord[] = [];
  readonly #history: MutableRecord[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #waiters: (() => void)[] = [];
  #scanTimer: NodeJS.Timeout | undefined;
  #inFlight: { record: MutableRecord; abort: () => void } | undefined;
  #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  #sent = 0;
  #failed = 0;
  #dropped = 0;
  #closed = false;

  constructor(world: World, clock: VirtualClock, options: ResolvedEventOptions) {
    this.#world = world;
    this.#clock = clock;
    this.#options = options;
    this.#statuses = options.statuses;
    world.onJobCreated = (job) => {
      // A job started through the API is watched from its first status on.
      if (this.#target !== undefined) this.#watched.set(job, undefined);
    };
  }

  get target(): EventTarget | undefined {
    return this.#target;
  }

  get statuses(): EventStatusMode {
    return this.#statuses;
  }

  /**
   * Starts (or redirects) delivery. When no target was set, the jobs that are not finished now
   * become watched from their current status, and the periodic scan starts. Throws TypeError on a
   * bad target.
   */
  setTarget(target: EventTarget): void {
    const problems = eventTargetProblems(target);
    if (problems.length > 0) throw new TypeError(problems.join('; '));
    if (this.#closed) return;
    const wasSet = this.#target !== undefined;
    this.#target = { url: target.url, headers: { ...target.headers } };
    if (!wasSet) {
      this.#watchUnfinished();
      this.#scanTimer = setInterval(() => this.scan(), this.#options.scanIntervalMs);
      this.#scanTimer.unref();
    }
    this.#pump();
  }

  /**
   * Stops scanning and delivering: queued events are dropped (and counted) and an attempt in
   * flight is aborted. Setting a target again watches the unfinished jobs afresh.
   */
  clearTarget(): void {
    this.#target = undefined;
    if (this.#scanTimer !== undefined) clearInterval(this.#scanTimer);
    this.#scanTimer = undefined;
    this.#watched.clear();
    this.#discardPending();
  }

  setStatuses(mode: EventStatusMode): void {
    if (!(EVENT_STATUS_MODES as readonly string[]).includes(mode)) {
      throw new TypeError(`event statuses must be one of ${EVENT_STATUS_MODES.join(', ')}`);
    }
    this.#statuses = mode;
  }

  /**
   * Looks at every watched job now and queues an event for each status change since the last
   * look, in the order they happened (a clock jump past several changes gives them all). Returns
   * how many events were queued; 0 when no target is set.
   */
  scan(): number {
    if (this.#target === undefined || this.#closed) return 0;
    const now = this.#clock.nowMs();
    let queued = 0;
    for (const [job, last] of this.#watched) {
      const current = jobStatusAt(job, now);
      if (current === last) continue;
      for (const change of changesBetween(statusPath(job), last, current)) {
        if (this.#enqueue(job, change.status, change.at)) queued++;
      }
      if (isTerminalStatus(current)) this.#watched.delete(job);
      else this.#watched.set(job, current);
    }
    this.#pump();
    return queued;
  }

  sent(): number {
    return this.#sent;
  }

  failed(): number {
    return this.#failed;
  }

  dropped(): number {
    return this.#dropped;
  }

  /** Events queued or being delivered. */
  pending(): number {
    return this.#queue.length + (this.#inFlight === undefined ? 0 : 1);
  }

  /** The newest `n` events (all kept by default), oldest first. */
  last(n = this.#options.historyLimit): EventRecord[] {
    return this.#history.slice(Math.max(0, this.#history.length - n)).map(snapshotOf);
  }

  snapshot(): EventsSnapshot {
    const target = this.#target;
    return {
      target:
        target === undefined
          ? null
          : { url: target.url, headerNames: Object.keys(target.headers ?? {}) },
      statuses: this.#statuses,
      scanIntervalMs: this.#options.scanIntervalMs,
      watching: this.#watched.size,
      sent: this.#sent,
      failed: this.#failed,
      dropped: this.#dropped,
      pending: this.pending(),
      events: this.last(),
    };
  }

  /** Zeroes the counters and forgets the history; pending deliveries go on. */
  reset(): void {
    this.#sent = 0;
    this.#failed = 0;
    this.#dropped = 0;
    this.#history.splice(0, this.#history.length);
  }

  /** Resolves once nothing is queued or being delivered (at once if that is already so). */
  idle(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stops everything for good: scan, retries, the attempt in flight, keep-alive sockets. */
  close(): void {
    this.#closed = true;
    this.clearTarget();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#world.onJobCreated = undefined;
  }

  #watchUnfinished(): void {
    const now = this.#clock.nowMs();
    for (const app of this.#world.apps) {
      for (const branch of app.branchList) {
        for (const job of branch.jobs) {
          // Pinned live-service samples never change, so they never make events.
          if (job.quirk !== undefined) continue;
          const status = jobStatusAt(job, now);
          if (!isTerminalStatus(status)) this.#watched.set(job, status);
        }
      }
    }
  }

  /** Queues an event for `status` if the mode reports it; returns whether it was queued. */
  #enqueue(job: JobRecord, status: JobStatus, at: number): boolean {
    const jobStatus = status === 'RUNNING' ? 'STARTED' : status;
    if (
      this.#statuses === 'documented' &&
      !(DOCUMENTED_JOB_STATUSES as readonly string[]).includes(jobStatus)
    ) {
      return false;
    }
    const branch = job.branch;
    const { region, accountId } = this.#world.config;
    const record: MutableRecord = {
      event: {
        version: '0',
        id: randomUUID(),
        'detail-type': EVENT_DETAIL_TYPE,
        source: EVENT_SOURCE,
        account: accountId,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        region,
        resources: [job.jobArn],
        detail: {
          appId: branch.app.appId,
          branchName: branch.branchName,
          jobId: job.jobId,
          jobStatus,
        },
      },
      jobStatus: status,
      virtualTime: new Date(at).toISOString(),
      state: 'queued',
      attempts: 0,
    };
    this.#remember(record);
    if (this.pending() >= this.#options.queueLimit) {
      record.state = 'dropped';
      this.#dropped++;
      return false;
    }
    this.#queue.push(record);
    return true;
  }

  #remember(record: MutableRecord): void {
    this.#history.push(record);
    if (this.#history.length > this.#options.historyLimit) this.#history.shift();
  }

  #discardPending(): void {
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    if (inFlight !== undefined) {
      inFlight.record.state = 'dropped';
      this.#dropped++;
      inFlight.abort();
    }
    for (const record of this.#queue.splice(0, this.#queue.length)) {
      record.state = 'dropped';
      this.#dropped++;
    }
    this.#settleWaiters();
  }

  #settleWaiters(): void {
    if (this.pending() !== 0) return;
    for (const resolve of this.#waiters.splice(0, this.#waiters.length)) resolve();
  }

  /** Starts delivering the next queued event unless one is already on its way. */
  #pump(): void {
    if (this.#inFlight !== undefined || this.#target === undefined || this.#closed) {
      this.#settleWaiters();
      return;
    }
    const record = this.#queue.shift();
    if (record === undefined) {
      this.#settleWaiters();
      return;
    }
    record.state = 'delivering';
    this.#attempt(record, this.#target);
  }

  #attempt(record: MutableRecord, target: EventTarget): void {
    record.attempts++;
    const body = Buffer.from(JSON.stringify(record.event));
    const url = new URL(target.url);
    const secure = url.protocol === 'https:';
    let finished = false;
    let deadline: NodeJS.Timeout | undefined;
    const done = (outcome: { status?: number; error?: string }): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      if (this.#inFlight?.record !== record) return;
      if (outcome.status !== undefined) record.responseStatus = outcome.status;
      const status = outcome.status;
      if (status !== undefined && status >= 200 && status < 300) {
        delete record.error;
        this.#finish(record, 'sent');
        return;
      }
      record.error = outcome.error ?? `HTTP ${status}`;
      const retryable = status === undefined || status === 429 || status >= 500;
      if (!retryable || record.attempts >= this.#options.maxAttempts) {
        this.#finish(record, 'failed');
        return;
      }
      const delay = this.#options.retryDelayMs * 2 ** (record.attempts - 1);
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        const current = this.#target;
        if (this.#inFlight?.record === record && current !== undefined) {
          this.#attempt(record, current);
        }
      }, delay);
      this.#retryTimers.add(timer);
    };
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        headers: {
          ...target.headers,
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': body.length,
          'User-Agent': 'Amazon/EventBridge/ApiDestinations',
        },
      },
      (response) => {
        response.resume();
        response.once('end', () => done({ status: response.statusCode ?? 0 }));
        response.on('error', (error) => done({ error: error.message }));
      },
    );
    // One deadline for the whole attempt: connecting, sending and reading the answer.
    deadline = setTimeout(
      () => request.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)),
      this.#options.timeoutMs,
    );
    request.on('error', (error) => done({ error: error.message }));
    this.#inFlight = {
      record,
      abort: () => {
        finished = true;
        clearTimeout(deadline);
        request.destroy();
      },
    };
    request.end(body);
  }

  #finish(record: MutableRecord, state: 'sent' | 'failed'): void {
    record.state = state;
    if (state === 'sent') this.#sent++;
    else this.#failed++;
    this.#inFlight = undefined;
    this.#pump();
  }
}
