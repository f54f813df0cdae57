/**
 * The inputs, end to end: the local Amplify damages its real GetJob answer (`corrupt`) or
 * answers a status Amplify never sends (`status`), the real SDK reads it over HTTP, and the
 * gateway answers GraphQL. The expected job is computed from the emulator's own wire JSON.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FaultRule, JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const QUERY = `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) {
  jobId
  summary { jobId commitMessage commitTime startTime status endTime jobType }
  steps { stepName startTime status endTime logUrl screenshots { name url } }
} }`;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type Json = Record<string, unknown>;
interface JobAnswer {
  jobId: string;
  summary: Json;
  steps: Json[];
}

/** Epoch seconds on the wire → what DateTime prints. */
const time = (value: unknown) =>
  typeof value === 'number' ? new Date(Math.round(value * 1000)).toISOString() : null;

describe('damaged answers from the local Amplify', () => {
  let stack: Stack;
  let job: JobKeyInfo;
  let wire: { summary: Json; steps: Json[] };

  beforeAll(async () => {
    stack = await startStack({ env: { UPSTREAM_MAX_ATTEMPTS: '2' } });
    // A finished webhook build with a screenshot step: every variant has something to damage.
    const found = stack.la.world
      .listJobKeys({ status: 'SUCCEED', jobType: 'WEB_HOOK' })
      .find((key) => {
        const body = stack.la.world.getJobWire(key.appId, key.branchName, key.jobId);
        return (body?.job.steps ?? []).some((step) => step.screenshots !== undefined);
      });
    if (!found) throw new Error('no finished webhook job with screenshots in the demo world');
    job = found;
    const body = stack.la.world.getJobWire(job.appId, job.branchName, job.jobId);
    wire = body?.job as unknown as { summary: Json; steps: Json[] };
    expect(wire.steps.length).toBeGreaterThanOrEqual(2);
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
    stack.wireProblems.length = 0;
  });
  afterAll(() => stack.close());

  async function ask(rule: FaultRule) {
    stack.la.faults.add(rule);
    const reply = await stack.post({
      query: QUERY,
      variables: { a: job.appId, b: job.branchName, j: job.jobId },
    });
    expect(reply.status).toBe(200);
    return reply.body;
  }

  async function served(variant: string): Promise<JobAnswer> {
    const body = await ask({ operations: 'GetJob', kind: 'corrupt', variant } as FaultRule);
    expect(body.errors, variant).toBeUndefined();
    const answer = body.data?.job as JobAnswer;
    for (const o of [answer.summary, ...answer.steps]) {
      for (const t of [o.startTime, o.endTime, o.commitTime]) {
        if (typeof t === 'string') expect(t).toMatch(RFC3339);
      }
    }
    return answer;
  }

  it('serves the job without a null entry of steps, reported once (nullStep)', async () => {
    const answer = await served('nullStep');
    expect(answer.steps.map((s) => s.stepName)).toEqual(wire.steps.map((s) => s.stepName));
    expect(answer.summary.status).toBe('SUCCEED');
    expect(stack.wireProblems.map((p) => [p.kind, p.path])).toEqual([
      ['skippedEntry', 'job.steps[1]'],
    ]);
  });

  it('reads every timestamp sent in epoch milliseconds as null and keeps the rest (msTimestamps)', async () => {
    const answer = await served('msTimestamps');
    expect(answer.summary).toMatchObject({
      jobId: job.jobId,
      status: 'SUCCEED',
      commitTime: null,
      startTime: null,
      endTime: null,
    });
    expect(answer.steps.every((s) => s.startTime === null && s.endTime === null)).toBe(true);
    expect(answer.steps).toHaveLength(wire.steps.length);
    const startProblem = stack.wireProblems.find((p) => p.path === 'job.summary.startTime');
    expect(startProblem).toMatchObject({
      kind: 'unprintableTime',
      value: String(Math.round((wire.summary.startTime as number) * 1000)),
    });
  });

  it('serves the job when every timestamp is an ISO-8601 string, with the times parsed (isoTimestamps)', async () => {
    const answer = await served('isoTimestamps');
    expect(answer.summary).toMatchObject({
      startTime: time(wire.summary.startTime),
      endTime: time(wire.summary.endTime),
      commitTime: time(wire.summary.commitTime),
    });
    expect(answer.steps.map((s) => s.startTime)).toEqual(wire.steps.map((s) => time(s.startTime)));
    expect(stack.wireProblems[0]?.kind).toBe('undecodable');
    expect(stack.wireProblems.slice(1).every((p) => p.kind === 'isoTime')).toBe(true);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('reads start times past the year 9999 as null and keeps end times (farFuture)', async () => {
    const answer = await served('farFuture');
    expect(answer.summary.startTime).toBeNull();
    expect(answer.summary.endTime).toBe(time(wire.summary.endTime));
    expect(answer.steps.map((s) => s.startTime)).toEqual(wire.steps.map(() => null));
    expect(answer.steps.map((s) => s.endTime)).toEqual(wire.steps.map((s) => time(s.endTime)));
  });

  it('reads members of the wrong type as null (wrongTypes)', async () => {
    const answer = await served('wrongTypes');
    expect(answer.summary.status).toBeNull();
    expect(answer.summary.commitMessage).toBeNull();
    expect(answer.summary.jobType).toBe('WEB_HOOK');
    expect(answer.steps[0]?.stepName).toBeNull();
    const shots = wire.steps.findIndex((step) => step.screenshots !== undefined);
    expect(answer.steps[shots]?.screenshots).toEqual([]);
    expect(stack.wireProblems.every((p) => p.kind === 'wrongType')).toBe(true);
    expect(stack.wireProblems.map((p) => p.path)).toContain('job.summary.status');
  });

  it('reads steps sent as an object as no steps, reported (stepsNotList)', async () => {
    const answer = await served('stepsNotList');
    expect(answer.steps).toEqual([]);
    expect(answer.summary.status).toBe('SUCCEED');
    expect(stack.wireProblems.map((p) => p.path)).toEqual(['job.steps']);
  });

  it('answers UPSTREAM_INVALID_RESPONSE, not retryable, for an answer without a job (noJob)', async () => {
    const body = await ask({
      operations: 'GetJob',
      kind: 'corrupt',
      variant: 'noJob',
    } as FaultRule);
    expect(body.data).toEqual({ job: null });
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_INVALID_RESPONSE',
      retryable: false,
      upstream: { httpStatus: 200 },
    });
    expect(body.errors?.[0]?.message).toMatch(/has no job/);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it.each([
    [
      502,
      'html',
      'UPSTREAM_UNREADABLE_RESPONSE',
      true,
      /HTTP 502 with a non-JSON body \(text\/html\)/,
      2,
    ],
    [
      503,
      'text',
      'UPSTREAM_UNREADABLE_RESPONSE',
      true,
      /HTTP 503 with a non-JSON body \(text\/plain\)/,
      2,
    ],
    [403, 'html', 'UPSTREAM_UNREADABLE_RESPONSE', false, /HTTP 403 with a non-JSON body/, 1],
    [503, 'json', 'UPSTREAM_UNAVAILABLE', true, /Amplify failed \(HTTP 503\)/, 2],
    [500, 'empty', 'UPSTREAM_UNAVAILABLE', true, /Amplify failed \(HTTP 500\)/, 2],
    [302, 'empty', 'UPSTREAM_UNEXPECTED_STATUS', false, /HTTP 302 without an AWS error type/, 1],
    [418, 'json', 'UPSTREAM_UNEXPECTED_STATUS', false, /HTTP 418 .*does not expect/, 1],
    [200, 'empty', 'UPSTREAM_INVALID_RESPONSE', false, /has no job/, 1],
  ] as const)(
    'answers HTTP %i with a %s body as %s',
    async (statusCode, bodyShape, code, retryable, message, calls) => {
      const body = await ask({
        operations: 'GetJob',
        kind: 'status',
        statusCode,
        body: bodyShape,
      } as FaultRule);
      expect(body.data).toEqual({ job: null });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code, retryable });
      expect(body.errors?.[0]?.message).toMatch(message);
      expect(stack.la.stats.calls('GetJob')).toBe(calls);
    },
  );

  it('keeps serving once the faults are gone', async () => {
    const body = await ask({ operations: 'GetJob', kind: 'latency', latencyMs: 0 } as FaultRule);
    expect(body.errors).toBeUndefined();
    const answer = body.data?.job as JobAnswer | undefined;
    expect(answer?.summary.startTime).toBe(time(wire.summary.startTime));
  });
});
