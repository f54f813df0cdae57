/**
 * What the gateway keeps of an Amplify branch: the public facts a dashboard shows. Secret members
 * (environment variables, basic-auth credentials, build spec) are never copied, so nothing above
 * the seam can leak them. Every member the live service may omit is `null` (API notes §7: a
 * `get-branch` answer was seen without description, framework, activeJobId or customDomains).
 */
import type { Branch } from '@aws-sdk/client-amplify';
import { text, time } from './shapes.js';

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

function count(value: string | undefined | null): number | null {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) return null;
  const parsed = Number(value);
  return parsed <= INT_MAX ? parsed : null;
}

function flag(value: boolean | undefined | null): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function texts(value: string[] | undefined | null): string[] | null {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}

/**
 * Maps one branch. The key is the one asked for (GetBranch) or the entry's own (ListBranches, which
 * skips entries without a branch name): the record is always keyed.
 */
export function toBranchRecord(key: BranchKey, branch: Branch | undefined | null): BranchRecord {
  const b = typeof branch === 'object' && branch !== null ? branch : ({} as Partial<Branch>);
  const activeJobId = text(b.activeJobId);
  return {
    appId: key.appId,
    branchName: key.branchName,
    branchArn: text(b.branchArn),
    displayName: text(b.displayName),
    description: text(b.description),
    stage: text(b.stage),
    framework: text(b.framework),
    enableAutoBuild: flag(b.enableAutoBuild),
    createTime: time(b.createTime),
    updateTime: time(b.updateTime),
    customDomains: texts(b.customDomains),
    pullRequestEnvironmentName: text(b.pullRequestEnvironmentName),
    totalNumberOfJobs: count(b.totalNumberOfJobs),
    activeJobId: activeJobId === '' ? null : activeJobId,
  };
}
