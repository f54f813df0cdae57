/**
 * Every field of every kind of job: the gateway's answer, through the real SDK over HTTP, is
 * compared with the exact JSON the local Amplify puts on the wire for the same job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const FULL_JOB = `
  appId branchName jobId
  summary { jobArn jobId commitId commitMessage commitTime startTime status endTime jobType sourceUrl sourceUrlType }
  steps {
    stepName startTime status endTime logUrl artifactsUrl testArtifactsUrl testConfigUrl
    screenshots { name url } statusReason context
  }`;

const QUERY = `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { ${FULL_JOB} } }`;

type Wire = Record<string, unknown>;

const STATUSES = [
  'CREATED',
  'PENDING',
  'PROVISIONING',
  'RUNNING',
  'FAILED',
  'SUCCEED',
  'CANCELLING',
  'CANCELLED',
];
const TYPES = ['RELEASE', 'RETRY', 'MANUAL', 'WEB_HOOK'];
const SOURCE_TYPES = ['ZIP', 'BUCKET_PREFIX'];

/** Epoch seconds on the wire → the DateTime the gateway must show (ISO, UTC, milliseconds). */
function time(value: unknown): string | null {
  return typeof value === 'number' ? new Date(Math.round(value * 1000)).toISOString() : null;
}
function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
function url(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
function known(values: string[], value: unknown): string | null {
  if (typeof value !== 'string') return null;
  return values.includes(value) ? value : 'UNKNOWN';
}

/** What the gateway must answer for one wire job, written from the API notes, not from src/. */
type Key = Pick<JobKeyInfo, 'appId' | 'branchName' | 'jobId'>;

function expected(key: Key, wire: Wire) {
  const summary = (wire.summary ?? {}) as Wire;
  const steps = (wire.steps ?? []) as Wire[];
  return {
    appId: key.appId,
    branchName: key.branchName,
    jobId: key.jobId,
    summary: {
      jobArn: str(summary.jobArn),
      jobId: str(summary.jobId),
      commitId: str(summary.commitId),
      commitMessage: str(summary.commitMessage),
      commitTime: time(summary.commitTime),
      startTime: time(summary.startTime),
      status: known(STATUSES, summary.status),
      endTime: time(summary.endTime),
      jobType: known(TYPES, summary.jobType),
      sourceUrl: url(summary.sourceUrl),
      sourceUrlType: known(SOURCE_TYPES, summary.sourceUrlType),
    },
    steps: steps.map((step) => ({
      stepName: str(step.stepName),
      startTime: time(step.startTime),
      status: known(STATUSES, step.status),
      endTime: time(step.endTime),
      logUrl: url(step.logUrl),
      artifactsUrl: url(step.artifactsUrl),
      testArtifactsUrl: url(step.testArtifactsUrl),
      testConfigUrl: url(step.testConfigUrl),
      screenshots: Object.entries((step.screenshots ?? {}) as Record<string, string>)
        .filter(([, target]) => url(target) !== null)
        .map(([name, target]) => ({ name, url: target })),
      statusReason: str(step.statusReason),
      context: str(step.context),
    })),
  };
}

describe('job mapping', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  function wireOf(key: Key): Wire {
    const body = stack.la.world.getJobWire(key.appId, key.branchName, key.jobId);
    if (!body) throw new Error(`the local Amplify has no job ${JSON.stringify(key)}`);
    return body.job as unknown as Wire;
  }

  async function fetchJob(key: Pick<JobKeyInfo, 'appId' | 'branchName' | 'jobId'>) {
    const body = await stack.graphql(QUERY, { a: key.appId, b: key.branchName, j: key.jobId });
    expect(body.errors).toBeUndefined();
    return (body.data as { job: unknown }).job;
  }

  it('covers every status and every job type of the demo world', () => {
    const all = stack.la.world.listJobKeys();
    for (const status of STATUSES)
      expect(
        all.some((j) => j.status === status),
        status,
      ).toBe(true);
    for (const type of TYPES)
      expect(
        all.some((j) => j.jobType === type),
        type,
      ).toBe(true);
  });

  it('maps every field of one job of each status and type exactly as Amplify sent it', async () => {
    const seen = new Set<string>();
    const sample: JobKeyInfo[] = [];
    for (const job of stack.la.world.listJobKeys()) {
      const kind = `${job.status}/${job.jobType}`;
      if (!seen.has(kind)) {
        seen.add(kind);
        sample.push(job);
      }
    }
    expect(sample.length).toBeGreaterThanOrEqual(STATUSES.length + TYPES.length - 1);
    for (const key of sample) {
      const wire = wireOf(key);
      expect(await fetchJob(key), `${key.appId}/${key.branchName}/${key.jobId}`).toEqual(
        expected(key, wire),
      );
    }
  });

  it('keeps millisecond precision and the zero-padded ARN of the wire', async () => {
    const [key] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
    if (!key) throw new Error('no job');
    const job = (await fetchJob(key)) as { summary: { startTime: string; jobArn: string } };
    expect(job.summary.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(job.summary.jobArn).toMatch(new RegExp(`/jobs/${key.jobId.padStart(10, '0')}$`));
  });

  it('shows screenshots, artifacts and logs served by the local Amplify, and the log downloads', async () => {
    const withShots = stack.la.world
      .listJobKeys({ status: 'SUCCEED', jobType: 'WEB_HOOK' })
      .map((key) => ({ key, wire: wireOf(key) }))
      .find(({ wire }) => ((wire.steps ?? []) as Wire[]).some((s) => s.screenshots));
    if (!withShots) throw new Error('no job with screenshots in the demo world');
    const job = (await fetchJob(withShots.key)) as {
      steps: Array<{
        stepName: string;
        logUrl: string | null;
        screenshots: Array<{ url: string }>;
      }>;
    };
    const verify = job.steps.find((s) => s.screenshots.length > 0);
    expect(verify?.screenshots[0]?.url).toMatch(/^https?:\/\//);
    const build = job.steps.find((s) => s.logUrl !== null);
    const log = await fetch(build?.logUrl ?? '');
    expect(log.status).toBe(200);
    expect((await log.text()).length).toBeGreaterThan(20);
  });

  it('resolves branch names with a slash, spaces and non-ASCII characters', async () => {
    const odd = stack.la.world.listJobKeys().filter((j) => /[/ ]|[^ -~]/.test(j.branchName));
    const names = new Set(odd.map((j) => j.branchName));
    expect([...names].some((n) => n.includes('/'))).toBe(true);
    expect([...names].some((n) => /[^ -~]/.test(n))).toBe(true);
    for (const name of names) {
      const key = odd.find((j) => j.branchName === name);
      if (!key) continue;
      const job = (await fetchJob(key)) as { branchName: string; summary: { jobId: string } };
      expect(job.branchName).toBe(name);
      expect(job.summary.jobId).toBe(key.jobId);
    }
  });

  describe('live-service quirks', () => {
    function quirk(predicate: (wire: Wire) => boolean) {
      for (const key of stack.la.world.quirkJobs()) {
        const wire = wireOf(key);
        if (predicate(wire)) return { key, wire };
      }
      throw new Error('quirk job not found in the local Amplify');
    }

    it('resolves a sparse job whose summary lacks "required" members, with nulls', async () => {
      const { key, wire } = quirk((w) => Object.keys((w.summary ?? {}) as Wire).length <= 3);
      const job = (await fetchJob(key)) as { summary: Record<string, unknown> };
      expect(job).toEqual(expected(key, wire));
      expect(job.summary.commitId).toBeNull();
      expect(job.summary.startTime).toBeNull();
      expect(job.summary.jobId).toBe(key.jobId);
    });

    it('reads enum values it does not know as UNKNOWN and reports each raw value', async () => {
      const { key, wire } = quirk((w) => {
        const status = ((w.summary ?? {}) as Wire).status;
        return typeof status === 'string' && !STATUSES.includes(status);
      });
      const job = (await fetchJob(key)) as { summary: { status: string; jobType: string | null } };
      expect(job).toEqual(expected(key, wire));
      expect(job.summary.status).toBe('UNKNOWN');
      const raw = ((wire.summary ?? {}) as Wire).status as string;
      expect(stack.unknownValues).toContainEqual(['JobStatus', raw]);
    });

    it('reads empty-string URLs as null instead of failing the field', async () => {
      const { key, wire } = quirk((w) => ((w.steps ?? []) as Wire[]).some((s) => s.logUrl === ''));
      const job = (await fetchJob(key)) as { steps: Array<{ logUrl: string | null }> };
      expect(job).toEqual(expected(key, wire));
      expect(job.steps.some((s) => s.logUrl === null)).toBe(true);
    });
  });
});
