/**
 * The cache at the upstream seam, in memory (Redis is in redis-cache.test.ts): through the real
 * SDK against the local Amplify, counting the GetJob calls it receives.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CacheEvent } from '../../src/http/app.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

/** The gateways' clock: the tests move it past a TTL instead of waiting it out. */
let now = Date.now();
const clock = () => now;

function pick(stack: Stack, status: string, count = 1): JobKeyInfo[] {
  const found = stack.la.world.listJobKeys({ status }).slice(0, count);
  if (found.length < count)
    throw new Error(`the demo world has fewer than ${count} ${status} jobs`);
  return found;
}

const vars = (job: { appId: string; branchName: string; jobId: string }) => ({
  a: job.appId,
  b: job.branchName,
  j: job.jobId,
});

describe('the cache of Amplify answers (memory)', () => {
  const ACTIVE_TTL_MS = 2_000;
  let stack: Stack;
  const events: CacheEvent[] = [];

  beforeAll(async () => {
    stack = await startStack({
      env: {
        CACHE_MAX_ENTRIES: '1000',
        CACHE_ACTIVE_TTL_MS: String(ACTIVE_TTL_MS),
        CACHE_NOT_FOUND_TTL_MS: '500',
      },
      onCacheEvent: (event) => events.push(event),
      clock,
    });
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
    events.length = 0;
  });
  afterAll(() => stack.close());

  it('answers 200 concurrent requests for one running job with one GetJob, and asks again once the interval has passed', async () => {
    const [running] = pick(stack, 'RUNNING');
    // Long enough that every request arrives while the one call is under way.
    stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 300, count: 1 });
    // Over real HTTP: 200 requests in flight at once on their own connections.
    const { url } = await stack.listen();
    const bodies = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: QUERY, variables: vars(running!) }),
        });
        expect(response.status).toBe(200);
        return response.json();
      }),
    );
    for (const body of bodies) {
      expect(body).toEqual({
        data: { job: { jobId: running!.jobId, summary: { status: 'RUNNING' } } },
      });
    }
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(events.filter((e) => e.cache === 'upstream' && e.outcome === 'miss')).toHaveLength(1);

    // Just within the interval the answer is still the cached one; just past it, Amplify is asked.
    now += ACTIVE_TTL_MS - 1;
    await stack.graphql(QUERY, vars(running!));
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    now += 2;
    await stack.graphql(QUERY, vars(running!));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('asks Amplify once for a finished job asked 50 times', async () => {
    const [finished] = pick(stack, 'SUCCEED');
    for (let i = 0; i < 50; i++) {
      const body = await stack.graphql(QUERY, vars(finished!));
      expect(body.data).toEqual({
        job: { jobId: finished!.jobId, summary: { status: 'SUCCEED' } },
      });
    }
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(events.filter((e) => e.cache === 'upstream' && e.outcome === 'hit')).toHaveLength(49);
  });

  it('keeps a finished job longer than the interval of a running one', async () => {
    const [, finished] = pick(stack, 'FAILED', 2);
    await stack.graphql(QUERY, vars(finished!));
    now += 100 * ACTIVE_TTL_MS;
    await stack.graphql(QUERY, vars(finished!));
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('keeps NOT_FOUND briefly, with its message, then asks again', async () => {
    const [job] = pick(stack, 'SUCCEED');
    const missing = { ...job!, jobId: '987654' };
    const first = await stack.graphql(QUERY, vars(missing));
    const second = await stack.graphql(QUERY, vars(missing));
    expect(first.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(second).toEqual(first);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    now += 501;
    await stack.graphql(QUERY, vars(missing));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('never keeps an error: the next request asks again and gets the job', async () => {
    const [, , finished] = pick(stack, 'SUCCEED', 3);
    stack.la.faults.add({ operations: 'GetJob', kind: 'accessDenied', count: 1 });
    const failed = await stack.graphql(QUERY, vars(finished!));
    expect(failed.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAUTHORIZED');
    const after = await stack.graphql(QUERY, vars(finished!));
    expect(after.errors).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });
});

describe('the cache bounds and switches', () => {
  let stack: Stack;
  afterAll(() => stack?.close());

  beforeAll(async () => {
    stack = await startStack({ env: { CACHE_MAX_ENTRIES: '2' } });
  });
  afterEach(() => stack.la.stats.reset());

  it('keeps at most CACHE_MAX_ENTRIES answers, dropping the least recently used', async () => {
    const [a, b, c] = pick(stack, 'SUCCEED', 3);
    for (const job of [a, b, c]) await stack.graphql(QUERY, vars(job!));
    expect(stack.la.stats.calls('GetJob')).toBe(3);
    // c and b are kept; a was dropped.
    await stack.graphql(QUERY, vars(c!));
    await stack.graphql(QUERY, vars(b!));
    expect(stack.la.stats.calls('GetJob')).toBe(3);
    await stack.graphql(QUERY, vars(a!));
    expect(stack.la.stats.calls('GetJob')).toBe(4);
  });

  it('keeps at most CACHE_MAX_BYTES of answers, dropping the least recently used', async () => {
    // 64 KiB, the smallest budget: the last few dozen finished jobs fit, not a hundred.
    const small: Gateway = await stack.gateway({
      CACHE_MAX_ENTRIES: '100000',
      CACHE_MAX_BYTES: String(64 * 1024),
    });
    const finished = ['SUCCEED', 'FAILED', 'CANCELLED'].flatMap((status) =>
      stack.la.world.listJobKeys({ status }),
    );
    expect(finished.length).toBeGreaterThanOrEqual(100);
    const jobs = finished.slice(0, 100);
    for (const job of jobs) await small.graphql(QUERY, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(100);
    stack.la.stats.reset();
    for (const job of jobs.slice(-5)) await small.graphql(QUERY, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(0);
    for (const job of jobs.slice(0, 5)) await small.graphql(QUERY, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(5);
  });

  it('asks Amplify every time with CACHE_ACTIVE_TTL_MS=0 for a running job, and never with the cache off', async () => {
    const [running] = pick(stack, 'RUNNING');
    const noActive = await stack.gateway({ CACHE_MAX_ENTRIES: '100', CACHE_ACTIVE_TTL_MS: '0' });
    await noActive.graphql(QUERY, vars(running!));
    await noActive.graphql(QUERY, vars(running!));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    const [finished] = pick(stack, 'CANCELLED');
    const off = await stack.gateway({ CACHE_MAX_ENTRIES: '0' });
    await off.graphql(QUERY, vars(finished!));
    await off.graphql(QUERY, vars(finished!));
    expect(stack.la.stats.calls('GetJob')).toBe(4);
  });
});

describe('the cache of apps, branches, pages of lists and step logs', () => {
  const LIST_TTL_MS = 1_000;
  let stack: Stack;
  let logReads = 0;

  beforeAll(async () => {
    stack = await startStack({
      env: { CACHE_MAX_ENTRIES: '1000', CACHE_LIST_TTL_MS: String(LIST_TTL_MS) },
      clock,
    });
  });
  afterEach(() => {
    stack.la.stats.reset();
    logReads = 0;
  });
  afterAll(() => stack.close());

  /** A gateway on the same local Amplify that counts step-log reads under its cache. */
  const counting = () =>
    stack.gateway(
      { CACHE_MAX_ENTRIES: '1000', CACHE_LIST_TTL_MS: String(LIST_TTL_MS) },
      {
        wrap: (upstream) => ({
          ...upstream,
          getStepLog: (request) => {
            logReads += 1;
            return upstream.getStepLog(request);
          },
        }),
      },
    );

  it('keeps an app, a branch and a page of its jobs for CACHE_LIST_TTL_MS, then asks again', async () => {
    const [job] = pick(stack, 'SUCCEED');
    const query =
      'query($a: ID!, $b: String!) { app(appId: $a) { name } branch(appId: $a, branchName: $b) { displayName jobs(first: 5) { nodes { jobId } } } }';
    const variables = { a: job!.appId, b: job!.branchName };
    const first = await stack.graphql(query, variables);
    expect(first.errors).toBeUndefined();
    expect(await stack.graphql(query, variables)).toEqual(first);
    expect(stack.la.stats.snapshot().calls).toMatchObject({ GetApp: 1, GetBranch: 1, ListJobs: 1 });
    now += LIST_TTL_MS + 1;
    await stack.graphql(query, variables);
    expect(stack.la.stats.snapshot().calls).toMatchObject({ GetApp: 2, GetBranch: 2, ListJobs: 2 });
  });

  it('keeps the log of a step without a name by where it lives, not by its re-signed URL', async () => {
    // Every GetJob re-signs the URLs (as AWS does) and names no step.
    let signature = 0;
    const gateway = await stack.gateway(
      { CACHE_MAX_ENTRIES: '1000', CACHE_ACTIVE_TTL_MS: '0' },
      {
        wrap: (upstream) => ({
          ...upstream,
          getJob: async (key) => {
            const job = await upstream.getJob(key);
            signature += 1;
            const steps = job.steps.map((step) => ({
              ...step,
              stepName: null,
              logUrl: step.logUrl === null ? null : `${step.logUrl}?X-Amz-Signature=${signature}`,
            }));
            return { ...job, steps };
          },
          getStepLog: (request) => {
            logReads += 1;
            return upstream.getStepLog(request);
          },
        }),
      },
    );
    // A running job (never kept: CACHE_ACTIVE_TTL_MS=0) whose first step has finished.
    const running = stack.la.world
      .listJobKeys({ status: 'RUNNING' })
      .find(
        (key) =>
          stack.la.world.getJobWire(key.appId, key.branchName, key.jobId)?.job.steps[0]?.status ===
          'SUCCEED',
      );
    if (running === undefined) throw new Error('no running job with a finished step');
    const query =
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { steps { status logUrl log(tailLines: 1) { text } } } }';
    type Steps = { job: { steps: Array<{ status: string; logUrl: string; log: unknown }> } };
    const first = await gateway.graphql(query, vars(running));
    const second = await gateway.graphql(query, vars(running));
    expect(first.errors).toBeUndefined();
    const [before, after] = [first, second].map((body) => (body.data as Steps).job.steps[0]);
    // Two different URLs for the same finished log, read once.
    expect(before?.logUrl).not.toBe(after?.logUrl);
    expect(after?.log).toEqual(before?.log);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    const finishedSteps = (first.data as Steps).job.steps.filter(
      (step) => step.status === 'SUCCEED',
    );
    const runningSteps = (first.data as Steps).job.steps.length - finishedSteps.length;
    // Finished steps' logs once; the running step's log on each request.
    expect(logReads).toBe(finishedSteps.length + 2 * runningSteps);
  });

  it("keeps a finished step's log, and reads a running step's log every time", async () => {
    const gateway = await counting();
    const logs =
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { steps { stepName log { text } } } }';
    const [finished] = pick(stack, 'SUCCEED');
    const done = await gateway.graphql(logs, vars(finished!));
    expect(done.errors).toBeUndefined();
    const job = done.data?.job as { steps: Array<{ log: { text: string } | null }> } | undefined;
    const steps = job?.steps ?? [];
    const withLogs = steps.filter((step) => step.log !== null).length;
    expect(withLogs).toBeGreaterThan(0);
    expect(logReads).toBe(withLogs);
    expect(await gateway.graphql(logs, vars(finished!))).toEqual(done);
    expect(logReads).toBe(withLogs);

    logReads = 0;
    const [running] = pick(stack, 'RUNNING');
    await gateway.graphql(logs, vars(running!));
    const once = logReads;
    expect(once).toBeGreaterThan(0);
    await gateway.graphql(logs, vars(running!));
    // The job itself is kept for the interval; the log of its running step is read again.
    expect(logReads).toBeGreaterThan(once);
  });
});
