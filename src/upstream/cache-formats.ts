/**
 * How cached Amplify answers (jobs, apps, branches, pages of lists, step logs) are written to
 * Redis and read back. A value is JSON:
 * `{"v":1,"value":...}` or `{"v":1,"notFound":{"message":...,"upstream":...}}`; dates are ISO
 * strings. Reading checks the version and the whole shape, so a value another release wrote in
 * another shape is a miss, never a wrong answer.
 *
 * Bump {@link CACHE_FORMAT_VERSION} whenever a cached shape changes (a field added to JobRecord
 * or AppRecord fails to compile here until its schema has it): the version is in every key and every value, so
 * during a rolling deploy old and new replicas each keep to their own entries.
 */
import { z } from 'zod';
import { ErrorCode, GatewayError } from '../errors.js';
import type { AppRecord } from './app-shapes.js';
import type { BranchRecord } from './branch-shapes.js';
import type { JobListItem, Page } from './page-shapes.js';
import { JOB_STATUSES, JOB_TYPES, type JobRecord, SOURCE_URL_TYPES } from './shapes.js';
import type { StepLogRecord } from './step-log.js';

export const CACHE_FORMAT_VERSION = 1;

/** One cached answer: a value, or Amplify's NOT_FOUND (kept briefly; other errors never). */
export type CacheEntry<V> = { value: V } | { notFound: GatewayError };

/** Reads and writes one method's answers. */
export interface CacheFormat<V> {
  encode(entry: CacheEntry<V>): string;
  /** `null` when the text is not this version's shape. */
  decode(text: string): CacheEntry<V> | null;
}

const date = z.iso.datetime().transform((text) => new Date(text));
const nullableDate = date.nullable();
const text = z.string().nullable();
const status = z.enum([...JOB_STATUSES, 'UNKNOWN']).nullable();

const jobKey = z.object({ appId: z.string(), branchName: z.string(), jobId: z.string() });

const jobSummarySchema = z.object({
  jobArn: text,
  jobId: text,
  commitId: text,
  commitMessage: text,
  commitTime: nullableDate,
  startTime: nullableDate,
  status,
  endTime: nullableDate,
  jobType: z.enum([...JOB_TYPES, 'UNKNOWN']).nullable(),
  sourceUrl: text,
  sourceUrlType: z.enum([...SOURCE_URL_TYPES, 'UNKNOWN']).nullable(),
});

const jobRecordSchema = z.object({
  key: jobKey,
  summary: jobSummarySchema,
  steps: z.array(
    z.object({
      stepName: text,
      startTime: nullableDate,
      status,
      endTime: nullableDate,
      logUrl: text,
      artifactsUrl: text,
      testArtifactsUrl: text,
      testConfigUrl: text,
      screenshots: z.array(z.object({ name: z.string(), url: z.string() })),
      statusReason: text,
      context: text,
    }),
  ),
}) satisfies z.ZodType<JobRecord>;

const appRecordSchema = z.object({
  appId: z.string(),
  appArn: text,
  name: text,
  description: text,
  repository: text,
  platform: text,
  defaultDomain: text,
  createTime: nullableDate,
  updateTime: nullableDate,
  productionBranch: z
    .object({
      branchName: text,
      status: text,
      lastDeployTime: nullableDate,
      thumbnailUrl: text,
    })
    .nullable(),
}) satisfies z.ZodType<AppRecord>;

const branchRecordSchema = z.object({
  appId: z.string(),
  branchName: z.string(),
  branchArn: text,
  displayName: text,
  description: text,
  stage: text,
  framework: text,
  enableAutoBuild: z.boolean().nullable(),
  createTime: nullableDate,
  updateTime: nullableDate,
  customDomains: z.array(z.string()).nullable(),
  pullRequestEnvironmentName: text,
  totalNumberOfJobs: z.number().int().nullable(),
  activeJobId: text,
}) satisfies z.ZodType<BranchRecord>;

const jobListItemSchema = z.object({
  key: jobKey,
  summary: jobSummarySchema,
}) satisfies z.ZodType<JobListItem>;

const page = <T>(item: z.ZodType<T>) =>
  z.object({ items: z.array(item), nextToken: z.string().nullable() });

const stepLogSchema = z.object({
  text: z.string(),
  textBytes: z.number().int(),
  totalBytes: z.number().int(),
  truncated: z.boolean(),
}) satisfies z.ZodType<StepLogRecord>;

const upstreamDetails = z
  .object({
    errorName: z.string(),
    httpStatus: z.number().nullable(),
    requestId: z.string().nullable(),
    attempts: z.number().nullable(),
  })
  .nullable();

function envelope<V>(value: z.ZodType<V>) {
  return z.union([
    z.object({ v: z.literal(CACHE_FORMAT_VERSION), value }),
    z.object({
      v: z.literal(CACHE_FORMAT_VERSION),
      notFound: z.object({ message: z.string(), upstream: upstreamDetails }),
    }),
  ]);
}

/** A format for answers of one shape, given its schema. */
export function cacheFormat<V>(schema: z.ZodType<V>): CacheFormat<V> {
  const stored = envelope(schema);
  return {
    encode(entry) {
      if ('value' in entry) return JSON.stringify({ v: CACHE_FORMAT_VERSION, value: entry.value });
      const { message, upstream } = entry.notFound;
      return JSON.stringify({ v: CACHE_FORMAT_VERSION, notFound: { message, upstream } });
    },
    decode(text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return null;
      }
      const parsed = stored.safeParse(json);
      if (!parsed.success) return null;
      if ('value' in parsed.data) return { value: parsed.data.value as V };
      const { message, upstream } = parsed.data.notFound;
      return {
        notFound: new GatewayError(ErrorCode.NOT_FOUND, message, {
          ...(upstream === null ? {} : { upstream }),
        }),
      };
    },
  };
}

export const jobRecordFormat: CacheFormat<JobRecord> = cacheFormat(jobRecordSchema);
export const appRecordFormat: CacheFormat<AppRecord> = cacheFormat(appRecordSchema);
export const branchRecordFormat: CacheFormat<BranchRecord> = cacheFormat(branchRecordSchema);
export const appPageFormat: CacheFormat<Page<AppRecord>> = cacheFormat(page(appRecordSchema));
export const branchPageFormat: CacheFormat<Page<BranchRecord>> = cacheFormat(
  page(branchRecordSchema),
);
export const jobPageFormat: CacheFormat<Page<JobListItem>> = cacheFormat(page(jobListItemSchema));
export const stepLogFormat: CacheFormat<StepLogRecord> = cacheFormat(stepLogSchema);
