/**
 * The seam between the gateway and Amplify. Everything above it (loaders, schema) sees only
 * {@link AmplifyUpstream} and plain shapes. Each wrapper (circuit breaker, single-flight, cache;
 * per request the call budget and the read log) implements the same interface it wraps, so each
 * can be tested alone, and the order of the layers is visible in one place (compose.ts).
 *
 * Every read takes one plain, serialisable input object and resolves with plain data, so a wrapper
 * can treat them alike: {@link READ_METHODS} lists them, `wrapReads` (wrap.ts, the one way to wrap
 * an upstream) wraps each one, and {@link readKey} gives a stable key for one call (single-flight,
 * a cache).
 */
import type { AppRecord } from './app-shapes.js';
import type { BranchKey, BranchRecord } from './branch-shapes.js';
import type {
  JobListItem,
  ListAppsRequest,
  ListBranchesRequest,
  ListJobsRequest,
  Page,
} from './page-shapes.js';
import type { JobKey, JobRecord, JobSummaryRecord } from './shapes.js';
import type { StepLogRecord, StepLogRequest } from './step-log.js';

/** The job types a caller may start: Amplify itself refuses MANUAL for repository apps. */
export const START_JOB_TYPES = ['RELEASE', 'RETRY', 'MANUAL'] as const;
export type StartJobType = (typeof START_JOB_TYPES)[number];

/** One StartJob: what to build, and why (shown in the Amplify console). */
export interface StartJobRequest {
  appId: string;
  branchName: string;
  jobType: StartJobType;
  /** The job to retry: required for RETRY, ignored by Amplify otherwise. */
  jobId: string | null;
  /** Up to 255 characters. */
  reason: string | null;
}

/**
 * Calls that change something. Each is sent exactly once, never retried automatically: StartJob
 * has no idempotency token, so a retried 5xx could start two builds.
 */
export interface AmplifyControl {
  /**
   * One StartJob; resolves with the new job (PENDING, no steps yet). Rejects with QUOTA_EXCEEDED
   * (concurrent-jobs quota), UPSTREAM_OUTCOME_UNKNOWN (5xx, timeout, reset, a 2xx that cannot be
   * read: it may have started),
   * NOT_FOUND, BAD_USER_INPUT, UPSTREAM_UNAUTHORIZED.
   */
  startJob(request: StartJobRequest): Promise<JobRecord>;
  /**
   * One StopJob; resolves with the job's summary as Amplify answered it (CANCELLING). Rejects
   * with NOT_FOUND, BAD_USER_INPUT (e.g. the job has already finished), UPSTREAM_*.
   */
  stopJob(key: JobKey): Promise<JobSummaryRecord>;
}

/** Identifies one app. */
export interface AppKey {
  appId: string;
}

/**
 * What the gateway reads. Each method rejects with a GatewayError: NOT_FOUND, UPSTREAM_THROTTLED,
 * UPSTREAM_UNAVAILABLE, UPSTREAM_UNAUTHORIZED, BAD_USER_INPUT (Amplify refused the input), and for
 * logs UPSTREAM_URL_REFUSED.
 */
export interface AmplifyReads {
  /** One GetJob: the job's summary and steps. */
  getJob(key: JobKey): Promise<JobRecord>;
  /** One GetApp. */
  getApp(key: AppKey): Promise<AppRecord>;
  /** One GetBranch. */
  getBranch(key: BranchKey): Promise<BranchRecord>;
  /** One ListApps call: one page of apps, in Amplify's order. */
  listApps(request: ListAppsRequest): Promise<Page<AppRecord>>;
  /** One ListBranches call: one page of an app's branches, in Amplify's order. */
  listBranches(request: ListBranchesRequest): Promise<Page<BranchRecord>>;
  /** One ListJobs call: one page of a branch's job summaries, newest first. */
  listJobs(request: ListJobsRequest): Promise<Page<JobListItem>>;
  /** One read of a step's log (its end, capped in bytes and time): not an Amplify API call. */
  getStepLog(request: StepLogRequest): Promise<StepLogRecord>;
}

export type ReadMethod = keyof AmplifyReads;

/** Every read method, for wrappers that treat them alike. */
export const READ_METHODS = [
  'getJob',
  'getApp',
  'getBranch',
  'listApps',
  'listBranches',
  'listJobs',
  'getStepLog',
] as const satisfies readonly ReadMethod[];

export interface AmplifyUpstream extends AmplifyReads, AmplifyControl {
  /**
   * Resolves when Amplify answers a one-item ListApps with the gateway's credentials; rejects with
   * a GatewayError. With `timeoutMs` (the /ready probe): one attempt, given up after that many
   * milliseconds (UPSTREAM_TIMEOUT); without it, the client's own attempts and timeouts.
   */
  checkReady(options?: { timeoutMs?: number }): Promise<void>;
  /** The AWS Region the client signs for (resolved through the SDK's standard chain). */
  region(): Promise<string>;
  /** Closes kept-alive sockets. */
  destroy(): void;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** A stable key for one read: the method and its input, whatever the order of its members. */
export function readKey(method: ReadMethod, input: object): string {
  return `${method}:${JSON.stringify(canonical(input))}`;
}

/** What was asked, for messages: e.g. `job 12 of branch "main" in app d1abc`. */
export function describeJob(key: JobKey): string {
  return `job ${key.jobId} of branch ${JSON.stringify(key.branchName)} in app ${key.appId}`;
}

/** What was asked, for messages: e.g. `branch "main" of app d1abc`. */
export function describeBranch(key: BranchKey): string {
  return `branch ${JSON.stringify(key.branchName)} of app ${key.appId}`;
}

/** What was asked, for messages: e.g. `app d1abc`. */
export function describeApp(key: AppKey): string {
  return `app ${key.appId}`;
}
