/**
 * Pages of Amplify's list operations as plain shapes: the entries of one answer, in Amplify's
 * order, and the `nextToken` to ask for the next one. An entry that cannot be keyed (no app id,
 * branch name or job id) cannot be addressed by anything above the seam, so it is skipped and
 * reported; the rest of the page stands.
 */
import type { App, Branch, JobSummary } from '@aws-sdk/client-amplify';
import { type AppRecord, toAppRecord } from './app-shapes.js';
import { type BranchKey, type BranchRecord, toBranchRecord } from './branch-shapes.js';
import {
  type JobKey,
  type JobSummaryRecord,
  toJobSummaryRecord,
  type UnknownValueListener,
} from './shapes.js';

/** Where a list call starts and how many entries it asks for. */
export interface PageRequest {
  /** Amplify's token from the previous page; null for the first page. */
  nextToken: string | null;
  /** 1 to the operation's maximum (ListApps 100, ListBranches and ListJobs 50). */
  maxResults: number;
}

/** One answer of a list operation. */
export interface Page<T> {
  items: T[];
  /** Pass it back for the next page; null on the last page. */
  nextToken: string | null;
}

/** The most entries one call of each list operation may ask for (the API model's maximum). */
export const MAX_PAGE_SIZE = {
  ListApps: 100,
  ListBranches: 50,
  ListJobs: 50,
} as const;

export interface ListAppsRequest extends PageRequest {}
export interface ListBranchesRequest extends PageRequest {
  appId: string;
}
export interface ListJobsRequest extends PageRequest, BranchKey {}

/** One entry of ListJobs: the job's key and its summary (no steps: those need GetJob). */
export interface JobListItem {
  key: JobKey;
  summary: JobSummaryRecord;
}

/** Told about each list entry that was skipped, with the list's name and why. */
export type SkippedEntryListener = (list: string, reason: string) => void;

function nextTokenOf(value: string | undefined | null): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function entries<T>(value: T[] | undefined | null): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function keyText(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function toAppPage(
  apps: App[] | undefined | null,
  nextToken: string | undefined | null,
  onSkipped: SkippedEntryListener,
): Page<AppRecord> {
  const items: AppRecord[] = [];
  for (const entry of entries(apps)) {
    const appId = isObject(entry) ? keyText(entry.appId) : null;
    if (appId === null) onSkipped('ListApps', 'an app without an appId');
    else items.push(toAppRecord(appId, entry as App));
  }
  return { items, nextToken: nextTokenOf(nextToken) };
}

export function toBranchPage(
  appId: string,
  branches: Branch[] | undefined | null,
  nextToken: string | undefined | null,
  onSkipped: SkippedEntryListener,
): Page<BranchRecord> {
  const items: BranchRecord[] = [];
  for (const entry of entries(branches)) {
    const branchName = isObject(entry) ? keyText(entry.branchName) : null;
    if (branchName === null) onSkipped('ListBranches', 'a branch without a branchName');
    else items.push(toBranchRecord({ appId, branchName }, entry as Branch));
  }
  return { items, nextToken: nextTokenOf(nextToken) };
}

export function toJobPage(
  branch: BranchKey,
  summaries: JobSummary[] | undefined | null,
  nextToken: string | undefined | null,
  onUnknown: UnknownValueListener,
  onSkipped: SkippedEntryListener,
): Page<JobListItem> {
  const items: JobListItem[] = [];
  for (const entry of entries(summaries)) {
    const jobId = isObject(entry) ? keyText(entry.jobId) : null;
    if (jobId === null || !/^[0-9]+$/.test(jobId)) {
      onSkipped('ListJobs', 'a job summary without a valid jobId');
      continue;
    }
    items.push({
      key: { appId: branch.appId, branchName: branch.branchName, jobId },
      summary: toJobSummaryRecord(entry as JobSummary, onUnknown),
    });
  }
  return { items, nextToken: nextTokenOf(nextToken) };
}
