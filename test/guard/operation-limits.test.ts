/**
 * Hostile operations, as an attacker would send them: each is refused before execution with
 * OPERATION_LIMIT_EXCEEDED (or Yoga's own refusal) and costs zero Amplify calls, while the
 * 60-alias dashboard the limits are sized for is still answered.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

/** Every field a dashboard could show for a job. */
const FULL_JOB = `appId branchName jobId
    summary { jobArn jobId commitId commitMessage commitTime startTime status endTime jobType sourceUrl sourceUrlType }
    steps { stepName startTime status endTime logUrl artifactsUrl testArtifactsUrl testConfigUrl screenshots { name url } statusReason context }`;

/** `aliases` aliased job(...) fields over `keys`, through variables, as a dashboard sends them. */
function dashboard(keys: JobKey[], aliases: number, selection = FULL_JOB) {
  const definitions = keys.map((_, k) => `$a${k}: ID!, $b${k}: String!, $j${k}: ID!`);
  const fields = Array.from({ length: aliases }, (_, i) => {
    const k = i % keys.length;
    return `  j${i}: job(appId: $a${k}, branchName: $b${k}, jobId: $j${k}) {\n    ${selection}\n  }`;
  });
  const variables: Record<string, string> = {};
  keys.forEach((key, k) => {
    variables[`a${k}`] = key.appId;
    variables[`b${k}`] = key.branchName;
    variables[`j${k}`] = key.jobId;
  });
  return {
    query: `query Dashboard(${definitions.join(', ')}) {\n${fields.join('\n')}\n}`,
    variables,
  };
}

/** `count` aliased job(...) fields with literal, distinct job ids on one branch. */
function fanOut(count: number, key: JobKey, selection = 'jobId') {
  const fields = Array.from(
    { length: count },
    (_, i) =>
      `j${i}: job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${i + 1}") { ${selection} }`,
  );
  return `{ ${fields.join(' ')} }`;
}

/** Refused as a whole, before execution (no `data`, no error path), and by `limit` among others. */
function expectRefused(body: GraphQLBody, limit: string) {
  expect(body.data).toBeUndefined();
  expect(body.errors?.every((e) => e.path === undefined)).toBe(true);
  expect(body.errors?.find((e) => e.extensions?.limit === limit)?.extensions).toMatchObject({
    code: 'OPERATION_LIMIT_EXCEEDED',
    retryable: false,
    limit,
  });
}

function messageOf(body: GraphQLBody, limit: string): string {
  return body.errors?.find((e) => e.extensions?.limit === limit)?.message ?? '';
}

describe('operation limits with their defaults', () => {
  let stack: Stack;
  let twelve: JobKey[];

  beforeAll(async () => {
    stack = await startStack();
    twelve = jobsFromDistinctBranches(stack.la, 12);
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.la.stats.reset());

  it('answers a dashboard of 60 aliased jobs over 12 distinct keys, every field asked, with 12 GetJob calls', async () => {
    const { query, variables } = dashboard(twelve, 60);
    const reply = await stack.post({ query, variables });

    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    const data = reply.body.data as Record<string, { jobId: string; steps: unknown[] }>;
    expect(Object.keys(data)).toHaveLength(60);
    expect(data.j59?.jobId).toBe(twelve[59 % 12]?.jobId);
    expect(stack.la.stats.calls('GetJob')).toBe(12);
  });

  it('refuses an alias bomb of 1,000 aliases, naming the limit, with zero upstream calls', async () => {
    const key = twelve[0] as JobKey;
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: jobId`).join(' ');
    const bomb = `{ job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${key.jobId}") { ${aliases} } }`;
    const body = await stack.graphql(bomb);

    expectRefused(body, 'aliases');
    expect(messageOf(body, 'aliases')).toMatch(
      /Aliases limit of 100 exceeded, found 1000.*MAX_ALIASES/,
    );
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses the 25 KB POST of 400 aliased jobs over 400 distinct ids with zero upstream calls', async () => {
    const query = fanOut(400, twelve[0] as JobKey);
    expect(JSON.stringify({ query }).length).toBeGreaterThan(20_000);

    expectRefused(await stack.graphql(query), 'aliases');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses 60 distinct jobs, under the alias limit but over the budget of 50 calls, before any call', async () => {
    const body = await stack.graphql(fanOut(60, twelve[0] as JobKey));

    expectRefused(body, 'upstream_calls');
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.extensions).toMatchObject({ max: 50, estimated: 60 });
    expect(body.errors?.[0]?.message).toMatch(
      /up to 60 Amplify calls; the limit is 50 per operation \(MAX_UPSTREAM_CALLS_PER_OPERATION\)/,
    );
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('answers exactly 50 distinct jobs, the budget, repeated in 100 aliases', async () => {
    const key = twelve[0] as JobKey;
    const query = `{ ${fanOut(50, key).slice(2, -2)} ${fanOut(50, key)
      .slice(2, -2)
      .replaceAll(/\bj(\d+):/g, 'k$1:')} }`;
    const body = await stack.graphql(query);

    // Ids 1..50 of one branch: some exist, some do not; none is refused for the budget.
    expect(body.errors?.every((e) => e.extensions?.code === 'NOT_FOUND')).toBe(true);
    expect(stack.la.stats.calls('GetJob')).toBe(50);
  });

  it('estimates from the variables: the same document passes with 12 distinct keys and is refused with 51', async () => {
    const key = twelve[0] as JobKey;
    const query = `query Many(${Array.from({ length: 51 }, (_, i) => `$j${i}: ID!`).join(', ')}) {
      ${Array.from({ length: 51 }, (_, i) => `j${i}: job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: $j${i}) { jobId }`).join('\n')}
    }`;
    const twelveIds = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`j${i}`, String((i % 12) + 1)]),
    );
    const distinctIds = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`j${i}`, String(i + 1)]),
    );

    expect((await stack.graphql(query, twelveIds)).errors?.[0]?.extensions?.limit).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(12);
    stack.la.stats.reset();
    expectRefused(await stack.graphql(query, distinctIds), 'upstream_calls');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses an operation over a limit with null variables after the same text came with 1e400', async () => {
    // JSON reads 1e400 as Infinity, which Int refuses and JSON.stringify writes as null: the
    // estimate kept for one must never stand for the other (a reviewer's finding).
    const { url } = await stack.listen();
    const query = `query Q($t: Int) {
      a: __schema { queryType { name } } b: __schema { queryType { name } } c: __schema { queryType { name } }
      apps(first: $t) { nodes { appId } }
    }`;
    const send = async (variables: string) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
      });
      return (await response.json()) as GraphQLBody;
    };

    const primed = await send('{"t":1e400}');
    expect(primed.errors?.[0]?.message).toMatch(/\$t/);
    expectRefused(await send('{"t":null}'), 'introspection');
    expectRefused(await send('{"t":null}'), 'introspection');
  });

  it('counts fields inside fragments, and leaves out fields skipped with @skip or @include', async () => {
    const key = twelve[0] as JobKey;
    const fields = (from: number) =>
      Array.from(
        { length: 30 },
        (_, i) =>
          `f${from + i}: job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${from + i}") { jobId }`,
      ).join(' ');
    const query = `query Split($more: Boolean!) {
      ...First
      ... on Query @include(if: $more) { ${fields(31)} }
    }
    fragment First on Query { ${fields(1)} }`;

    expectRefused(await stack.graphql(query, { more: true }), 'upstream_calls');
    expect(stack.la.stats.calls()).toBe(0);
    const skipped = await stack.graphql(query, { more: false });
    expect(
      (skipped.errors ?? []).some((e) => e.extensions?.code === 'OPERATION_LIMIT_EXCEEDED'),
    ).toBe(false);
    expect(stack.la.stats.calls('GetJob')).toBe(30);
  });

  it('counts federation representations: 51 distinct are refused, 100 over 10 distinct jobs cost 10 calls', async () => {
    const ten = twelve.slice(0, 10);
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { jobId } } }';
    const distinct = Array.from({ length: 51 }, (_, i) => ({
      __typename: 'Job',
      appId: ten[0]?.appId,
      branchName: ten[0]?.branchName,
      jobId: String(i + 1),
    }));
    expectRefused(await stack.graphql(query, { r: distinct }), 'upstream_calls');
    expect(stack.la.stats.calls()).toBe(0);

    const repeated = Array.from({ length: 100 }, (_, i) => ({
      __typename: 'Job',
      ...ten[i % 10],
    }));
    const body = await stack.graphql(query, { r: repeated });
    expect(body.errors).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(10);
  });

  it('answers a 20-job history page with steps (22 calls), and refuses the 50-job one (52) before any call', async () => {
    const key = twelve[0] as JobKey;
    const page = (first: number) =>
      `{ branch(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}) { jobs(first: ${first}) { nodes { jobId steps { stepName status } } } } }`;

    const twenty = await stack.graphql(page(20));
    expect(twenty.errors).toBeUndefined();
    // At most the estimate: the branch, one ListJobs, one GetJob per job of the page.
    const branch = twenty.data?.branch as { jobs: { nodes: unknown[] } } | undefined;
    const jobs = branch?.jobs.nodes.length ?? -1;
    expect(jobs).toBeGreaterThan(0);
    expect(stack.la.stats.calls()).toBe(2 + jobs);

    stack.la.stats.reset();
    const fifty = await stack.graphql(page(50));
    expectRefused(fifty, 'upstream_calls');
    expect(fifty.errors?.[0]?.extensions).toMatchObject({ estimated: 52, max: 50 });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a 200-level nested introspection query (depth counts introspection) and answers the standard one', async () => {
    const nested = `{ __type(name: "Job") { ${'ofType { '.repeat(200)}name${' }'.repeat(200)} } }`;
    const body = await stack.graphql(nested);

    expectRefused(body, 'depth');
    expect(messageOf(body, 'depth')).toMatch(/depth limit of 16 exceeded, found 202.*MAX_DEPTH/);
    const standard = await stack.graphql(getIntrospectionQuery());
    expect(standard.errors).toBeUndefined();
    expect(standard.data?.__schema).toBeDefined();
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a huge document by its token count while parsing', async () => {
    const huge = `{ ${'__typename '.repeat(9000)}}`;
    const body = await stack.graphql(huge);

    expectRefused(body, 'tokens');
    expect(messageOf(body, 'tokens')).toMatch(/Token limit of 8000 exceeded.*MAX_TOKENS/);
  });

  it('refuses a directive flood', async () => {
    const key = twelve[0] as JobKey;
    const fields = Array.from({ length: 60 }, (_, i) => `f${i}: jobId @include(if: true)`);
    const query = `{ job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${key.jobId}") { ${fields.join(' ')} } }`;
    const body = await stack.graphql(query);

    expectRefused(body, 'directives');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a batched array of operations with 400 and zero upstream calls', async () => {
    const key = twelve[0] as JobKey;
    const one = {
      query: `{ job(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${key.jobId}") { jobId } }`,
    };
    const response = await stack.app.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 100 }, () => one)),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errors: [{ message: 'Batching is not supported.' }],
    });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('answers a limit refusal with HTTP 400 to clients that accept application/graphql-response+json', async () => {
    const reply = await stack.post(
      { query: fanOut(60, twelve[0] as JobKey) },
      { accept: 'application/graphql-response+json' },
    );

    expect(reply.status).toBe(400);
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('OPERATION_LIMIT_EXCEEDED');
    expect(reply.body.errors?.[0]?.extensions?.http).toBeUndefined();
  });

  it('shows "Did you mean" suggestions while introspection is on', async () => {
    const key = twelve[0] as JobKey;
    const body = await stack.graphql(
      `{ job(appId: "${key.appId}", branchName: "main", jobId: "1") { stepz } }`,
    );
    expect(body.errors?.[0]?.message).toMatch(/Did you mean "steps"\?/);
  });
});

describe('operation limits, configured', () => {
  let stack: Stack;
  let key: JobKey;

  beforeAll(async () => {
    stack = await startStack({ env: { MAX_ALIASES: '1000', INTROSPECTION: 'false' } });
    [key] = jobsFromDistinctBranches(stack.la, 1) as [JobKey];
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.la.stats.reset());

  it('still refuses the 400 distinct jobs by their upstream budget when the alias limit is raised', async () => {
    const body = await stack.graphql(fanOut(400, key));

    expectRefused(body, 'upstream_calls');
    expect(body.errors?.[0]?.extensions).toMatchObject({ estimated: 400 });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses an operation over MAX_COST', async () => {
    const cheap = await stack.gateway({ MAX_COST: '50' });
    const body = await cheap.graphql(fanOut(5, key, FULL_JOB));

    expectRefused(body, 'cost');
    expect(messageOf(body, 'cost')).toMatch(
      /Cost limit of 50 exceeded, found [\d.]+\. \(MAX_COST\)/,
    );
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses __schema and __type with INTROSPECTION=false', async () => {
    for (const query of [getIntrospectionQuery(), '{ __type(name: "Job") { name } }']) {
      const body = await stack.graphql(query);
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    }
    // __typename is not introspection of the schema.
    expect((await stack.graphql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('hides "Did you mean" suggestions with INTROSPECTION=false', async () => {
    const body = await stack.graphql(
      `{ job(appId: "${key.appId}", branchName: "main", jobId: "1") { stepz } }`,
    );
    expect(body.errors?.[0]?.message).toBe('Cannot query field "stepz" on type "Job".');
  });
});
