/**
 * Argument checks from the Amplify API model, applied before any upstream call so a malformed
 * argument costs nothing and gets a precise message instead of an upstream 400 or 404.
 */
import type { BranchKey } from './branch-shapes.js';
import type { JobKey } from './shapes.js';

const APP_ID = /^d[a-z0-9]+$/;
const JOB_ID = /^[0-9]+$/;

/** Quotes a caller's value for a message, cut short so a huge argument cannot flood the answer. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** Members of `key` named in `fields` that are not strings (keys can come from untyped places). */
function notStrings(key: object, fields: readonly string[]): string[] {
  return fields.filter((field) => typeof (key as Record<string, unknown>)[field] !== 'string');
}

function appIdProblem(appId: string): string[] {
  return appId.length < 1 || appId.length > 20 || !APP_ID.test(appId)
    ? [
        `appId must be 1 to 20 characters: "d" then lowercase letters or digits (got ${quote(appId)})`,
      ]
    : [];
}

function branchNameProblem(branchName: string): string[] {
  // The model counts characters, not UTF-16 units: a branch name may be non-ASCII.
  const length = [...branchName].length;
  return length < 1 || length > 255
    ? [`branchName must be 1 to 255 characters (got ${length})`]
    : [];
}

/** Returns one message per problem; an empty list means the app id is well formed. */
export function appIdProblems(appId: unknown): string[] {
  if (typeof appId !== 'string') return ['appId must be a string'];
  return appIdProblem(appId);
}

/** `jobId must be a string`, `appId and jobId must be strings`: the fields missing or not text. */
function mustBeStrings(fields: readonly string[]): string {
  if (fields.length === 1) return `${fields[0]} must be a string`;
  return `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)} must be strings`;
}

/** Returns one message per problem; an empty list means the key is well formed. */
export function branchKeyProblems(key: BranchKey): string[] {
  const wrong = notStrings(key, ['appId', 'branchName']);
  if (wrong.length > 0) return [mustBeStrings(wrong)];
  return [...appIdProblem(key.appId), ...branchNameProblem(key.branchName)];
}

/** Returns one message per problem; an empty list means the key is well formed. */
export function jobKeyProblems(key: JobKey): string[] {
  // Keys can come from untyped places (federation representations): check types first so a bad
  // key fails on its own instead of throwing inside a batch.
  const wrong = notStrings(key, ['appId', 'branchName', 'jobId']);
  if (wrong.length > 0) return [mustBeStrings(wrong)];
  return [
    ...appIdProblem(key.appId),
    ...branchNameProblem(key.branchName),
    ...jobIdProblems(key.jobId),
  ];
}

/** Returns one message per problem; an empty list means the job id is well formed. */
export function jobIdProblems(jobId: string): string[] {
  return isJobId(jobId) ? [] : [`jobId must be a string of 1 to 255 digits (got ${quote(jobId)})`];
}

/** Whether a value is a job id Amplify could have issued (digits): e.g. a branch's activeJobId. */
export function isJobId(value: string): boolean {
  return value.length >= 1 && value.length <= 255 && JOB_ID.test(value);
}

/** A stable string for one job key (DataLoader cache key, log field). */
export function jobKeyId(key: JobKey): string {
  return JSON.stringify([key.appId, key.branchName, key.jobId]);
}

/** A stable string for one branch key (DataLoader cache key, log field). */
export function branchKeyId(key: BranchKey): string {
  return JSON.stringify([key.appId, key.branchName]);
}
