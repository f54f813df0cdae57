/**
 * Argument checks from the Amplify API model, applied before any upstream call so a malformed
 * argument costs nothing and gets a precise message instead of an upstream 400 or 404.
 */
import type { JobKey } from './shapes.js';

const APP_ID = /^d[a-z0-9]+$/;
const JOB_ID = /^[0-9]+$/;

/** Quotes a caller's value for a message, cut short so a huge argument cannot flood the answer. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Returns one message per problem; an empty list means the key is well formed. */
export function jobKeyProblems(key: JobKey): string[] {
  // Keys can come from untyped places (federation representations): check types first so a bad
  // key fails on its own instead of throwing inside a batch.
  const notStrings = (['appId', 'branchName', 'jobId'] as const).filter(
    (field) => typeof key[field] !== 'string',
  );
  if (notStrings.length > 0) return [`${notStrings.join(', ')} must be strings`];
  const problems: string[] = [];
  if (key.appId.length < 1 || key.appId.length > 20 || !APP_ID.test(key.appId)) {
    problems.push(
      `appId must be 1 to 20 characters: "d" then lowercase letters or digits (got ${quote(key.appId)})`,
    );
  }
  // The model counts characters, not UTF-16 units: a branch name may be non-ASCII.
  const branchLength = [...key.branchName].length;
  if (branchLength < 1 || branchLength > 255) {
    problems.push(`branchName must be 1 to 255 characters (got ${branchLength})`);
  }
  if (key.jobId.length < 1 || key.jobId.length > 255 || !JOB_ID.test(key.jobId)) {
    problems.push(`jobId must be a string of digits, at most 255 (got ${quote(key.jobId)})`);
  }
  return problems;
}

/** A stable string for one job key (DataLoader cache key, log field). */
export function jobKeyId(key: JobKey): string {
  return JSON.stringify([key.appId, key.branchName, key.jobId]);
}
