/**
 * Input validation against the Amplify model's constraints. The JS SDK validates nothing
 * client-side (empty labels, bad patterns and maxResults=500 all reach the wire), so the emulator
 * must, answering 400 BadRequestException like the service. Patterns are full-string matches.
 */
import { badRequest, quoteValue } from './errors.js';
import { JOB_TYPES, type JobType, SOURCE_URL_TYPES, type SourceUrlType } from './model.js';

const APP_ID = /^d[a-z0-9]+$/;
const JOB_ID = /^[0-9]+$/;
const SOURCE_URL = /^(s3|https|http):\/\//;
const DECIMAL = /^[0-9]+$/;

/** Smithy lengths count Unicode code points, not UTF-16 units. */
function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function lengthError(member: string, value: string, min: number, max: number): Error {
  return badRequest(
    `1 validation error detected: Value '${quoteValue(value)}' at '${member}' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
  );
}

function patternError(member: string, value: string, pattern: string): Error {
  return badRequest(
    `1 validation error detected: Value '${quoteValue(value)}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern}`,
  );
}

/** Length check in code points; the fast path avoids iterating short strings. */
function checkLength(member: string, value: string, min: number, max: number): void {
  if (value.length < min || (value.length > max && codePoints(value) > max)) {
    throw lengthError(member, value, min, max);
  }
}

export function validateAppId(appId: string): void {
  checkLength('appId', appId, 1, 20);
  if (!APP_ID.test(appId)) throw patternError('appId', appId, 'd[a-z0-9]+');
}

export function validateBranchName(branchName: string, member = 'branchName'): void {
  checkLength(member, branchName, 1, 255);
}

export function validateJobId(jobId: string, member = 'jobId'): void {
  checkLength(member, jobId, 1, 255);
  if (!JOB_ID.test(jobId)) throw patternError(member, jobId, '[0-9]+');
}

export function validateArtifactId(artifactId: string): void {
  checkLength('artifactId', artifactId, 1, 255);
}

/**
 * `maxResults`: the model allows 0..50 (ListApps 0..100), but a page of 0 items would make a
 * paginator spin, so the emulator honours 1..max and answers 400 for 0 and anything else.
 */
export function parseMaxResults(raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw badRequest(
      `1 validation error detected: Value '${quoteValue(raw)}' at 'maxResults' failed to satisfy constraint: Member must be an integer between 1 and ${max}`,
    );
  }
  return value;
}

export function validateNextToken(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  checkLength('nextToken', raw, 0, 2000);
  return raw;
}

export interface StartJobInput {
  readonly jobType: JobType;
  readonly jobId?: string;
  readonly jobReason?: string;
  readonly commitId?: string;
  readonly commitMessage?: string;
  /** Epoch milliseconds. */
  readonly commitTime?: number;
}

export interface StartDeploymentInput {
  readonly jobId?: string;
  readonly sourceUrl?: string;
  readonly sourceUrlType?: SourceUrlType;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function optionalString(
  object: Record<string, unknown>,
  member: string,
  max: number,
): string | undefined {
  const value = object[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw badRequest(`1 validation error detected: Value at '${member}' must be a string`);
  }
  checkLength(member, value, 0, max);
  return value;
}

/** Timestamps arrive as epoch seconds (a number, or a numeric string, as restJson1 allows). */
function optionalTimestamp(object: Record<string, unknown>, member: string): number | undefined {
  const value = object[member];
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    throw badRequest(
      `1 validation error detected: Value at '${member}' must be a timestamp in epoch seconds`,
    );
  }
  return Math.round(seconds * 1000);
}

export function validateStartJobBody(body: unknown): StartJobInput {
  const object = asObject(body);
  const jobType = object.jobType;
  if (jobType === undefined || jobType === null) {
    throw badRequest(
      "1 validation error detected: Value null at 'jobType' failed to satisfy constraint: Member must not be null",
    );
  }
  if (typeof jobType !== 'string' || !(JOB_TYPES as readonly string[]).includes(jobType)) {
    throw badRequest(
      `1 validation error detected: Value '${quoteValue(String(jobType))}' at 'jobType' failed to satisfy constraint: Member must satisfy enum value set: [${JOB_TYPES.join(', ')}]`,
    );
  }
  const jobId = optionalString(object, 'jobId', 255);
  if (jobId !== undefined) validateJobId(jobId);
  const jobReason = optionalString(object, 'jobReason', 255);
  const commitId = optionalString(object, 'commitId', 255);
  const commitMessage = optionalString(object, 'commitMessage', 10000);
  const commitTime = optionalTimestamp(object, 'commitTime');
  return {
    jobType: jobType as JobType,
    ...(jobId === undefined ? {} : { jobId }),
    ...(jobReason === undefined ? {} : { jobReason }),
    ...(commitId === undefined ? {} : { commitId }),
    ...(commitMessage === undefined ? {} : { commitMessage }),
    ...(commitTime === undefined ? {} : { commitTime }),
  };
}

export function validateStartDeploymentBody(body: unknown): StartDeploymentInput {
  const object = asObject(body);
  const jobId = optionalString(object, 'jobId', 255);
  if (jobId !== undefined) validateJobId(jobId);
  const sourceUrl = optionalString(object, 'sourceUrl', 3000);
  if (sourceUrl !== undefined && !SOURCE_URL.test(sourceUrl)) {
    throw patternError('sourceUrl', sourceUrl, '^(s3|https|http)://.*');
  }
  const sourceUrlType = object.sourceUrlType;
  if (
    sourceUrlType !== undefined &&
    sourceUrlType !== null &&
    (typeof sourceUrlType !== 'string' ||
      !(SOURCE_URL_TYPES as readonly string[]).includes(sourceUrlType))
  ) {
    throw badRequest(
      `1 validation error detected: Value '${quoteValue(String(sourceUrlType))}' at 'sourceUrlType' failed to satisfy constraint: Member must satisfy enum value set: [${SOURCE_URL_TYPES.join(', ')}]`,
    );
  }
  return {
    ...(jobId === undefined ? {} : { jobId }),
    ...(sourceUrl === undefined ? {} : { sourceUrl }),
    ...(typeof sourceUrlType === 'string' ? { sourceUrlType: sourceUrlType as SourceUrlType } : {}),
  };
}
