/**
 * What the gateway keeps of an Amplify branch: the public facts a dashboard shows. Secret members
 * (environment variables, basic-auth credentials, build spec) are never copied, so nothing above
 * the seam can leak them. Every member is read through the shape check (wire-check.ts): one the
 * live service omits (a `get-branch` answer was seen without description, framework, activeJobId
 * or customDomains), or sends with the wrong type, is `null`.
 */
import type { Branch, GetBranchCommandOutput } from '@aws-sdk/client-amplify';
import { type AnswerContext, readAnswer, type WireObject } from './wire-check.js';

/** Identifies one branch of one app. */
export interface BranchKey {
  appId: string;
  branchName: string;
}

export interface BranchRecord {
  appId: string;
  branchName: string;
  branchArn: string | null;
  displayName: string | null;
  description: string | null;
  /** PRODUCTION, BETA, DEVELOPMENT, EXPERIMENTAL, PULL_REQUEST; the live service also sends NONE. */
  stage: string | null;
  framework: string | null;
  enableAutoBuild: boolean | null;
  createTime: Date | null;
  updateTime: Date | null;
  customDomains: string[] | null;
  pullRequestEnvironmentName: string | null;
  /** Amplify sends a string of digits; null when absent, not digits, or beyond a GraphQL Int. */
  totalNumberOfJobs: number | null;
  /** The job number Amplify names as the branch's active (latest) job; null when none. */
  activeJobId: string | null;
}

const INT_MAX = 2 ** 31 - 1;

/** One branch (GetBranch's `branch`, or an entry of ListBranches) whose key is `key`. */
export function branchFrom(branch: WireObject<Branch>, key: BranchKey): BranchRecord {
  const total = branch.count('totalNumberOfJobs');
  const activeJobId = branch.text('activeJobId');
  return {
    appId: key.appId,
    branchName: key.branchName,
    branchArn: branch.text('branchArn'),
    displayName: branch.text('displayName'),
    description: branch.text('description'),
    stage: branch.text('stage'),
    framework: branch.text('framework'),
    enableAutoBuild: branch.bool('enableAutoBuild'),
    createTime: branch.time('createTime'),
    updateTime: branch.time('updateTime'),
    customDomains: branch.textList('customDomains'),
    pullRequestEnvironmentName: branch.text('pullRequestEnvironmentName'),
    totalNumberOfJobs: total !== null && total <= INT_MAX ? total : null,
    activeJobId: activeJobId === '' ? null : activeJobId,
  };
}

/**
 * Maps one GetBranch answer for the branch asked for. Without an object `branch`, or with a
 * `branch.branchName` naming another branch: UPSTREAM_INVALID_RESPONSE.
 */
export function toBranchRecord(
  key: BranchKey,
  answer: unknown,
  context: AnswerContext,
): BranchRecord {
  const branch = readAnswer<GetBranchCommandOutput>(answer, context).entity('branch', 'branch');
  branch.expectId('branchName', key.branchName);
  return branchFrom(branch, key);
}
