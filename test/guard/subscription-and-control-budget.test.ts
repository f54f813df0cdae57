/**
 * The upstream-call budget (MAX_UPSTREAM_CALLS_PER_OPERATION) beyond queries, over real HTTP:
 * a subscription is estimated as it starts (its selection once per job it follows) and keeps one
 * budget per poll interval, not one per event; startJob and stopJob cost their calls, count
 * against the same budget, and an operation holds at most one of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryCoordination } from '../../src/live/coordination.js';
import { createLiveJobs } from '../../src/live/live-jobs.js';
import { createGatewayContext } from '../../src/schema/context.js';
import { CursorCodec } from '../../src/schema/cursors.js';
import { ANONYMOUS_CALLER } from '../../src/schema/identity.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { openRawStream, type RawStream, releasableBranches, until } from '../support/live.js';
import { type GraphQLBody, type Stack, silentLog, startStack } from '../support/stack.js';
import { ordinaryJobs } from '../support/world.js';

let stack: Stack | null = null;
const streams: RawStream[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) await stream.close();
  await stack?.close();
  stack = null;
});

async function postText(url: string, body: unknown, accept: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify(body),
  });
  return response.text();
}

async function startJob(s: Stack): Promise<JobKey> {
  const branch = releasableBranches(s.la)[0];
  if (branch === undefined) throw new Error('no branch to start a job on');
  const body = await s.graphql(
    'mutation($a: ID!, $b: String!) { startJob(appId: $a, branchName: $b, jobType: RELEASE) { appId branchName jobId } }',
    { a: branch.appId, b: branch.branchName },
  );
  expect(body.errors).toBeUndefined();
  return body.data?.startJob as JobKey;
}

/** Moves the local Amplify's clock until the job changes, and tells the live hub at once. */
async function nextChange(s: Stack, key: JobKey, stream: RawStream): Promise<GraphQLBody> {
  const before = stream.results.length;
  for (let i = 0; i < 60 && stream.results.length === before; i += 1) {
    s.la.clock.advance(5_000);
    await s.app.live.refresh(key);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await until(() => stream.results.length > before, 'the next event');
  return stream.results[before] as GraphQLBody;
}

/** Each event reads the job's branch and the branch's active job: two calls, estimated 3. */
const WITH_ACTIVE_JOB = `subscription($appId: ID!, $branchName: String!, $jobId: ID!) {
  jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) {
    jobId summary { status } branch { activeJob { jobId } }
  }
}`;

describe('subscriptions and the upstream-call budget', () => {
  it("refuses the reviewer's 17-job subscription before any call (it made 602)", async () => {
    stack = await startStack();
    const server = await stack.listen();
    const jobs = stack.la.world
      .listJobKeys()
      .slice(0, 17)
      .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
    expect(jobs).toHaveLength(17);
    const query =
      'subscription($j:[JobKeyInput!]!){ jobsUpdated(jobs:$j){ jobId branch { jobs(first:45){ nodes{ jobId steps{stepName} } } } } }';

    const text = await postText(
      `${server.url}/graphql`,
      { query, variables: { j: jobs } },
      'text/event-stream',
    );

    // 17 first reads, then per job one GetBranch, one ListJobs and 45 GetJob.
    expect(text).toContain('"code":"OPERATION_LIMIT_EXCEEDED"');
    expect(text).toContain('"limit":"upstream_calls"');
    expect(text).toContain(`"estimated":${17 + 17 * (1 + 1 + 45)}`);
    expect(stack.la.stats.calls()).toBe(0);
    expect(stack.app.live.stats().subscriptions).toBe(0);
  });

  it('keeps one budget for all the events of one poll interval', async () => {
    stack = await startStack({
      env: {
        CONTROL_MUTATIONS: 'true',
        MAX_UPSTREAM_CALLS_PER_OPERATION: '3',
        LIVE_POLL_INTERVAL_MS: '600000',
      },
    });
    const s = stack;
    const key = await startJob(s);
    const stream = await openRawStream(
      `${(await s.listen()).url}/graphql`,
      key,
      {},
      WITH_ACTIVE_JOB,
    );
    streams.push(stream);
    await until(() => stream.results.length === 1, 'the first event');
    expect(stream.results[0]?.errors).toBeUndefined();
    expect(stream.results[0]?.data?.jobUpdated).toMatchObject({
      jobId: key.jobId,
      branch: { activeJob: { jobId: key.jobId } },
    });

    // The second event in the same interval has one call left of three: its branch is read,
    // its active job is not.
    const second = await nextChange(s, key, stream);
    expect(second.errors).toMatchObject([
      {
        path: ['jobUpdated', 'branch', 'activeJob'],
        extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'upstream_calls', max: 3 },
      },
    ]);
  });

  it('starts the budget again once the poll interval has passed', async () => {
    stack = await startStack({
      env: {
        CONTROL_MUTATIONS: 'true',
        MAX_UPSTREAM_CALLS_PER_OPERATION: '3',
        LIVE_POLL_INTERVAL_MS: '500',
      },
    });
    const s = stack;
    const key = await startJob(s);
    const stream = await openRawStream(
      `${(await s.listen()).url}/graphql`,
      key,
      {},
      WITH_ACTIVE_JOB,
    );
    streams.push(stream);
    await until(() => stream.results.length === 1, 'the first event');
    await new Promise((resolve) => setTimeout(resolve, 600));

    const second = await nextChange(s, key, stream);
    expect(second.errors).toBeUndefined();
    expect(second.data?.jobUpdated).toMatchObject({ branch: { activeJob: { jobId: key.jobId } } });
  });
});

describe('startJob and stopJob and the upstream-call budget', () => {
  const stop = (i: number, key: JobKey) =>
    `s${i}: stopJob(appId: "${key.appId}", branchName: "${key.branchName}", jobId: "${key.jobId}") { jobId }`;

  it('refuses 90 aliased stopJob (90 StopJob and 90 GetJob) before sending any', async () => {
    stack = await startStack({ env: { CONTROL_MUTATIONS: 'true' } });
    const key = await startJob(stack);
    stack.la.stats.reset();
    const server = await stack.listen();

    const text = await postText(
      `${server.url}/graphql`,
      { query: `mutation { ${Array.from({ length: 90 }, (_, i) => stop(i, key)).join(' ')} }` },
      'application/graphql-response+json',
    );
    const body = JSON.parse(text) as GraphQLBody;

    expect(body.data).toBeUndefined();
    expect(body.errors?.map((e) => e.extensions?.limit).sort()).toEqual([
      'control_fields',
      'upstream_calls',
    ]);
    expect(
      body.errors?.find((e) => e.extensions?.limit === 'upstream_calls')?.extensions,
    ).toMatchObject({ estimated: 180, max: 50 });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses two control fields in one operation, and a stop the budget cannot pay for', async () => {
    stack = await startStack({ env: { CONTROL_MUTATIONS: 'true' } });
    const key = await startJob(stack);
    stack.la.stats.reset();
    const server = await stack.listen();
    const two = JSON.parse(
      await postText(
        `${server.url}/graphql`,
        { query: `mutation { ${stop(0, key)} ${stop(1, key)} }` },
        'application/graphql-response+json',
      ),
    ) as GraphQLBody;
    expect(two.errors).toMatchObject([
      { extensions: { code: 'OPERATION_LIMIT_EXCEEDED', limit: 'control_fields', max: 1 } },
    ]);

    const tight = await stack.gateway({
      CONTROL_MUTATIONS: 'true',
      MAX_UPSTREAM_CALLS_PER_OPERATION: '1',
    });
    const one = JSON.parse(
      await postText(
        `${(await tight.listen()).url}/graphql`,
        { query: `mutation { ${stop(0, key)} }` },
        'application/graphql-response+json',
      ),
    ) as GraphQLBody;
    expect(one.errors?.[0]?.extensions).toMatchObject({
      limit: 'upstream_calls',
      estimated: 2,
      max: 1,
    });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('counts control calls against the request budget the loaders share', async () => {
    stack = await startStack({ env: { CONTROL_MUTATIONS: 'true' } });
    const s = stack;
    const branch = releasableBranches(s.la)[0];
    const [job] = ordinaryJobs(s.la);
    if (branch === undefined || job === undefined) throw new Error('no branch or job');
    const upstream = createSdkUpstream({
      config: s.config.upstream,
      ...s.la.clientConfig(),
      onUnknownValue: () => {},
      onWireProblem: () => {},
    });
    const live = createLiveJobs({
      read: (key) => upstream.getJob(key),
      readFresh: (key) => upstream.getJob(key),
      coordination: createMemoryCoordination(() => {}),
      ...s.config.live,
      log: silentLog,
    });
    try {
      const context = createGatewayContext(
        {
          upstream,
          maxConcurrency: 10,
          maxUpstreamCalls: 1,
          cursors: new CursorCodec('0123456789abcdef0123456789abcdef'),
          live,
          controlMutations: true,
        },
        { requestId: 'budget', log: silentLog, caller: ANONYMOUS_CALLER },
      );
      s.la.stats.reset();
      await context.control.startJob({ ...branch, jobType: 'RELEASE', jobId: null, reason: null });
      // The one call of the budget is spent: the loaders may not read.
      await expect(context.loaders.job.load(job)).rejects.toMatchObject({
        code: 'OPERATION_LIMIT_EXCEEDED',
      });
      expect(() => context.budget.charge('getJob')).toThrow(/budget of 1 Amplify calls/);
      expect(s.la.stats.calls('StartJob')).toBe(1);
      expect(s.la.stats.calls('GetJob')).toBe(0);
    } finally {
      await live.close();
      upstream.destroy();
    }
  });
});
