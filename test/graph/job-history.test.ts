/**
 * A branch's job history through the gateway, against the local Amplify over HTTP: walking pages
 * (no gaps, no repeats), what each page costs upstream, and cursors that must be refused before
 * any call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countingUpstream } from '../support/counting.js';
import { createGateway, type GraphQLBody, type Stack, startStack } from '../support/stack.js';

const PAGE = `query Page($appId: ID!, $branchName: String!, $first: Int, $after: String) {
  branch(appId: $appId, branchName: $branchName) {
    jobs(first: $first, after: $after) {
      edges { cursor node { jobId } }
      nodes { jobId summary { status } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;

interface JobsPage {
  edges: Array<{ cursor: string; node: { jobId: string } }>;
  nodes: Array<{ jobId: string; summary: { status: string } }>;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

function jobsOf(body: GraphQLBody): JobsPage {
  expect(body.errors).toBeUndefined();
  const branch = body.data?.branch as { jobs: JobsPage } | null | undefined;
  if (!branch) throw new Error(`no branch in ${JSON.stringify(body)}`);
  return branch.jobs;
}

describe('a branch job history', () => {
  let stack: Stack;
  let big: { appId: string; branchName: string; jobs: number };
  let other: { appId: string; branchName: string };

  beforeAll(async () => {
    stack = await startStack();
    const branches = stack.la.world
      .apps()
      .filter((app) => !app.quirks)
      .flatMap((app) => app.branches.map((b) => ({ appId: app.appId, ...b })));
    const found = branches.find((b) => b.jobs > 50);
    const second = branches.find((b) => b !== found && b.appId === found?.appId);
    if (!found || !second) throw new Error('the demo world has no branch with more than 50 jobs');
    big = { appId: found.appId, branchName: found.branchName, jobs: found.jobs };
    other = { appId: second.appId, branchName: second.branchName };
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
  });
  afterAll(() => stack.close());

  /** The branch's job ids as the local Amplify holds them, newest first. */
  function expectedJobIds(): string[] {
    return stack.la.world
      .listJobKeys({ appId: big.appId, branchName: big.branchName })
      .map((job) => job.jobId)
      .sort((a, b) => Number(b) - Number(a));
  }

  async function walk(sizes: number[], target = stack) {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const first = sizes[i % sizes.length]!;
      const page = jobsOf(await target.graphql(PAGE, { ...big, first, after }));
      expect(page.nodes.map((n) => n.jobId)).toEqual(page.edges.map((e) => e.node.jobId));
      expect(page.edges.length).toBeLessThanOrEqual(first);
      seen.push(...page.nodes.map((n) => n.jobId));
      if (!page.pageInfo.hasNextPage) return seen;
      expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1]?.cursor);
      after = page.pageInfo.endCursor;
    }
    throw new Error('the walk did not end');
  }

  it('walks a branch of more than 50 jobs page by page with no gaps or repeats', async () => {
    const expected = expectedJobIds();
    expect(expected.length).toBeGreaterThan(50);
    expect(await walk([50])).toEqual(expected);
    // One ListJobs per page: two pages of 50 for up to 100 jobs.
    expect(stack.la.stats.calls('ListJobs')).toBe(Math.ceil(expected.length / 50));
    stack.la.stats.reset();
    expect(await walk([7])).toEqual(expected);
    expect(stack.la.stats.calls('ListJobs')).toBe(Math.ceil(expected.length / 7));
  });

  it('has no gaps or repeats when the page size changes from page to page', async () => {
    const expected = expectedJobIds();
    for (const sizes of [
      [7, 50],
      [30, 50, 3],
      [49, 1, 50],
    ]) {
      expect(await walk(sizes), sizes.join(',')).toEqual(expected);
    }
  });

  it('continues from an edge in the middle of a page', async () => {
    const expected = expectedJobIds();
    const first = jobsOf(await stack.graphql(PAGE, { ...big, first: 10 }));
    expect(first.pageInfo.hasPreviousPage).toBe(false);
    const next = jobsOf(
      await stack.graphql(PAGE, { ...big, first: 5, after: first.edges[3]?.cursor }),
    );
    expect(next.nodes.map((n) => n.jobId)).toEqual(expected.slice(4, 9));
    expect(next.pageInfo.hasPreviousPage).toBe(true);
  });

  it('has no repeats or gaps when jobs start while a client walks', async () => {
    const expected = expectedJobIds();
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page = jobsOf(await stack.graphql(PAGE, { ...big, first: 20, after }));
      seen.push(...page.nodes.map((n) => n.jobId));
      // A new job arrives at the head of the list between two pages.
      if (i === 0) {
        const started = await fetch(
          `${stack.la.url}/apps/${big.appId}/branches/${encodeURIComponent(big.branchName)}/jobs`,
          { method: 'POST', body: JSON.stringify({ jobType: 'RELEASE' }) },
        );
        expect(started.status).toBe(200);
      }
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  it('refuses a page size above the ListJobs maximum, or below 1, before any upstream call', async () => {
    for (const first of [51, 0, -3]) {
      const body = await stack.graphql(PAGE, { ...big, first });
      expect(body.errors?.[0]?.extensions?.code, String(first)).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toContain('first must be from 1 to 50 for Branch.jobs');
    }
    const apps = await stack.graphql('{ apps(first: 101) { nodes { appId } } }');
    expect(apps.errors?.[0]?.message).toContain('first must be from 1 to 100 for Query.apps');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a tampered cursor with BAD_USER_INPUT and no upstream call', async () => {
    const page = jobsOf(await stack.graphql(PAGE, { ...big, first: 5 }));
    const cursor = page.pageInfo.endCursor!;
    stack.la.stats.reset();
    const tampered = [
      `${cursor.slice(0, 3)}${cursor[3] === 'A' ? 'B' : 'A'}${cursor.slice(4)}`,
      cursor.slice(0, -1),
      `${cursor}x`,
      'bm90IGEgY3Vyc29y',
      '',
    ];
    for (const after of tampered) {
      const body = await stack.graphql(PAGE, { ...big, first: 5, after });
      expect(body.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
      expect(body.data?.branch ?? null).toBeNull();
    }
    const apps = await stack.graphql('query($a: String) { apps(after: $a) { nodes { appId } } }', {
      a: tampered[0],
    });
    expect(apps.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it("refuses another list's cursor with BAD_USER_INPUT and no upstream call", async () => {
    const otherPage = jobsOf(await stack.graphql(PAGE, { ...other, first: 5 }));
    const branches = await stack.graphql(
      'query($a: ID!) { app(appId: $a) { branches(first: 2) { pageInfo { endCursor } } } }',
      { a: big.appId },
    );
    const app = branches.data?.app as { branches: { pageInfo: { endCursor: string } } } | undefined;
    const branchesCursor = app?.branches.pageInfo.endCursor;
    expect(branchesCursor).toEqual(expect.any(String));
    stack.la.stats.reset();
    for (const after of [otherPage.pageInfo.endCursor, branchesCursor]) {
      const body = await stack.graphql(PAGE, { ...big, first: 5, after });
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toContain('after is not a cursor of this list');
    }
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a cursor nested under another entity at its own field, before its list call', async () => {
    const job = stack.la.world.listJobKeys({ appId: big.appId, branchName: big.branchName })[0]!;
    const body = await stack.graphql(
      `query($a: ID!, $b: String!, $j: ID!, $after: String) {
        job(appId: $a, branchName: $b, jobId: $j) { jobId branch { jobs(after: $after) { nodes { jobId } } } }
      }`,
      { a: job.appId, b: job.branchName, j: job.jobId, after: 'forged.cursor' },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.path).toEqual(['job', 'branch', 'jobs']);
    expect(stack.la.stats.calls('ListJobs')).toBe(0);
  });

  it("accepts one replica's cursor on another replica with the same CURSOR_SECRET, not with another", async () => {
    const secret = 'replicas-share-this-cursor-secret';
    const a = await createGateway({ upstream: stack.la, env: { CURSOR_SECRET: secret } });
    const b = await createGateway({ upstream: stack.la, env: { CURSOR_SECRET: secret } });
    const c = await createGateway({
      upstream: stack.la,
      env: { CURSOR_SECRET: 'a-different-cursor-secret-value' },
    });
    try {
      const expected = expectedJobIds();
      const first = jobsOf(await a.graphql(PAGE, { ...big, first: 10 }));
      const next = jobsOf(
        await b.graphql(PAGE, { ...big, first: 10, after: first.pageInfo.endCursor }),
      );
      expect(next.nodes.map((n) => n.jobId)).toEqual(expected.slice(10, 20));
      const refused = await c.graphql(PAGE, { ...big, first: 10, after: first.pageInfo.endCursor });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  describe('call costs', () => {
    const counting = countingUpstream();
    let counted: Awaited<ReturnType<typeof createGateway>>;

    beforeAll(async () => {
      counted = await createGateway({
        upstream: stack.la,
        env: { UPSTREAM_MAX_CONCURRENCY: '4' },
        wrap: counting.wrap,
      });
    });
    afterEach(() => counting.reset());
    afterAll(() => counted.close());

    const jobsQuery = (selection: string) =>
      `query($appId: ID!, $branchName: String!) { branch(appId: $appId, branchName: $branchName) { jobs(first: 20) { nodes { jobId ${selection} } } } }`;

    it('a page of jobs without steps is one ListJobs and no GetJob', async () => {
      const body = await counted.graphql(
        jobsQuery('summary { status startTime } isTerminal durationSeconds'),
        big,
      );
      expect(body.errors).toBeUndefined();
      expect(stack.la.stats.calls('ListJobs')).toBe(1);
      expect(stack.la.stats.calls('GetJob')).toBe(0);
      expect(stack.la.stats.calls('GetBranch')).toBe(1);
    });

    it('a page of jobs with steps is one ListJobs and one GetJob per job, capped in concurrency', async () => {
      stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 40 });
      const body = await counted.graphql(
        jobsQuery('steps { stepName } failedStep { stepName }'),
        big,
      );
      expect(body.errors).toBeUndefined();
      expect(stack.la.stats.calls('ListJobs')).toBe(1);
      expect(stack.la.stats.calls('GetJob')).toBe(20);
      expect(stack.la.stats.inFlightHighWater).toBe(4);
    });

    it('batches Job.app and Job.branch: twenty jobs of one branch cost one GetApp and one GetBranch', async () => {
      const body = await counted.graphql(
        jobsQuery('app { appId name } branch { branchName displayName app { name } }'),
        big,
      );
      expect(body.errors).toBeUndefined();
      expect(stack.la.stats.calls('GetApp')).toBe(1);
      // The root `branch` and every Job.branch share one load.
      expect(stack.la.stats.calls('GetBranch')).toBe(1);
      expect(counting.calls('getApp')).toBe(1);
    });

    it('batches Branch.app across branches of one app, and needs no GetApp after a list of apps', async () => {
      const keys = stack.la.world
        .listJobKeys({ appId: big.appId })
        .filter((key, i, all) => all.findIndex((k) => k.branchName === key.branchName) === i);
      expect(keys.length).toBeGreaterThan(2);
      const fields = keys.map(
        (k, i) =>
          `b${i}: branch(appId: ${JSON.stringify(k.appId)}, branchName: ${JSON.stringify(k.branchName)}) { app { name } }`,
      );
      const body = await counted.graphql(`{ ${fields.join('\n')} }`);
      expect(body.errors).toBeUndefined();
      expect(stack.la.stats.calls('GetBranch')).toBe(keys.length);
      expect(stack.la.stats.calls('GetApp')).toBe(1);
      stack.la.stats.reset();
      const listed = await counted.graphql(
        '{ apps { nodes { name branches(first: 50) { nodes { app { name } } } } } }',
      );
      expect(listed.errors).toBeUndefined();
      expect(stack.la.stats.calls('GetApp')).toBe(0);
      expect(stack.la.stats.calls('GetBranch')).toBe(0);
    });

    it('a job reached through a list and again through job(...) costs one GetJob', async () => {
      const ids = expectedJobIds().slice(0, 5);
      const body = await counted.graphql(
        `query($appId: ID!, $branchName: String!, $jobId: ID!) {
          branch(appId: $appId, branchName: $branchName) {
            activeJob { jobId steps { stepName } }
            jobs(first: 5) { nodes { jobId steps { stepName } } }
          }
          job(appId: $appId, branchName: $branchName, jobId: $jobId) { steps { stepName } failedStep { stepName } }
        }`,
        { ...big, jobId: ids[2] },
      );
      expect(body.errors).toBeUndefined();
      // activeJob is the newest job, also on the page; job(...) names the third one.
      expect(stack.la.stats.calls('GetJob')).toBe(5);
      expect(counting.calls('getJob')).toBe(5);
    });
  });
});
