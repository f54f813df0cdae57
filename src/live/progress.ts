/**
 * What counts as a change of a job for its live subscribers, and the job's form on the fan-out
 * channel between replicas.
 *
 * A job is sent again when its status or its steps change, not when Amplify merely re-signs its
 * presigned URLs (which it does on every read): the fingerprint leaves URLs out. A job only moves
 * forward (statuses in order, steps appear and end), so a snapshot that is behind one already sent
 * (a cached read racing a pushed event, a replica's late message) is stale and is dropped.
 */
import type { JobKey, JobRecord, JobStatus } from '../upstream/shapes.js';

/** The parts of a job whose change subscribers are told about; URLs excluded. */
export function fingerprint(job: JobRecord): string {
  const s = job.summary;
  return JSON.stringify([
    s.status,
    s.endTime?.getTime() ?? null,
    job.steps.map((step) => [
      step.stepName,
      step.status,
      step.startTime?.getTime() ?? null,
      step.endTime?.getTime() ?? null,
      step.statusReason,
    ]),
  ]);
}

/** Where a status sits in a job's life; null when it says nothing about order (UNKNOWN). */
const STATUS_RANK: Partial<Record<JobStatus, number>> = {
  CREATED: 0,
  PENDING: 1,
  PROVISIONING: 2,
  RUNNING: 3,
  CANCELLING: 4,
  SUCCEED: 5,
  FAILED: 5,
  CANCELLED: 5,
};

/** How far a job has come: status rank, steps started, steps ended. Null: cannot be ordered. */
export type Progress = readonly [number, number, number] | null;

export function progressOf(job: JobRecord): Progress {
  const status = job.summary.status;
  const rank = status === null ? undefined : STATUS_RANK[status];
  if (rank === undefined) return null;
  const ended = job.steps.filter((step) => step.endTime !== null).length;
  return [rank, job.steps.length, ended];
}

/** True when `next` is behind `previous` (so it is a stale snapshot); false when unknown. */
export function isBehind(next: Progress, previous: Progress): boolean {
  if (next === null || previous === null) return false;
  for (let i = 0; i < next.length; i += 1) {
    const a = next[i] as number;
    const b = previous[i] as number;
    if (a !== b) return a < b;
  }
  return false;
}

/**
 * A message on a job's fan-out channel: the job as one replica just read it, or a hint that
 * Amplify pushed an event about it (the replicas watching the job then read it once between them).
 */
export type LiveMessage =
  | {
      /** Format version: replicas of two releases never misread each other's messages. */
      v: 1;
      kind: 'job';
      job: JobRecord;
    }
  | { v: 1; kind: 'event'; key: JobKey; eventId: string };

const DATE_KEYS = new Set(['commitTime', 'startTime', 'endTime']);

/** JSON for the channel (dates as ISO strings). */
export function stringifyMessage(message: LiveMessage): string {
  return JSON.stringify(message);
}

function isJobKey(value: unknown): value is JobKey {
  const key = value as Partial<JobKey> | null;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.appId === 'string' &&
    typeof key.branchName === 'string' &&
    typeof key.jobId === 'string'
  );
}

/**
 * Reads a channel message back; null for anything that is not a version-1 message (a newer
 * release's format, or garbage), which the receiver ignores.
 */
export function parseMessage(text: string): LiveMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) =>
      DATE_KEYS.has(key) && typeof v === 'string' ? new Date(v) : v,
    );
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message.v !== 1) return null;
  if (message.kind === 'event') {
    return isJobKey(message.key) && typeof message.eventId === 'string'
      ? (message as LiveMessage)
      : null;
  }
  const job = message.job as Partial<JobRecord> | undefined;
  if (
    message.kind !== 'job' ||
    typeof job !== 'object' ||
    job === null ||
    !isJobKey(job.key) ||
    typeof job.summary !== 'object' ||
    job.summary === null ||
    !Array.isArray(job.steps)
  ) {
    return null;
  }
  return message as LiveMessage;
}
