/**
 * A job's state at an instant, derived from its planned timeline: no timers, no background work,
 * O(steps) per call. Used by every read (GetJob, ListJobs, branch fields, file downloads).
 */
import type { JobRecord, JobStatus, StepName, StepPlan } from './model.js';

export const CANCELLED_REASON = 'The job was cancelled by a StopJob request';

export interface DerivedStep {
  readonly plan: StepPlan;
  readonly name: StepName;
  readonly startAt: number;
  readonly status: JobStatus;
  /** Absent while the step runs (or is being cancelled). */
  readonly endAt?: number;
  readonly statusReason?: string;
  /** True when the step ran to its own end (SUCCEED or FAILED), so its outputs exist. */
  readonly completed: boolean;
}

export interface DerivedJob {
  readonly status: JobStatus;
  readonly endAt?: number;
  readonly steps: readonly DerivedStep[];
  /** Nothing about this job can change any more (terminal). */
  readonly settled: boolean;
}

export function jobStatusAt(job: JobRecord, now: number): JobStatus {
  const cancel = job.cancel;
  if (cancel !== undefined && now >= cancel.requestedAt) {
    return now >= cancel.completedAt ? 'CANCELLED' : 'CANCELLING';
  }
  if (now >= job.endAt) return job.outcome;
  if (now >= job.runningAt) return 'RUNNING';
  if (now >= job.provisioningAt) return 'PROVISIONING';
  if (now >= job.pendingAt) return 'PENDING';
  return 'CREATED';
}

export function deriveJob(job: JobRecord, now: number): DerivedJob {
  const status = jobStatusAt(job, now);
  const cancel = job.cancel;
  const cancelling = cancel !== undefined && now >= cancel.requestedAt;
  // A stopped job's steps freeze at the moment the stop was requested.
  const cutoff = cancelling ? cancel.requestedAt : now;
  const steps: DerivedStep[] = [];
  for (const plan of job.steps) {
    if (plan.startAt > cutoff) break;
    const outcome = plan.outcome;
    if (plan.endAt <= cutoff) {
      const reason = outcome === 'FAILED' ? (plan.statusReason ?? failedReason(plan)) : undefined;
      steps.push({
        plan,
        name: plan.name,
        startAt: plan.startAt,
        status: outcome,
        endAt: plan.endAt,
        ...(reason === undefined ? {} : { statusReason: reason }),
        completed: true,
      });
    } else if (cancelling) {
      const done = now >= cancel.completedAt;
      steps.push({
        plan,
        name: plan.name,
        startAt: plan.startAt,
        status: done ? 'CANCELLED' : 'CANCELLING',
        ...(done ? { endAt: cancel.completedAt } : {}),
        statusReason: CANCELLED_REASON,
        completed: false,
      });
    } else {
      steps.push({
        plan,
        name: plan.name,
        startAt: plan.startAt,
        status: 'RUNNING',
        completed: false,
      });
    }
  }
  let endAt: number | undefined;
  if (status === 'CANCELLED') endAt = cancel?.completedAt;
  else if (status === 'SUCCEED' || status === 'FAILED') endAt = job.endAt;
  return {
    status,
    ...(endAt === undefined ? {} : { endAt }),
    steps,
    settled: endAt !== undefined,
  };
}

function failedReason(plan: StepPlan): string {
  return `${plan.name} failed`;
}
