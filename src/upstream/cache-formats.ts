/**
 * How cached Amplify answers are written to Redis and read back. A value is JSON:
 * `{"v":1,"value":...}` or `{"v":1,"notFound":{"message":...,"upstream":...}}`; dates are ISO
 * strings. Reading checks the version and the whole shape, so a value another release wrote in
 * another shape is a miss, never a wrong answer.
 *
 * Bump {@link CACHE_FORMAT_VERSION} whenever a cached shape changes (a field added to JobRecord
 * fails to compile here until its schema has it): the version is in every key and every value, so
 * during a rolling deploy old and new replicas each keep to their own entries.
 */
import { z } from 'zod';
import { ErrorCode, GatewayError } from '../errors.js';
import { JOB_STATUSES, JOB_TYPES, type JobRecord, SOURCE_URL_TYPES } from './shapes.js';

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

const jobRecordSchema = z.object({
  key: z.object({ appId: z.string(), branchName: z.string(), jobId: z.string() }),
  summary: z.object({
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
  }),
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
