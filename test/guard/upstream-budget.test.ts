/**
 * The upstream-call estimate on its own: over a small schema shaped like the job graph, then over
 * this schema with its cost table (list fields by their page size, navigation, steps and logs).
 */
import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema as buildGatewaySchema } from '../../src/schema/index.js';
import {
  createUpstreamEstimator,
  estimateUpstreamCalls,
  MAX_KEPT_ESTIMATES,
  MAX_KEPT_NAME_CHARS,
  MAX_KEPT_VARIABLES_CHARS,
  type UpstreamCostTable,
} from '../../src/schema/upstream-budget.js';
import { listFieldCost, STEPS_PER_JOB, UPSTREAM_COSTS } from '../../src/schema/upstream-costs.js';

const schema = buildSchema(`
  type Query { apps(first: Int): [App!]! job(appId: ID!, branchName: String!, jobId: ID!): Job }
  type App { appId: ID! branches(first: Int): [Branch!]! }
  type Branch { branchName: String! jobs(first: Int): [Job!]! }
  type Job { jobId: ID! steps: [Step!]! }
  type Step { stepName: String! }
`);

const costs: UpstreamCostTable = {
  'Query.job': UPSTREAM_COSTS['Query.job'] ?? {},
  'Query.apps': listFieldCost({ sizeArgument: 'first', defaultSize: 20, maxSize: 100 }),
  'App.branches': listFieldCost({ sizeArgument: 'first', defaultSize: 20, maxSize: 50 }),
  'Branch.jobs': listFieldCost({ sizeArgument: 'first', defaultSize: 20, maxSize: 50 }),
  // Steps are not in a list entry: one GetJob per job whose steps are asked for.
  'Job.steps': { calls: () => 1 },
};

const estimate = (query: string, variables: Record<string, unknown> = {}) =>
  estimateUpstreamCalls(schema, parse(query), undefined, variables, costs);

describe('estimating Amplify calls before execution', () => {
  it('multiplies what is below a list field by its page size', () => {
    // 1 ListApps + 10 ListBranches + 50 ListJobs + 150 GetJob.
    expect(
      estimate(
        '{ apps(first: 10) { branches(first: 5) { jobs(first: 3) { steps { stepName } } } } }',
      ),
    ).toMatchObject({ kind: 'estimate', calls: 211 });
  });

  it('leaves out what @skip and @include leave out, with literals and variables', () => {
    expect(
      estimate('{ apps(first: 10) @skip(if: true) { branches { branchName } } }'),
    ).toMatchObject({ kind: 'estimate', calls: 0 });
    const query =
      'query($more: Boolean!) { apps(first: 10) { appId branches(first: 5) @include(if: $more) { branchName } } }';
    expect(estimate(query, { more: false })).toMatchObject({ kind: 'estimate', calls: 1 });
    expect(estimate(query, { more: true })).toMatchObject({ kind: 'estimate', calls: 1 + 10 });
    expect(
      estimate('{ apps(first: 10) { ... @include(if: false) { branches { branchName } } } }'),
    ).toMatchObject({ kind: 'estimate', calls: 1 });
  });

  it('uses the default page size when the argument is absent, and variables when given', () => {
    expect(estimate('{ apps { appId } }')).toMatchObject({ kind: 'estimate', calls: 1 });
    expect(estimate('{ apps { branches { branchName } } }')).toMatchObject({
      kind: 'estimate',
      calls: 1 + 20,
    });
    expect(
      estimate('query($n: Int) { apps(first: $n) { branches(first: 2) { branchName } } }', {
        n: 7,
      }),
    ).toMatchObject({ kind: 'estimate', calls: 1 + 7 });
  });

  it('counts a list page beyond the maximum as the maximum', () => {
    expect(estimate('{ apps(first: 1000) { branches { branchName } } }')).toMatchObject({
      kind: 'estimate',
      calls: 1 + 100 * 1,
    });
  });

  it('counts keyed calls once however many aliases and fragments repeat them', () => {
    const field = 'job(appId: "d1", branchName: "main", jobId: "7") { jobId }';
    expect(
      estimate(`{ a: ${field} b: ${field} ...F } fragment F on Query { c: ${field} }`),
    ).toMatchObject({ kind: 'estimate', calls: 1 });
  });

  it('costs nothing for fields that only read what their parent fetched, or introspection', () => {
    expect(estimate('{ __typename __schema { types { name } } }')).toMatchObject({
      kind: 'estimate',
      calls: 0,
    });
  });

  it('leaves variables that do not coerce to execution, which refuses them without calls', () => {
    expect(estimate('query($n: Int!) { apps(first: $n) { appId } }', { n: 'many' })).toMatchObject({
      kind: 'invalid',
    });
  });

  it('gives up on a document too large to walk, so it counts as over any budget', () => {
    const spreads = Array.from(
      { length: 18 },
      (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    );
    const query = `{ ...F0 } ${spreads.join(' ')} fragment F18 on Query { apps { appId } }`;
    expect(estimate(query)).toMatchObject({ kind: 'too-large' });
  });
});

describe('the cost table of this schema (apps, branches, jobs, steps, logs)', () => {
  const real = (query: string, variables: Record<string, unknown> = {}) =>
    estimateUpstreamCalls(buildGatewaySchema(), parse(query), undefined, variables, UPSTREAM_COSTS);
  const b = 'appId: "dbu8fe1814qn9a", branchName: "main"';

  it('counts a job-history page: the branch, one ListJobs, and one GetJob per job whose steps are read', () => {
    expect(
      real(`{ branch(${b}) { jobs(first: 20) { nodes { summary { status } } } } }`),
    ).toMatchObject({
      kind: 'estimate',
      calls: 2,
    });
    expect(
      real(`{ branch(${b}) { jobs { nodes { steps { stepName } failedStep { stepName } } } } }`),
    ).toMatchObject({
      kind: 'estimate',
      // failedStep reads the same steps; the estimate counts it apart (the loader will not).
      calls: 2 + 20 + 20,
    });
    expect(
      real(`{ branch(${b}) { jobs(first: 5) { edges { node { steps { log { text } } } } } } }`),
    ).toMatchObject({
      kind: 'estimate',
      calls: 2 + 5 + 5 * STEPS_PER_JOB,
    });
  });

  it('costs nothing more for the steps of a job read by job(...), and keys its app and branch', () => {
    const job = `job(${b}, jobId: "9")`;
    expect(
      real(
        `{ a: ${job} { steps { stepName } app { name } branch { stage } } b: ${job} { app { name } } }`,
      ),
    ).toMatchObject({
      kind: 'estimate',
      calls: 3,
    });
  });

  it('counts navigation from a page once per page, and nothing after apps or branches listed it', () => {
    expect(
      real(`{ branch(${b}) { jobs(first: 50) { nodes { app { name } branch { stage } } } } }`),
    ).toMatchObject({
      kind: 'estimate',
      // GetBranch (shared with the jobs' branch), ListJobs, GetApp of the named app.
      calls: 3,
    });
    expect(
      real('{ apps(first: 10) { nodes { branches(first: 5) { nodes { app { name } url } } } } }'),
    ).toMatchObject({
      kind: 'estimate',
      calls: 1 + 10,
    });
    expect(
      real(
        '{ apps(first: 10) { nodes { branches(first: 5) { nodes { activeJob { jobId } } } } } }',
      ),
    ).toMatchObject({
      kind: 'estimate',
      calls: 1 + 10 + 50,
    });
  });

  it('counts one call per distinct app, branch and job representation', () => {
    const representations = [
      { __typename: 'App', appId: 'd1' },
      { __typename: 'App', appId: 'd1' },
      { __typename: 'Branch', appId: 'd1', branchName: 'main' },
      { __typename: 'Job', appId: 'd1', branchName: 'main', jobId: '1' },
      { __typename: 'Job', appId: 'd1', branchName: 'main', jobId: '2' },
    ];
    expect(
      real('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {
        r: representations,
      }),
    ).toMatchObject({ kind: 'estimate', calls: 4 });
  });

  it("keys a Job entity's app and branch by its representation, as job(...) aliases are keyed by their arguments", () => {
    const jobs = Array.from({ length: 20 }, (_, i) => ({
      __typename: 'Job',
      appId: 'd1',
      branchName: 'main',
      jobId: String(i + 1),
    }));
    // 20 GetJob, one GetApp and one GetBranch: all twenty jobs share their app and branch.
    expect(
      real(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { jobId app { name } branch { displayName app { name } } } } }',
        { r: jobs },
      ),
    ).toMatchObject({ kind: 'estimate', calls: 22 });
    // Two branches of two apps: two of each.
    const other = { __typename: 'Job', appId: 'd2', branchName: 'dev', jobId: '1' };
    expect(
      real(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { app { name } branch { displayName } } } }',
        { r: [...jobs.slice(0, 3), other] },
      ),
    ).toMatchObject({ kind: 'estimate', calls: 4 + 2 + 2 });
  });

  it("counts each copy of a step log's text as STEP_LOG_MAX_BYTES, repeated representations included", () => {
    const job = { __typename: 'Job', appId: 'd1', branchName: 'main', jobId: '1' };
    const estimate = real(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { steps { log { text bytes } } } } }',
      { r: [job, job, job] },
    );
    // One GetJob, and five step logs read once; answered three times each.
    expect(estimate).toMatchObject({
      kind: 'estimate',
      calls: 1 + STEPS_PER_JOB,
      tallies: { representations: 3, responseBytes: 3 * STEPS_PER_JOB * 1024 * 1024 },
    });
    const aliased = real(
      `{ a: job(${b}, jobId: "9") { failedStep { log { text } } } b: job(${b}, jobId: "9") { failedStep { log { bytes } } } }`,
    );
    expect(aliased).toMatchObject({ tallies: { responseBytes: 1024 * 1024 } });
  });

  it('counts introspection fields, control fields, and what is wrong with representations', () => {
    expect(
      real('{ a: __schema { queryType { name } } b: __type(name: "Job") { name } }'),
    ).toMatchObject({
      introspection: 2,
    });
    expect(
      real(
        `mutation { a: stopJob(${b}, jobId: "1") { jobId } b: startJob(${b}, jobType: RELEASE) { jobId } }`,
      ),
    ).toMatchObject({ calls: 3, tallies: { controlFields: 2 } });
    const problems = real('query($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {
      r: [{ __typename: 'Release', id: '1' }, 'text', { __typename: 'Job', appId: ['d1'] }],
    });
    expect(problems).toMatchObject({
      problems: [
        'representations[0]: __typename must be one of this subgraph\'s entity types, Job, Branch, App (got "Release")',
        'representations[1] must be an object with __typename and the key fields',
        'representations[2].appId must be a string (a key field), not a list or object',
      ],
    });
  });
});

describe('keeping estimates (createUpstreamEstimator)', () => {
  const query =
    'query Page($first: Int, $more: Boolean!) { apps(first: $first) { appId branches(first: 5) @include(if: $more) { branchName } } }';

  it('walks a document once per operation and variables, and again for other variables', () => {
    let walks = 0;
    // A cost table whose functions count the walks that reach Query.apps.
    const counting: UpstreamCostTable = {
      ...costs,
      'Query.apps': {
        ...costs['Query.apps'],
        calls: (args, ancestors) => {
          walks += 1;
          return costs['Query.apps']?.calls?.(args, ancestors) ?? 0;
        },
      },
    };
    const estimator = createUpstreamEstimator(counting);
    const document = parse(query);

    const first = estimator(schema, document, 'Page', { first: 10, more: true });
    expect(first).toMatchObject({ kind: 'estimate', calls: 1 + 10 });
    expect(estimator(schema, document, 'Page', { first: 10, more: true })).toBe(first);
    expect(walks).toBe(1);

    expect(estimator(schema, document, 'Page', { first: 10, more: false })).toMatchObject({
      calls: 1,
    });
    expect(estimator(schema, document, 'Page', { first: 2, more: true })).toMatchObject({
      calls: 1 + 2,
    });
    // The same text parsed again is another document: walked again, with the same answer.
    expect(estimator(schema, parse(query), 'Page', { first: 10, more: true })).toMatchObject({
      calls: 1 + 10,
    });
    expect(walks).toBe(4);

    // No operation name picks the only operation; an empty one names none.
    const single = parse('query($first: Int) { apps(first: $first) { appId } }');
    expect(estimator(schema, single, null, { first: 1 })).toMatchObject({ kind: 'estimate' });
    expect(estimator(schema, single, '', { first: 1 })).toEqual({ kind: 'invalid' });
  });

  it('never lets variables that do not coerce stand for others, nor Infinity for null', () => {
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null; Int refuses it.
    const document = parse('query Page($first: Int) { apps(first: $first) { appId } }');
    const infinite = JSON.parse('{"first":1e400}') as Record<string, unknown>;
    const nulled = { first: null };

    const refusedFirst = createUpstreamEstimator(costs);
    expect(refusedFirst(schema, document, 'Page', infinite)).toEqual({ kind: 'invalid' });
    expect(refusedFirst(schema, document, 'Page', nulled)).toMatchObject({ kind: 'estimate' });

    const nullFirst = createUpstreamEstimator(costs);
    expect(nullFirst(schema, document, 'Page', nulled)).toMatchObject({ kind: 'estimate' });
    expect(nullFirst(schema, document, 'Page', infinite)).toEqual({ kind: 'invalid' });
  });

  it('walks every time when the variables are long, and keeps a bounded number', () => {
    let walks = 0;
    const counting: UpstreamCostTable = {
      ...costs,
      'Query.apps': { calls: () => ++walks && 1 },
    };
    const estimator = createUpstreamEstimator(counting);
    const document = parse(query);
    const long = { first: 1, more: false, pad: 'x'.repeat(MAX_KEPT_VARIABLES_CHARS) };

    estimator(schema, document, 'Page', long);
    estimator(schema, document, 'Page', long);
    expect(walks).toBe(2);
    const name = 'P'.repeat(MAX_KEPT_NAME_CHARS + 1);
    const named = parse(query.replace('Page', name));
    estimator(schema, named, name, { first: 1, more: false });
    estimator(schema, named, name, { first: 1, more: false });
    expect(walks).toBe(4);

    // One more distinct set of variables than it keeps: the oldest is walked again.
    walks = 0;
    for (let i = 0; i <= MAX_KEPT_ESTIMATES; i++) {
      estimator(schema, document, 'Page', { first: i, more: false });
    }
    expect(walks).toBe(MAX_KEPT_ESTIMATES + 1);
    estimator(schema, document, 'Page', { first: MAX_KEPT_ESTIMATES, more: false });
    expect(walks).toBe(MAX_KEPT_ESTIMATES + 1);
    estimator(schema, document, 'Page', { first: 0, more: false });
    expect(walks).toBe(MAX_KEPT_ESTIMATES + 2);
  });
});
