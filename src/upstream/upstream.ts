/**
 * The seam between the gateway and Amplify. Everything above it (loaders, schema) sees only
 * {@link AmplifyUpstream} and plain shapes. Each wrapper (single-flight today; cache and breaker
 * next) implements the same interface it wraps, so each can be tested alone and the order of the
 * layers is visible where the app is composed.
 */
import type { JobKey, JobRecord, JobSummaryRecord } from './shapes.js';

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
   * (concurrent-jobs quota), UPSTREAM_OUTCOME_UNKNOWN (5xx, timeout, reset: it may have started),
   * NOT_FOUND, BAD_USER_INPUT, UPSTREAM_UNAUTHORIZED.
   */
  startJob(request: StartJobRequest): Promise<JobRecord>;
  /**
   * One StopJob; resolves with the job's summary as Amplify answered it (CANCELLING). Rejects
   * with NOT_FOUND, BAD_USER_INPUT (e.g. the job has already finished), UPSTREAM_*.
   */
  stopJob(key: JobKey): Promise<JobSummaryRecord>;
}

export interface AmplifyUpstream extends AmplifyControl {
  /** One GetJob. Rejects with a GatewayError (NOT_FOUND, UPSTREAM_*). */
  getJob(key: JobKey): Promise<JobRecord>;
  /** Resolves when Amplify answers with the gateway's credentials; rejects with a GatewayError. */
  checkReady(): Promise<void>;
  /** The AWS Region the client signs for (resolved through the SDK's standard chain). */
  region(): Promise<string>;
  /** Closes kept-alive sockets. */
  destroy(): void;
}

/** What was asked, for messages: e.g. `job 12 of branch "main" in app d1abc`. */
export function describeJob(key: JobKey): string {
  return `job ${key.jobId} of branch ${JSON.stringify(key.branchName)} in app ${key.appId}`;
}
