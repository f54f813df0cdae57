/**
 * Pages of Amplify's list operations as plain shapes: the entries of one answer, in Amplify's
 * order, and the `nextToken` to ask for the next one. Answers are read through the shape check
 * (wire-check.ts): a page without its list is UPSTREAM_INVALID_RESPONSE; an entry that is not an
 * object, or that cannot be keyed (no app id, branch name or job id), cannot be addressed by
 * anything above the seam, so it is skipped and reported; the rest of the page stands.
 */
import type {
  ListAppsCommandOutput,
  ListBranchesCommandOutput,
  ListJobsCommandOutput,
} from '@aws-sdk/client-amplify';
import { type AppRecord, appFrom } from './app-shapes.js';
import { type BranchKey, type BranchRecord, branchFrom } from './branch-shapes.js';
import { type JobKey, type JobSummaryRecord, toJobSummaryRecord } from './shapes.js';
import { type AnswerContext, readAnswer, type WireObject } from './wire-check.js';

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

const JOB_ID = /^[0-9]+$/;

/** The entry's id member, or null (reported: the entry is skipped) when it cannot key it. */
function keyOf<T>(
  entry: WireObject<T>,
  member: keyof T & string,
  what: string,
  valid: (id: string) => boolean = (id) => id !== '',
): string | null {
  const id = entry.text(member);
  if (id !== null && valid(id)) return id;
  entry.report(
    'skippedEntry',
    entry.path,
    `${what} without a usable ${member}: skipped`,
    entry.raw(member),
  );
  return null;
}

function nextTokenOf(page: WireObject<{ nextToken?: string }>): string | null {
  const token = page.text('nextToken');
  return token === '' ? null : token;
}

/** Maps one ListApps answer. */
export function toAppPage(answer: unknown, context: AnswerContext): Page<AppRecord> {
  const page = readAnswer<ListAppsCommandOutput>(answer, context);
  const items = page.entityList('apps', 'list of apps', (entry) => {
    const appId = keyOf(entry, 'appId', 'an app');
    return appId === null ? null : appFrom(entry, appId);
  });
  return { items, nextToken: nextTokenOf(page) };
}

/** Maps one ListBranches answer for the app `appId`. */
export function toBranchPage(
  appId: string,
  answer: unknown,
  context: AnswerContext,
): Page<BranchRecord> {
  const page = readAnswer<ListBranchesCommandOutput>(answer, context);
  const items = page.entityList('branches', 'list of branches', (entry) => {
    const branchName = keyOf(entry, 'branchName', 'a branch');
    return branchName === null ? null : branchFrom(entry, { appId, branchName });
  });
  return { items, nextToken: nextTokenOf(page) };
}

/** Maps one ListJobs answer for the branch `branch`. */
export function toJobPage(
  branch: BranchKey,
  answer: unknown,
  context: AnswerContext,
): Page<JobListItem> {
  const page = readAnswer<ListJobsCommandOutput>(answer, context);
  const items = page.entityList('jobSummaries', 'list of job summaries', (entry) => {
    const jobId = keyOf(entry, 'jobId', 'a job summary', (id) => JOB_ID.test(id));
    if (jobId === null) return null;
    return {
      key: { appId: branch.appId, branchName: branch.branchName, jobId },
      summary: toJobSummaryRecord(entry),
    };
  });
  return { items, nextToken: nextTokenOf(page) };
}
