/**
 * The shape check's readers, one by one, on hand-made answers: what each member of the wrong type
 * becomes, what is reported, and when an answer is refused as having no usable entity.
 */
import type {
  Branch,
  GetJobCommandOutput,
  ListJobsCommandOutput,
  Step,
} from '@aws-sdk/client-amplify';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  type AnswerContext,
  isPrintableTime,
  readAnswer,
  type WireObject,
  type WireProblem,
} from '../../src/upstream/wire-check.js';

function context(): AnswerContext & {
  problems: WireProblem[];
  unknown: Array<[string, string]>;
} {
  const problems: WireProblem[] = [];
  const unknown: Array<[string, string]> = [];
  return {
    operation: 'GetJob',
    subject: 'job 7 of branch "main" in app d1',
    metadata: { httpStatusCode: 200, requestId: 'req-1', attempts: 1 },
    onProblem: (problem) => problems.push(problem),
    onUnknownValue: (enumName, value) => unknown.push([enumName, value]),
    problems,
    unknown,
  };
}

/** A reader over one step-shaped object, as if it were `job.steps[0]`. */
function step(members: Record<string, unknown>) {
  const ctx = context();
  const job = readAnswer<GetJobCommandOutput>({ job: { steps: [members] } }, ctx).entity(
    'job',
    'job',
  );
  let reader: WireObject<Step> | null = null;
  job.list('steps', (item) => {
    reader = item;
    return null;
  });
  if (reader === null) throw new Error('no step reader');
  return { read: reader as WireObject<Step>, ctx };
}

describe('member readers', () => {
  it('reads strings, and reads any other type as null, reporting it with its path and raw value', () => {
    const { read, ctx } = step({ stepName: 'BUILD', statusReason: 42, context: { a: 1 } });
    expect(read.text('stepName')).toBe('BUILD');
    expect(read.text('statusReason')).toBeNull();
    expect(read.text('context')).toBeNull();
    expect(read.text('logUrl')).toBeNull(); // absent: null, not a problem
    expect(ctx.problems).toEqual([
      expect.objectContaining({
        kind: 'wrongType',
        operation: 'GetJob',
        subject: 'job 7 of branch "main" in app d1',
        path: 'job.steps[0].statusReason',
        value: '42',
      }),
      expect.objectContaining({ path: 'job.steps[0].context', value: '{"a":1}' }),
    ]);
  });

  it('reads times from the SDK (Date) and from raw JSON (epoch seconds, numeric strings)', () => {
    const { read, ctx } = step({
      startTime: new Date('2023-11-14T22:13:21.500Z'),
      endTime: 1700000002.25,
    });
    expect(read.time('startTime')?.toISOString()).toBe('2023-11-14T22:13:21.500Z');
    expect(read.time('endTime')?.toISOString()).toBe('2023-11-14T22:13:22.250Z');
    expect(step({ endTime: '1700000002.25' }).read.time('endTime')?.toISOString()).toBe(
      '2023-11-14T22:13:22.250Z',
    );
    expect(ctx.problems).toEqual([]);
  });

  it.each([
    [
      'epoch milliseconds where seconds belong (as the SDK decodes them)',
      new Date(1700000001500 * 1000),
      '1700000001500',
    ],
    ['epoch milliseconds in raw JSON', 1700000001500, '1700000001500'],
    ['a year above 9999', new Date((1700000001.5 + 253402300800) * 1000), '255102300801.5'],
    ['a value beyond what a Date holds', 1e300, '1e+300'],
    ['an invalid Date', new Date(Number.NaN), 'Invalid Date'],
    ['a year below 0000', -62167219200.001, '-62167219200.001'],
  ])('reads %s as null and reports the raw value', (_name, value, raw) => {
    const { read, ctx } = step({ startTime: value });
    expect(read.time('startTime')).toBeNull();
    expect(ctx.problems).toEqual([
      expect.objectContaining({
        kind: 'unprintableTime',
        path: 'job.steps[0].startTime',
        value: raw,
      }),
    ]);
  });

  it('keeps the first and last moments DateTime can print', () => {
    for (const iso of ['0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      const { read, ctx } = step({ startTime: new Date(iso) });
      expect(read.time('startTime')?.toISOString()).toBe(iso);
      expect(ctx.problems).toEqual([]);
    }
  });

  it('parses an RFC 3339 string where epoch seconds belong, and reports it', () => {
    const { read, ctx } = step({
      startTime: '2023-11-14T22:13:21.500Z',
      endTime: '2023-11-14T23:13:22+01:00',
    });
    expect(read.time('startTime')?.toISOString()).toBe('2023-11-14T22:13:21.500Z');
    expect(read.time('endTime')?.toISOString()).toBe('2023-11-14T22:13:22.000Z');
    expect(ctx.problems.map((p) => p.kind)).toEqual(['isoTime', 'isoTime']);
  });

  it.each([
    ['a date without a time', '2023-11-14'],
    ['words', 'yesterday'],
    ['a boolean', true],
    ['an object', {}],
    ['a list', [1700000000]],
  ])('reads a time given as %s as null and reports it', (_name, value) => {
    const { read, ctx } = step({ startTime: value });
    expect(read.time('startTime')).toBeNull();
    expect(ctx.problems).toHaveLength(1);
    expect(ctx.problems[0]?.kind).toBe('wrongType');
  });

  it('reads URLs as sent, an empty string as null silently, anything else as null with a report', () => {
    const presigned = 'https://bucket.s3.amazonaws.com/log.txt?X-Amz-Signature=a%2Fb';
    const { read, ctx } = step({
      logUrl: presigned,
      artifactsUrl: '',
      testArtifactsUrl: 'not a url',
      testConfigUrl: 7,
    });
    expect(read.url('logUrl')).toBe(presigned);
    expect(read.url('artifactsUrl')).toBeNull();
    expect(read.url('testArtifactsUrl')).toBeNull();
    expect(read.url('testConfigUrl')).toBeNull();
    expect(ctx.problems.map((p) => [p.kind, p.path])).toEqual([
      ['invalidUrl', 'job.steps[0].testArtifactsUrl'],
      ['wrongType', 'job.steps[0].testConfigUrl'],
    ]);
  });

  it('reads enum values: known as they are, unknown strings as UNKNOWN (told apart), other types as null', () => {
    const statuses = ['SUCCEED', 'FAILED'] as const;
    const known = step({ status: 'FAILED' });
    expect(known.read.enumValue('status', statuses, 'JobStatus')).toBe('FAILED');
    const unknown = step({ status: 'SCHEDULED' });
    expect(unknown.read.enumValue('status', statuses, 'JobStatus')).toBe('UNKNOWN');
    expect(unknown.ctx.unknown).toEqual([['JobStatus', 'SCHEDULED']]);
    expect(unknown.ctx.problems).toEqual([]);
    const wrong = step({ status: 42 });
    expect(wrong.read.enumValue('status', statuses, 'JobStatus')).toBeNull();
    expect(wrong.ctx.problems[0]).toMatchObject({ kind: 'wrongType', value: '42' });
  });

  it('reads URL maps, skipping entries that are not URLs and reading a map of the wrong type as null', () => {
    const { read, ctx } = step({
      screenshots: { phone: 'https://s3/phone.png', tablet: '', desktop: 5, watch: 'nope' },
    });
    expect(read.urlMap('screenshots')).toEqual([['phone', 'https://s3/phone.png']]);
    expect(ctx.problems.map((p) => [p.kind, p.path])).toEqual([
      ['skippedEntry', 'job.steps[0].screenshots.desktop'],
      ['invalidUrl', 'job.steps[0].screenshots.watch'],
    ]);
    expect(step({ screenshots: 'x' }).read.urlMap('screenshots')).toBeNull();
    expect(step({ screenshots: ['https://s3/a.png'] }).read.urlMap('screenshots')).toBeNull();
  });
});

describe('other shapes (branches, pages)', () => {
  function branch(members: Record<string, unknown>) {
    const ctx = context();
    const read = readAnswer<{ branch?: Branch }>({ branch: members }, ctx).entity(
      'branch',
      'branch',
    );
    return { read, ctx };
  }

  it('reads counts from numbers and digit strings, booleans, string lists and string maps', () => {
    const { read, ctx } = branch({
      totalNumberOfJobs: '42',
      enableAutoBuild: true,
      customDomains: ['a.example', 7, 'b.example'],
      tags: { team: 'web', cost: 3 },
    });
    expect(read.count('totalNumberOfJobs')).toBe(42);
    expect(read.bool('enableAutoBuild')).toBe(true);
    expect(read.textList('customDomains')).toEqual(['a.example', 'b.example']);
    expect(read.textMap('tags')).toEqual([['team', 'web']]);
    expect(ctx.problems.map((p) => p.path)).toEqual([
      'branch.customDomains[1]',
      'branch.tags.cost',
    ]);
  });

  it.each([
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['letters', '12a'],
    ['a boolean', true],
  ])('reads a count given as %s as null', (_name, value) => {
    const { read, ctx } = branch({ totalNumberOfJobs: value });
    expect(read.count('totalNumberOfJobs')).toBeNull();
    expect(ctx.problems).toHaveLength(1);
  });

  it('reads booleans and string lists of the wrong type as null', () => {
    const { read, ctx } = branch({ enableAutoBuild: 'true', customDomains: 'a.example' });
    expect(read.bool('enableAutoBuild')).toBeNull();
    expect(read.textList('customDomains')).toBeNull();
    expect(ctx.problems.map((p) => p.kind)).toEqual(['wrongType', 'wrongType']);
  });

  it('skips page entries that are not objects and keeps the rest in order', () => {
    const ctx = context();
    const page = readAnswer<ListJobsCommandOutput>(
      { jobSummaries: [{ jobId: '3' }, null, { jobId: '2' }, 42, { jobId: '1' }] },
      ctx,
    );
    const ids = page.entityList('jobSummaries', 'list of jobs', (entry) => entry.text('jobId'));
    expect(ids).toEqual(['3', '2', '1']);
    expect(ctx.problems.map((p) => [p.kind, p.path])).toEqual([
      ['skippedEntry', 'jobSummaries[1]'],
      ['skippedEntry', 'jobSummaries[3]'],
    ]);
  });

  it('lets the entry mapper skip an entry it cannot use', () => {
    const ctx = context();
    const page = readAnswer<ListJobsCommandOutput>({ jobSummaries: [{ jobId: '3' }, {}] }, ctx);
    expect(page.entityList('jobSummaries', 'list of jobs', (e) => e.text('jobId'))).toEqual(['3']);
  });
});

describe('answers without a usable entity', () => {
  function refusal(action: () => unknown): GatewayError {
    try {
      action();
    } catch (error) {
      if (error instanceof GatewayError) return error;
      throw error;
    }
    throw new Error('expected an UPSTREAM_INVALID_RESPONSE error');
  }

  it.each([
    ['no job member', {}, /has no job \(`job` is missing\)/],
    ['a null job', { job: null }, /has no job/],
    ['a job that is a string', { job: 'x' }, /its job is a string, not an object/],
    ['a job that is a list', { job: [{}] }, /its job is a list, not an object/],
  ])('refuses an answer with %s, never retryable', (_name, answer, message) => {
    const error = refusal(() =>
      readAnswer<GetJobCommandOutput>(answer, context()).entity('job', 'job'),
    );
    expect(error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('job 7 of branch "main" in app d1');
    expect(error.upstream).toEqual({
      errorName: 'InvalidResponse',
      httpStatus: 200,
      requestId: 'req-1',
      attempts: 1,
    });
  });

  it.each([
    ['null', null],
    ['a list', [1, 2]],
    ['a number', 42],
  ])('refuses a body that is %s', (_name, answer) => {
    expect(refusal(() => readAnswer(answer, context())).code).toBe('UPSTREAM_INVALID_RESPONSE');
  });

  it('refuses a page whose list is missing or not a list', () => {
    for (const answer of [{ nextToken: 'abc' }, { jobSummaries: { 0: {} } }]) {
      const page = readAnswer<ListJobsCommandOutput>(answer, context());
      const error = refusal(() => page.entityList('jobSummaries', 'list of jobs', () => 1));
      expect(error.code).toBe('UPSTREAM_INVALID_RESPONSE');
    }
  });

  it('refuses an entity whose id is another one, and accepts the same id written differently', () => {
    const job = readAnswer<GetJobCommandOutput>({ job: { summary: { jobId: '8' } } }, context())
      .entity('job', 'job')
      .entity('summary', 'job summary');
    expect(refusal(() => job.expectId('jobId', '7')).message).toMatch(
      /`job.summary.jobId` is "8", not "7"/,
    );
    const padded = readAnswer<GetJobCommandOutput>(
      { job: { summary: { jobId: '007' } } },
      context(),
    )
      .entity('job', 'job')
      .entity('summary', 'job summary');
    expect(() => padded.expectId('jobId', '7', (a, b) => Number(a) === Number(b))).not.toThrow();
  });
});

describe('isPrintableTime', () => {
  it('is true exactly for the years 0000 to 9999', () => {
    expect(isPrintableTime(new Date('2026-11-18T17:59:09.127Z'))).toBe(true);
    expect(isPrintableTime(new Date(253402300799999))).toBe(true);
    expect(isPrintableTime(new Date(253402300800000))).toBe(false);
    expect(isPrintableTime(new Date(-62167219200000))).toBe(true);
    expect(isPrintableTime(new Date(-62167219200001))).toBe(false);
    expect(isPrintableTime(new Date(Number.NaN))).toBe(false);
  });
});
