/**
 * Plain shapes at the upstream boundary: what the rest of the gateway sees of an Amplify job.
 * Every member the live service may omit is `null` here (§7 of the API notes: "required" members
 * do go missing), and values outside the known enums become `UNKNOWN` (AWS adds values over time).
 * Answers are read through the shape check of wire-check.ts, which decides what a malformed member
 * or entry becomes.
 */
import type { GetJobCommandOutput, JobSummary, Step } from '@aws-sdk/client-amplify';
import { type AnswerContext, readAnswer, type WireObject } from './wire-check.js';

export type { UnknownValueListener } from './wire-check.js';

export const JOB_STATUSES = [
  'CREATED',
  'PENDING',
  'PROVISIONING',
  'RUNNING',
  'FAILED',
  'SUCCEED',
  'CANCELLING',
  'CANCELLED',
] as const;
export const JOB_TYPES = ['RELEASE', 'RETRY', 'MANUAL', 'WEB_HOOK'] as const;
export const SOURCE_URL_TYPES = ['ZIP', 'BUCKET_PREFIX'] as const;

export type JobStatus = (typeof JOB_STATUSES)[number] | 'UNKNOWN';
export type JobType = (typeof JOB_TYPES)[number] | 'UNKNOWN';
export type SourceUrlType = (typeof SOURCE_URL_TYPES)[number] | 'UNKNOWN';

/** Statuses after which a job never changes again. */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'SUCCEED',
  'FAILED',
  'CANCELLED',
]);

/** Identifies one job: Amplify job ids are per-branch sequence numbers. */
export interface JobKey {
  appId: string;
  branchName: string;
  jobId: string;
}

export interface JobSummaryRecord {
  jobArn: string | null;
  jobId: string | null;
  commitId: string | null;
  commitMessage: string | null;
  commitTime: Date | null;
  startTime: Date | null;
  status: JobStatus | null;
  endTime: Date | null;
  jobType: JobType | null;
  sourceUrl: string | null;
  sourceUrlType: SourceUrlType | null;
}

export interface ScreenshotRecord {
  name: string;
  url: string;
}

export interface StepRecord {
  stepName: string | null;
  startTime: Date | null;
  status: JobStatus | null;
  endTime: Date | null;
  logUrl: string | null;
  artifactsUrl: string | null;
  testArtifactsUrl: string | null;
  testConfigUrl: string | null;
  screenshots: ScreenshotRecord[];
  statusReason: string | null;
  context: string | null;
}

export interface JobRecord {
  key: JobKey;
  summary: JobSummaryRecord;
  steps: StepRecord[];
}

/**
 * SUCCEED, FAILED and CANCELLED are final: a job or step with one never changes again. Anything
 * else (UNKNOWN and an absent status included) is not.
 */
export function isTerminalStatus(status: JobStatus | null): boolean {
  return status !== null && TERMINAL_STATUSES.has(status);
}

/** Whether the job has ended for good (terminal summary status): it never changes again. */
export function isFinishedJob(job: { summary: { status: JobStatus | null } }): boolean {
  return isTerminalStatus(job.summary.status);
}

/** Job ids are decimal sequence numbers: `7` and `0000000007` (as in the ARN) are one job. */
export function sameJobId(a: string, b: string): boolean {
  return a.replace(/^0+(?=\d)/, '') === b.replace(/^0+(?=\d)/, '');
}

/** A job summary (GetJob's `job.summary`, a ListJobs entry), every member checked. */
export function toJobSummaryRecord(summary: WireObject<JobSummary>): JobSummaryRecord {
  return {
    jobArn: summary.text('jobArn'),
    jobId: summary.text('jobId'),
    commitId: summary.text('commitId'),
    commitMessage: summary.text('commitMessage'),
    commitTime: summary.time('commitTime'),
    startTime: summary.time('startTime'),
    status: summary.enumValue('status', JOB_STATUSES, 'JobStatus'),
    endTime: summary.time('endTime'),
    jobType: summary.enumValue('jobType', JOB_TYPES, 'JobType'),
    sourceUrl: summary.url('sourceUrl'),
    sourceUrlType: summary.enumValue('sourceUrlType', SOURCE_URL_TYPES, 'SourceUrlType'),
  };
}

/** One step of a job, every member checked. */
export function toStepRecord(step: WireObject<Step>): StepRecord {
  return {
    stepName: step.text('stepName'),
    startTime: step.time('startTime'),
    status: step.enumValue('status', JOB_STATUSES, 'JobStatus'),
    endTime: step.time('endTime'),
    logUrl: step.url('logUrl'),
    artifactsUrl: step.url('artifactsUrl'),
    testArtifactsUrl: step.url('testArtifactsUrl'),
    testConfigUrl: step.url('testConfigUrl'),
    screenshots: (step.urlMap('screenshots') ?? []).map(([name, url]) => ({ name, url })),
    statusReason: step.text('statusReason'),
    context: step.text('context'),
  };
}

/**
 * Maps one GetJob answer (the SDK's output, or the raw JSON body when the SDK could not read it)
 * for the job `key` asked for. A job without an object `job` or `job.summary`, or whose
 * `summary.jobId` names another job, throws UPSTREAM_INVALID_RESPONSE; members of the wrong type
 * read as null, steps that are not objects are skipped, and both are reported to `context`.
 */
export function toJobRecord(key: JobKey, answer: unknown, context: AnswerContext): JobRecord {
  const job = readAnswer<GetJobCommandOutput>(answer, context).entity('job', 'job');
  const summary = job.entity('summary', 'job summary');
  summary.expectId('jobId', key.jobId, sameJobId);
  return {
    key,
    summary: toJobSummaryRecord(summary),
    // Absent (or not a list, reported): no steps known, as for a job whose steps have not started.
    steps: job.list('steps', toStepRecord) ?? [],
  };
}
