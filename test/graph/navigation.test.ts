/**
 * Apps -> branches -> jobs, as a newcomer walks them: every field is compared with the exact JSON
 * the local Amplify puts on the wire (read over HTTP here), written from the API notes rather
 * than from src/.
 */

import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXAMPLE, demoExample } from '../../src/http/graphiql.js';
import { type Stack, startStack } from '../support/stack.js';

type Wire = Record<string, unknown>;

function time(value: unknown): string | null {
  return typeof value === 'number' ? new Date(Math.round(value * 1000)).toISOString() : null;
}
function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
function url(value: unknown): string | null {
  return typeof value === 'string' && value !== '' && URL.canParse(value) ? value : null;
}

const APP_FIELDS = `appId appArn name description repository platform defaultDomain createTime updateTime
  productionBranch { branchName status lastDeployTime thumbnailUrl }`;
const BRANCH_FIELDS = `appId branchName branchArn displayName description stage framework enableAutoBuild
  createTime updateTime customDomains pullRequestEnvironmentName totalNumberOfJobs url activeJob { jobId }`;

function expectedApp(wire: Wire) {
  const production = wire.productionBranch as Wire | undefined;
  return {
    appId: wire.appId,
    appArn: str(wire.appArn),
    name: str(wire.name),
    description: str(wire.description),
    repository: url(wire.repository),
    platform: str(wire.platform),
    defaultDomain: str(wire.defaultDomain),
    createTime: time(wire.createTime),
    updateTime: time(wire.updateTime),
    productionBranch: production
      ? {
          branchName: str(production.branchName),
          status: str(production.status),
          lastDeployTime: time(production.lastDeployTime),
          thumbnailUrl: url(production.thumbnailUrl),
        }
      : null,
  };
}

function expectedBranch(appId: string, wire: Wire, defaultDomain: string) {
  const total = str(wire.totalNumberOfJobs);
  const active = str(wire.activeJobId);
  const displayName = str(wire.displayName);
  return {
    appId,
    branchName: wire.branchName,
    branchArn: str(wire.branchArn),
    displayName,
    description: str(wire.description),
    stage: str(wire.stage),
    framework: str(wire.framework),
    enableAutoBuild: typeof wire.enableAutoBuild === 'boolean' ? wire.enableAutoBuild : null,
    createTime: time(wire.createTime),
    updateTime: time(wire.updateTime),
    customDomains: Array.isArray(wire.customDomains) ? wire.customDomains : null,
    pullRequestEnvironmentName: str(wire.pullRequestEnvironmentName),
    totalNumberOfJobs: total === null ? null : Number(total),
    url: displayName ? `https://${displayName}.${defaultDomain}` : null,
    activeJob: active ? { jobId: active } : null,
  };
}

/** `data[field]` of an answer, typed by the test; fails when it is absent. */
function field<T>(data: Record<string, unknown> | null | undefined, name: string): T {
  const value = data?.[name];
  if (value === undefined || value === null)
    throw new Error(`no ${name} in ${JSON.stringify(data)}`);
  return value as T;
}

describe('navigating apps, branches and jobs', () => {
  let stack: Stack;

  beforeAll(async () => {
    // These tests read a whole app with `branches(first: 50) { activeJob }`: up to 52 upstream
    // calls by page size, over the default budget of 50 (what they prove is the answers' shape).
    stack = await startStack({ env: { MAX_UPSTREAM_CALLS_PER_OPERATION: '200' } });
  });
  afterEach(() => stack.la.stats.reset());
  afterAll(() => stack.close());

  async function wire(path: string): Promise<Wire> {
    const response = await fetch(`${stack.la.url}${path}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Wire;
  }

  it("runs GraphiQL's opening example with no id: apps, their branches and their latest jobs", async () => {
    expect(DEFAULT_EXAMPLE.variables).toBeUndefined();
    const body = await stack.graphql(DEFAULT_EXAMPLE.query);
    expect(body.errors).toBeUndefined();
    const apps = field<{
      nodes: Array<{ branches: { nodes: Array<{ jobs: { nodes: Array<{ jobId: string }> } }> } }>;
    }>(body.data, 'apps').nodes;
    expect(apps).toHaveLength(3);
    for (const app of apps) {
      expect(app.branches.nodes.length).toBeGreaterThan(0);
      for (const branch of app.branches.nodes) expect(branch.jobs.nodes.length).toBeGreaterThan(0);
    }
    // One ListApps, one ListBranches per app, one ListJobs per branch: nothing per job.
    expect(stack.la.stats.calls('ListApps')).toBe(1);
    expect(stack.la.stats.calls('ListBranches')).toBe(3);
    expect(stack.la.stats.calls('GetJob')).toBe(0);
    expect(stack.la.stats.calls('GetApp')).toBe(0);
  });

  it("opens GraphiQL on the README's first query, and the demo on its first two", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const [first, second] = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    // Comments and layout aside.
    const norm = (text: string) =>
      text
        .replace(/#.*$/gm, '')
        .replace(/\s+/g, ' ')
        .replace(/\s*([{}():,!$])\s*/g, '$1')
        .trim();
    const inner = (text: string) =>
      norm(text)
        .replace(/^[^{]*\{/, '')
        .replace(/\}$/, '');
    expect(norm(DEFAULT_EXAMPLE.query)).toBe(`query Explore${norm(first!)}`);
    const [, appId, branchName, jobId] =
      /job\(appId: "([^"]+)", branchName: "([^"]+)", jobId: "([^"]+)"\)/.exec(second!) ?? [];
    const demo = demoExample({ appId: appId!, branchName: branchName!, jobId: jobId! });
    const asVariables = inner(second!).replace(
      /job\([^)]*\)/,
      'job(appId:$appId,branchName:$branchName,jobId:$jobId)',
    );
    expect(norm(demo.query)).toBe(
      `query Explore($appId:ID!,$branchName:String!,$jobId:ID!){${asVariables}${inner(first!)}}`,
    );
    const body = await stack.graphql(demo.query, demo.variables);
    expect(body.errors).toBeUndefined();
  });

  it("names, in the README's live examples, jobs that are running in the demo world", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const sse = /"variables":\{"a":"(d[a-z0-9]+)","b":"([^"]+)","j":"(\d+)"\}/.exec(readme);
    const stop = /stopJob\(appId: "(d[a-z0-9]+)", branchName: "([^"]+)", jobId: "(\d+)"\)/.exec(
      readme,
    );
    const board =
      /"jobs": \[\{"appId": "(d[a-z0-9]+)", "branchName": "([^"]+)", "jobId": "(\d+)"\}/.exec(
        readme,
      );
    for (const example of [sse, stop, board]) {
      expect(example).not.toBeNull();
      const [, appId, branchName, jobId] = example!;
      const status = stack.la.world.getJobWire(appId!, branchName!, jobId!)?.job.summary.status;
      expect(`${appId}/${branchName}/${jobId}: ${status}`).toBe(
        `${appId}/${branchName}/${jobId}: RUNNING`,
      );
    }
  });

  it('lists every app with all its fields, in one ListApps call', async () => {
    const { apps } = (await wire('/apps?maxResults=100')) as { apps: Wire[] };
    stack.la.stats.reset();
    const body = await stack.graphql(
      `{ apps(first: 100) { nodes { ${APP_FIELDS} } pageInfo { hasNextPage } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data?.apps).toEqual({
      nodes: apps.map(expectedApp),
      pageInfo: { hasNextPage: false },
    });
    expect(stack.la.stats.calls()).toBe(1);
    expect(stack.la.stats.calls('ListApps')).toBe(1);
  });

  it('walks the apps two at a time without gaps or repeats', async () => {
    const all = stack.la.world.apps().map((app) => app.appId);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const body = await stack.graphql(
        'query($after: String) { apps(first: 2, after: $after) { nodes { appId } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      const page = field<{
        nodes: Array<{ appId: string }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      }>(body.data, 'apps');
      seen.push(...page.nodes.map((n) => n.appId));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all);
  });

  it('shows every branch of every app, quirks included, exactly as Amplify sends it', async () => {
    for (const app of stack.la.world.apps()) {
      const appWire = ((await wire(`/apps/${app.appId}`)) as { app: Wire }).app;
      const { branches } = (await wire(`/apps/${app.appId}/branches`)) as { branches: Wire[] };
      const body = await stack.graphql(
        `query($a: ID!) { app(appId: $a) { ${APP_FIELDS} branches(first: 50) { nodes { ${BRANCH_FIELDS} } } } }`,
        { a: app.appId },
      );
      expect(body.errors, app.name).toBeUndefined();
      const { branches: page, ...fields } = field<Wire & { branches: { nodes: Wire[] } }>(
        body.data,
        'app',
      );
      expect(fields).toEqual(expectedApp(appWire));
      expect(page.nodes).toEqual(
        branches.map((b) => expectedBranch(app.appId, b, String(appWire.defaultDomain))),
      );
    }
  });

  it("reads the quirks app's gaps as nulls: no description or repository, stage NONE, a sparse branch", async () => {
    const quirk = stack.la.world.quirkApp();
    const body = await stack.graphql(
      `query($a: ID!, $s: String!, $n: String!) {
        app(appId: $a) { description repository }
        none: branch(appId: $a, branchName: $n) { stage }
        sparse: branch(appId: $a, branchName: $s) { description framework activeJob { jobId } customDomains }
      }`,
      { a: quirk.appId, s: quirk.sparseBranch, n: quirk.stageNoneBranch },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      app: { description: null, repository: null },
      none: { stage: 'NONE' },
      sparse: { description: null, framework: null, activeJob: null, customDomains: null },
    });
  });

  it('goes from apps to branches to jobs with the same summaries ListJobs sends', async () => {
    const body = await stack.graphql(`{
      apps(first: 2) { nodes { appId branches(first: 2) { nodes { branchName
        jobs(first: 3) { nodes { appId branchName jobId summary { jobId status jobArn } isTerminal } }
      } } } }
    }`);
    expect(body.errors).toBeUndefined();
    const apps = field<{
      nodes: Array<{
        appId: string;
        branches: {
          nodes: Array<{ branchName: string; jobs: { nodes: Array<Wire & { summary: Wire }> } }>;
        };
      }>;
    }>(body.data, 'apps').nodes;
    expect(apps).toHaveLength(2);
    for (const app of apps) {
      expect(app.branches.nodes).toHaveLength(2);
      for (const branch of app.branches.nodes) {
        const path = `/apps/${app.appId}/branches/${encodeURIComponent(branch.branchName)}/jobs?maxResults=3`;
        const { jobSummaries } = (await wire(path)) as { jobSummaries: Wire[] };
        expect(branch.jobs.nodes).toEqual(
          jobSummaries.map((s) => ({
            appId: app.appId,
            branchName: branch.branchName,
            jobId: s.jobId,
            summary: { jobId: s.jobId, status: s.status, jobArn: s.jobArn },
            isTerminal: ['SUCCEED', 'FAILED', 'CANCELLED'].includes(String(s.status)),
          })),
        );
      }
    }
  });

  it('skips list entries it cannot key (null, a number) and keeps the rest of the page', async () => {
    const [app] = stack.la.world.apps();
    const branch = app!.branches[0]!.branchName;
    const clean = await stack.graphql(
      'query($a: ID!, $b: String!) { apps { nodes { appId } } app(appId: $a) { branches { nodes { branchName } } } branch(appId: $a, branchName: $b) { jobs(first: 6) { nodes { jobId } } } }',
      { a: app!.appId, b: branch },
    );
    expect(clean.errors).toBeUndefined();
    for (const operation of ['ListApps', 'ListBranches', 'ListJobs'] as const) {
      stack.la.faults.add({ operations: operation, kind: 'corrupt', variant: 'badEntries' });
    }
    try {
      stack.wireProblems.length = 0;
      const damaged = await stack.graphql(
        'query($a: ID!, $b: String!) { apps { nodes { appId } } app(appId: $a) { branches { nodes { branchName } } } branch(appId: $a, branchName: $b) { jobs(first: 6) { nodes { jobId } } } }',
        { a: app!.appId, b: branch },
      );
      expect(damaged.errors).toBeUndefined();
      // The same entries, without the two the local Amplify slipped in.
      expect(damaged.data).toEqual(clean.data);
      const skipped = stack.wireProblems.filter((p) => p.kind === 'skippedEntry');
      expect(new Set(skipped.map((p) => p.operation))).toEqual(
        new Set(['ListApps', 'ListBranches', 'ListJobs']),
      );
      expect(skipped).toHaveLength(6);
    } finally {
      stack.la.faults.clear();
    }
  });

  it('reads damaged app, branch and page answers through the shape check', async () => {
    const [app] = stack.la.world.apps();
    const branch = app!.branches[0]!;
    const query = `query($a: ID!, $b: String!) {
      app(appId: $a) { name }
      branch(appId: $a, branchName: $b) { totalNumberOfJobs customDomains jobs(first: 2) { nodes { jobId } } }
    }`;
    const vars = { a: app!.appId, b: branch.branchName };
    // Members of the wrong type read as null (reported); a number where Amplify sends a string
    // of digits is still a count.
    stack.wireProblems.length = 0;
    const wrongTypes = stack.la.faults.add({
      operations: ['GetApp', 'GetBranch'],
      kind: 'corrupt',
      variant: 'wrongTypes',
    });
    const typed = await stack.graphql(query, vars);
    stack.la.faults.remove(wrongTypes);
    expect(typed.errors).toBeUndefined();
    expect(typed.data).toMatchObject({
      app: { name: null },
      branch: { totalNumberOfJobs: branch.jobs, customDomains: null },
    });
    expect(stack.wireProblems.map((p) => `${p.operation} ${p.path}`)).toEqual(
      expect.arrayContaining(['GetApp app.name', 'GetBranch branch.customDomains']),
    );
    // An answer without its entity is UPSTREAM_INVALID_RESPONSE, never a made-up app or page.
    const noEntity = stack.la.faults.add({
      operations: ['GetApp', 'ListJobs'],
      kind: 'corrupt',
      variant: 'noJob',
    });
    const missing = await stack.graphql(query, vars);
    stack.la.faults.remove(noEntity);
    expect(missing.data).toEqual({ app: null, branch: null });
    expect(
      Object.fromEntries(
        (missing.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]),
      ),
    ).toEqual({ app: 'UPSTREAM_INVALID_RESPONSE', 'branch.jobs': 'UPSTREAM_INVALID_RESPONSE' });
  });

  it('answers NOT_FOUND for an app or branch Amplify does not have, and BAD_USER_INPUT before any call for a malformed one', async () => {
    const [app] = stack.la.world.apps();
    const body = await stack.graphql(
      `query($a: ID!) {
        noApp: app(appId: "dnosuchapp0000") { appId }
        noBranch: branch(appId: $a, branchName: "no-such-branch") { branchName }
      }`,
      { a: app!.appId },
    );
    expect(body.data).toEqual({ noApp: null, noBranch: null });
    expect(new Set(body.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['NOT_FOUND']));
    stack.la.stats.reset();
    const bad = await stack.graphql(`{
      a: app(appId: "Not-An-Id") { appId }
      b: branch(appId: "d1", branchName: "") { branchName }
    }`);
    expect(bad.errors?.map((e) => e.extensions?.code)).toEqual([
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
    ]);
    expect(stack.la.stats.calls()).toBe(0);
  });

  it("derives a running job's duration from the request time, and a finished job's from its times", async () => {
    const running = stack.la.world.listJobKeys({ status: 'RUNNING' })[0]!;
    const wireJob = stack.la.world.getJobWire(running.appId, running.branchName, running.jobId)!;
    const before = Date.now();
    const body = await stack.graphql(
      `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) {
        durationSeconds isTerminal failedStep { stepName } steps { status durationSeconds }
      } }`,
      { a: running.appId, b: running.branchName, j: running.jobId },
    );
    const after = Date.now();
    const job = field<{
      durationSeconds: number;
      isTerminal: boolean;
      failedStep: null;
      steps: Array<{ status: string; durationSeconds: number }>;
    }>(body.data, 'job');
    const start = Number(wireJob.job.summary.startTime) * 1000;
    expect(job.isTerminal).toBe(false);
    expect(job.failedStep).toBeNull();
    expect(job.durationSeconds).toBeGreaterThanOrEqual((before - start) / 1000 - 0.001);
    expect(job.durationSeconds).toBeLessThanOrEqual((after - start) / 1000 + 0.001);
    for (const [i, step] of job.steps.entries()) {
      const s = wireJob.job.steps[i]!;
      if (s.endTime !== undefined) {
        expect(step.durationSeconds).toBeCloseTo(Number(s.endTime) - Number(s.startTime), 3);
      } else {
        expect(step.status).toBe('RUNNING');
        expect(step.durationSeconds).toBeGreaterThan(0);
      }
    }
  });

  it('names the first failed step of a failed job', async () => {
    const failed = stack.la.world.listJobKeys({ status: 'FAILED' })[0]!;
    const steps = stack.la.world.getJobWire(failed.appId, failed.branchName, failed.jobId)!.job
      .steps;
    const firstFailed = steps.find((s) => s.status === 'FAILED');
    expect(firstFailed).toBeDefined();
    const body = await stack.graphql(
      `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) {
        isTerminal durationSeconds summary { startTime endTime } failedStep { stepName statusReason }
      } }`,
      { a: failed.appId, b: failed.branchName, j: failed.jobId },
    );
    const job = field<{
      isTerminal: boolean;
      durationSeconds: number;
      summary: { startTime: string; endTime: string };
      failedStep: { stepName: string; statusReason: string };
    }>(body.data, 'job');
    expect(job.isTerminal).toBe(true);
    expect(job.failedStep).toEqual({
      stepName: firstFailed?.stepName,
      statusReason: firstFailed?.statusReason,
    });
    expect(job.durationSeconds).toBeCloseTo(
      (Date.parse(job.summary.endTime) - Date.parse(job.summary.startTime)) / 1000,
      3,
    );
  });
});
