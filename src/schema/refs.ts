/**
 * References to the object types that point at each other (a job's branch, a branch's jobs, an
 * app's branches...). Declared here, implemented in their own files (app.ts, branch.ts, job.ts),
 * so the type files can import each other's refs without an import cycle.
 */
import type { AppRecord } from '../upstream/app-shapes.js';
import type { BranchRecord } from '../upstream/branch-shapes.js';
import type { JobKey, JobSummaryRecord, StepRecord } from '../upstream/shapes.js';
import { builder } from './builder.js';
import { connectionTypes } from './connection-types.js';

/**
 * A job as the schema resolves it: from GetJob (summary and steps) or from a page of ListJobs
 * (summary only: its steps are loaded through the per-request job loader when asked for).
 */
export interface JobParent {
  key: JobKey;
  summary: JobSummaryRecord;
  steps?: StepRecord[] | undefined;
}

export const AppRef = builder.objectRef<AppRecord>('App');
export const BranchRef = builder.objectRef<BranchRecord>('Branch');
export const JobRef = builder.objectRef<JobParent>('Job');

export const AppConnectionRef = connectionTypes('App', AppRef, 'Amplify apps');
export const BranchConnectionRef = connectionTypes('Branch', BranchRef, "an app's branches");
export const JobConnectionRef = connectionTypes('Job', JobRef, "a branch's jobs, newest first");
