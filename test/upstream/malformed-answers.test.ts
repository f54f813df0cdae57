/**
 * Damaged GetJob answers, sent by a stand-in server and read by the real AWS SDK, then served
 * through the gateway: no payload, however malformed, may produce a made-up job, a 5xx, an
 * INTERNAL_SERVER_ERROR or a DateTime that is not RFC 3339.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../support/stack.js';
import { type StandIn, type StandInUpstream, startStandIn } from '../support/stand-in.js';

const FULL_JOB = `
  appId branchName jobId
  summary { jobArn jobId commitId commitMessage commitTime startTime status endTime jobType sourceUrl sourceUrlType }
  steps {
    stepName startTime status endTime logUrl artifactsUrl testArtifactsUrl testConfigUrl
    screenshots { name url } statusReason context
  }`;
const QUERY = `query($j: ID!) { job(appId: "d1abc", branchName: "main", jobId: $j) { ${FULL_JOB} } }`;
/** What `DateTime` may print: RFC 3339 in UTC with milliseconds, four-digit years. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type Json = Record<string, unknown>;

/** A well-formed GetJob answer for job `jobId`, as Amplify puts it on the wire. */
function wireJob(jobId: string): Json {
  return {
    job: {
      summary: {
        jobArn: `arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main/jobs/${jobId.padStart(10, '0')}`,
        jobId,
        commitId: 'a1b2c3d',
        commitMessage: 'Fix the header',
        commitTime: 1700000000.25,
        startTime: 1700000001.5,
        status: 'SUCCEED',
        endTime: 1700000301.75,
        jobType: 'WEB_HOOK',
      },
      steps: [
        {
          stepName: 'BUILD',
          startTime: 1700000001.5,
          status: 'SUCCEED',
          endTime: 1700000201,
          logUrl: 'https://logs.example/build.log?X-Amz-Signature=abc',
          context: 'amplify:al2023',
        },
        {
          stepName: 'DEPLOY',
          startTime: 1700000201,
          status: 'SUCCEED',
          endTime: 1700000301.75,
          logUrl: 'https://logs.example/deploy.log',
          screenshots: { phone: 'https://shots.example/phone.png' },
        },
      ],
    },
  };
}

const EXPECTED_SUMMARY = {
  jobArn: 'arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main/jobs/0000000007',
  jobId: '7',
  commitId: 'a1b2c3d',
  commitMessage: 'Fix the header',
  commitTime: '2023-11-14T22:13:20.250Z',
  startTime: '2023-11-14T22:13:21.500Z',
  status: 'SUCCEED',
  endTime: '2023-11-14T22:18:21.750Z',
  jobType: 'WEB_HOOK',
  sourceUrl: null,
  sourceUrlType: null,
};

/** The served job of a reply, failing the test when there is none. */
function jobOf(body: { data?: Record<string, unknown> | null }): { summary: Json; steps: Json[] } {
  const job = body.data?.job;
  if (typeof job !== 'object' || job === null) throw new Error(`no job in ${JSON.stringify(body)}`);
  return job as { summary: Json; steps: Json[] };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('malformed GetJob answers', () => {
  /** The answer the stand-in sends next, by job id. */
  const answers = new Map<string, { json: unknown } | { body: string }>();
  let standIn: StandIn;
  let upstream: StandInUpstream;
  let gateway: Gateway;

  beforeAll(async () => {
    standIn = await startStandIn((req) => {
      const jobId = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      return answers.get(jobId) ?? { json: wireJob(jobId) };
    });
    upstream = standIn.upstream();
    gateway = await createGateway({ upstream });
  });
  afterAll(async () => {
    await gateway.close();
    await standIn.close();
  });

  async function fetchJob(jobId: string, answer: { json: unknown } | { body: string }) {
    answers.set(jobId, answer);
    upstream.wireProblems.length = 0;
    const reply = await gateway.post({ query: QUERY, variables: { j: jobId } });
    return { ...reply, problems: [...upstream.wireProblems] };
  }

  it('serves a well-formed answer with nothing reported', async () => {
    const { status, body, problems } = await fetchJob('7', { json: wireJob('7') });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(jobOf(body).summary).toEqual(EXPECTED_SUMMARY);
    expect(problems).toEqual([]);
  });

  it('skips a null entry in steps, reports it once and serves the job', async () => {
    const answer = wireJob('7') as { job: { steps: unknown[] } };
    answer.job.steps.splice(1, 0, null);
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    const job = jobOf(body);
    expect(job.steps.map((s) => s.stepName)).toEqual(['BUILD', 'DEPLOY']);
    expect(job.summary).toEqual(EXPECTED_SUMMARY);
    expect(problems).toEqual([
      expect.objectContaining({ kind: 'skippedEntry', path: 'job.steps[1]', value: 'null' }),
    ]);
  });

  it('reads epoch milliseconds where seconds belong as null, reports the raw value, keeps the rest', async () => {
    const answer = wireJob('7') as { job: { summary: Json } };
    answer.job.summary.startTime = 1700000001500;
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    const job = jobOf(body);
    expect(job.summary).toEqual({ ...EXPECTED_SUMMARY, startTime: null });
    expect(job.steps).toHaveLength(2);
    expect(problems).toEqual([
      expect.objectContaining({
        kind: 'unprintableTime',
        path: 'job.summary.startTime',
        value: '1700000001500',
      }),
    ]);
  });

  it('reads a time past the year 9999 as null', async () => {
    const answer = wireJob('7') as { job: { steps: Json[] } };
    const first = answer.job.steps[0] as Json;
    first.startTime = 1700000001.5 + 253402300800;
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    const job = jobOf(body);
    expect(job.steps[0]?.startTime).toBeNull();
    expect(job.steps[0]?.endTime).toBe('2023-11-14T22:16:41.000Z');
    expect(problems.map((p) => p.path)).toEqual(['job.steps[0].startTime']);
  });

  it('serves a job whose timestamps are ISO-8601 strings (which the SDK refuses to decode), not as a retryable failure', async () => {
    const answer = wireJob('7') as { job: { summary: Json } };
    answer.job.summary.startTime = '2023-11-14T22:13:21.500Z';
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    const job = jobOf(body);
    expect(job.summary).toEqual(EXPECTED_SUMMARY);
    // Read from the raw JSON: the other timestamps, plain epoch seconds, are as the SDK reads them.
    expect(job.steps[1]?.endTime).toBe('2023-11-14T22:18:21.750Z');
    expect(problems.map((p) => p.kind)).toEqual(['undecodable', 'isoTime']);
    expect(problems[0]?.problem).toMatch(/Expected real number/);
  });

  it('reads a timestamp of another JSON type (which the SDK refuses too) as null, and the rest as sent', async () => {
    const answer = wireJob('7') as { job: { summary: Json } };
    answer.job.summary.endTime = true;
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    expect(jobOf(body).summary).toEqual({
      ...EXPECTED_SUMMARY,
      endTime: null,
    });
    expect(problems.map((p) => [p.kind, p.path])).toEqual([
      ['undecodable', ''],
      ['wrongType', 'job.summary.endTime'],
    ]);
  });

  it('reads members of the wrong type as null and a screenshots map of the wrong type as none', async () => {
    const answer = wireJob('7') as { job: { summary: Json; steps: Json[] } };
    answer.job.summary.status = 42;
    answer.job.summary.commitMessage = {};
    (answer.job.steps[0] as Json).stepName = [];
    (answer.job.steps[1] as Json).screenshots = 'x';
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    const job = jobOf(body);
    expect(job.summary).toEqual({ ...EXPECTED_SUMMARY, status: null, commitMessage: null });
    expect(job.steps[0]?.stepName).toBeNull();
    expect(job.steps[1]?.screenshots).toEqual([]);
    expect(problems.map((p) => p.path)).toEqual([
      'job.summary.commitMessage',
      'job.summary.status',
      'job.steps[0].stepName',
      'job.steps[1].screenshots',
    ]);
  });

  it('reads steps sent as an object instead of a list as no steps, reported', async () => {
    const answer = wireJob('7') as { job: { steps: unknown } };
    answer.job.steps = { 0: (answer.job.steps as Json[])[0] };
    const { body, problems } = await fetchJob('7', { json: answer });
    expect(body.errors).toBeUndefined();
    expect(jobOf(body).steps).toEqual([]);
    expect(problems).toEqual([expect.objectContaining({ kind: 'wrongType', path: 'job.steps' })]);
  });

  it.each([
    ['an empty object', { json: {} }, /has no job/],
    ['a job that is a string', { json: { job: 'x' } }, /job is a string/],
    ['a job without a summary', { json: { job: { steps: [] } } }, /has no job summary/],
    ['a JSON null body', { body: 'null' }, /not a JSON object/],
    ['a JSON list body', { body: '[1,2]' }, /has no job/],
    ['an empty body', { body: '' }, /has no job/],
    [
      'another job than the one asked for',
      { json: wireJob('8') },
      /`job.summary.jobId` is "8", not "7"/,
    ],
  ])('answers UPSTREAM_INVALID_RESPONSE, not retryable, for %s', async (_name, answer, message) => {
    const { status, body } = await fetchJob('7', answer);
    expect(status).toBe(200);
    expect(body.data).toEqual({ job: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toMatch(message);
    expect(body.errors?.[0]?.path).toEqual(['job']);
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_INVALID_RESPONSE',
      retryable: false,
      upstream: { errorName: 'InvalidResponse', httpStatus: 200 },
    });
  });

  it('never answers a 5xx, an internal error or a DateTime that is not RFC 3339, whatever member is damaged', async () => {
    // Every member of the summary, of a step and of the job, replaced by every kind of JSON value.
    const replacements: unknown[] = [
      null,
      42,
      -1,
      1e300,
      1700000001500,
      '',
      'x',
      '2023-11-14T22:13:21.500Z',
      true,
      {},
      [],
      [null],
    ];
    const base = wireJob('7') as { job: { summary: Json; steps: Json[] } };
    const targets: Array<(answer: typeof base) => Json> = [
      (a) => a,
      (a) => a.job as unknown as Json,
      (a) => a.job.summary,
      (a) => a.job.steps[0] as Json,
      (a) => a.job.steps[1] as Json,
    ];
    let cases = 0;
    let servedJobs = 0;
    for (const [t, target] of targets.entries()) {
      for (const member of Object.keys(target(clone(base)))) {
        for (const value of replacements) {
          const answer = clone(base);
          target(answer)[member] = value;
          const label = `${t}:${member}=${JSON.stringify(value)}`;
          const { status, body } = await fetchJob('7', { json: answer });
          cases += 1;
          expect(status, label).toBe(200);
          const codes = (body.errors ?? []).map((e) => e.extensions?.code);
          expect(
            codes.every((c) => c === 'UPSTREAM_INVALID_RESPONSE'),
            label,
          ).toBe(true);
          const job = body.data?.job as { summary: Json; steps: Json[] } | null;
          if (job === null) continue;
          servedJobs += 1;
          expect(job.summary.jobId === null || job.summary.jobId === '7', label).toBe(true);
          const times = [job.summary, ...job.steps].flatMap((o) => [
            o.startTime,
            o.endTime,
            o.commitTime,
          ]);
          for (const time of times) {
            if (time !== null && time !== undefined) expect(time, label).toMatch(RFC3339);
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(250);
    expect(servedJobs).toBeGreaterThan(cases / 2);
  });
});
