/**
 * Plain shapes at the upstream boundary: what the rest of the gateway sees of an Amplify job.
 * Every member the live service may omit is `null` here (§7 of the API notes: "required" members
 * do go missing), and values outside the known enums become `UNKNOWN` (AWS adds values over time).
 */
import type { Job, JobSummary, Step } from '@aws-sdk/client-amplify';

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

/** Whether the job has ended for good (terminal summary status): it never changes again. */
export function isFinishedJob(job: JobRecord): boolean {
  return job.summary.status !== null && TERMINAL_STATUSES.has(job.summary.status);
}

/** Told about each value outside a known enum, so it can be logged (once per value). */
export type UnknownValueListener = (enumName: string, value: string) => void;

function text(value: string | undefined | null): string | null {
  return typeof value === 'string' ? value : null;
}

/** URLs: an empty string (seen on the live service) or an unparseable value reads as absent. */
function url(value: string | undefined | null): string | null {
  if (typeof value !== 'string' || value === '') return null;
  return URL.canParse(value) ? value : null;
}

function time(value: Date | undefined | null): Date | null {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value : null;
}

function member<T extends string>(
  known: readonly T[],
  enumName: string,
  value: string | undefined | null,
  onUnknown: UnknownValueListener,
): T | 'UNKNOWN' | null {
  if (typeof value !== 'string') return null;
  if ((known as readonly string[]).includes(value)) return value as T;
  onUnknown(enumName, value);
  return 'UNKNOWN';
}

export function toJobSummaryRecord(
  summary: JobSummary | undefined,
  onUnknown: UnknownValueListener,
): JobSummaryRecord {
  const s = summary ?? ({} as Partial<JobSummary>);
  return {
    jobArn: text(s.jobArn),
    jobId: text(s.jobId),
    commitId: text(s.commitId),
    commitMessage: text(s.commitMessage),
    commitTime: time(s.commitTime),
    startTime: time(s.startTime),
    status: member(JOB_STATUSES, 'JobStatus', s.status, onUnknown),
    endTime: time(s.endTime),
    jobType: member(JOB_TYPES, 'JobType', s.jobType, onUnknown),
    sourceUrl: url(s.sourceUrl),
    sourceUrlType: member(SOURCE_URL_TYPES, 'SourceUrlType', s.sourceUrlType, onUnknown),
  };
}

export function toStepRecord(step: Step, onUnknown: UnknownValueListener): StepRecord {
  const screenshots: ScreenshotRecord[] = [];
  for (const [name, value] of Object.entries(step.screenshots ?? {})) {
    const target = url(value);
    if (target !== null) screenshots.push({ name, url: target });
  }
  return {
    stepName: text(step.stepName),
    startTime: time(step.startTime),
    status: member(JOB_STATUSES, 'JobStatus', step.status, onUnknown),
    endTime: time(step.endTime),
    logUrl: url(step.logUrl),
    artifactsUrl: url(step.artifactsUrl),
    testArtifactsUrl: url(step.testArtifactsUrl),
    testConfigUrl: url(step.testConfigUrl),
    screenshots,
    statusReason: text(step.statusReason),
    context: text(step.context),
  };
}

export function toJobRecord(
  key: JobKey,
  job: Job | undefined,
  onUnknown: UnknownValueListener,
): JobRecord {
  return {
    key,
    summary: toJobSummaryRecord(job?.summary, onUnknown),
    steps: (job?.steps ?? []).map((step) => toStepRecord(step, onUnknown)),
  };
}
