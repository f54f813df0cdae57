import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLoaders } from '../../src/loaders/index.js';
import { createLimiter } from '../../src/loaders/limiter.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import { type Stack, startStack, testConfig } from '../support/stack.js';

const CAP = 4;

function aliasQuery(keys: Array<Pick<JobKeyInfo, 'appId' | 'branchName' | 'jobId'>>): string {
  const fields = keys.map(
    (k, i) =>
      `j${i}: job(appId: ${JSON.stringify(k.appId)}, branchName: ${JSON.stringify(k.branchName)}, jobId: ${JSON.stringify(k.jobId)}) { jobId summary { jobId status } }`,
  );
  return `{ ${fields.join('\n')} }`;
}

describe('batching GetJob calls per request', () => {
  let stack: Stack;
  let twelve: JobKeyInfo[];

  beforeAll(async () => {
    stack = await startStack({ env: { UPSTREAM_MAX_CONCURRENCY: String(CAP) } });
    twelve = stack.la.world.listJobKeys({ status: 'SUCCEED' }).slice(0, 12);
    expect(twelve).toHaveLength(12);
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack.close());

  it('makes exactly 12 GetJob calls for 60 aliases over 12 distinct jobs, never more than the cap at once', async () => {
    // Latency makes overlap observable: without a cap all 12 would be in flight together.
    stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 40 });
    stack.la.stats.reset();
    const keys = Array.from({ length: 60 }, (_, i) => twelve[i % 12] as JobKeyInfo);
    const body = await stack.graphql(aliasQuery(keys));
    expect(body.errors).toBeUndefined();
    const data = body.data as Record<string, { jobId: string; summary: { jobId: string } }>;
    keys.forEach((key, i) => {
      expect(data[`j${i}`]?.summary.jobId).toBe(key.jobId);
    });
    expect(stack.la.stats.calls('GetJob')).toBe(12);
    expect(stack.la.stats.inFlightHighWater).toBe(CAP);
  });

  it("settles each job as its own answer comes in, not when the batch's slowest does", async () => {
    const [fast, slow] = twelve as [JobKeyInfo, JobKeyInfo];
    stack.la.faults.add({
      operations: 'GetJob',
      kind: 'latency',
      latencyMs: 1_500,
      labels: { jobId: slow.jobId, appId: slow.appId, branchName: slow.branchName },
    });
    const upstream = createSdkUpstream({
      config: testConfig().upstream,
      ...stack.la.clientConfig(),
      onUnknownValue: () => undefined,
      onWireProblem: () => undefined,
    });
    try {
      const loaders = createLoaders(upstream, { maxConcurrency: CAP, maxUpstreamCalls: null });
      // One batch: both keys are asked for in the same tick.
      let slowDone = false;
      const slowLoad = loaders.job.load(slow).then((job) => {
        slowDone = true;
        return job;
      });
      const fastJob = await loaders.job.load(fast);
      expect(fastJob.key.jobId).toBe(fast.jobId);
      expect(slowDone).toBe(false);
      expect((await slowLoad).key.jobId).toBe(slow.jobId);
      expect(stack.la.stats.calls('GetJob')).toBe(2);
    } finally {
      upstream.destroy();
    }
  });

  it('does not share loaders between requests', async () => {
    const query = aliasQuery([twelve[0] as JobKeyInfo]);
    await stack.graphql(query);
    await stack.graphql(query);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('fails only the field whose job failed', async () => {
    const missing = { ...(twelve[0] as JobKeyInfo), jobId: '987654' };
    const bad = { ...(twelve[1] as JobKeyInfo), appId: 'BAD' };
    const body = await stack.graphql(
      aliasQuery([twelve[2] as JobKeyInfo, missing, bad, twelve[3] as JobKeyInfo]),
    );
    const data = body.data as Record<string, unknown>;
    expect(data.j0).toMatchObject({ jobId: twelve[2]?.jobId });
    expect(data.j1).toBeNull();
    expect(data.j2).toBeNull();
    expect(data.j3).toMatchObject({ jobId: twelve[3]?.jobId });
    const codes = Object.fromEntries(
      (body.errors ?? []).map((e) => [String(e.path?.[0]), e.extensions?.code]),
    );
    expect(codes).toEqual({ j1: 'NOT_FOUND', j2: 'BAD_USER_INPUT' });
    // The malformed key never reached Amplify.
    expect(stack.la.stats.calls('GetJob')).toBe(3);
  });
});

describe("a request's limiter of upstream calls", () => {
  it('starts the next queued call before the caller of a settled one resumes', async () => {
    const limit = createLimiter(1);
    let secondStarted = false;
    const first = limit(async () => 'first');
    const second = limit(async () => {
      secondStarted = true;
      return 'second';
    });
    expect(secondStarted).toBe(false);
    expect(await first).toBe('first');
    expect(secondStarted).toBe(true);
    expect(await second).toBe('second');
  });

  it('gives the place of a task that throws instead of rejecting back', async () => {
    const limit = createLimiter(1);
    await expect(
      limit(() => {
        throw new Error('thrown, not rejected');
      }),
    ).rejects.toThrow('thrown, not rejected');
    expect(await limit(async () => 'after')).toBe('after');
  });
});
