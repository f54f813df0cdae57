/**
 * The upstream-call estimate on its own, over a small schema shaped like the job graph (apps ->
 * branches -> jobs -> steps), so list fields are counted by their page size before the real list
 * fields exist in this schema.
 */
import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { estimateUpstreamCalls, type UpstreamCostTable } from '../../src/schema/upstream-budget.js';
import { listFieldCost, UPSTREAM_COSTS } from '../../src/schema/upstream-costs.js';

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
    ).toEqual({ kind: 'estimate', calls: 211 });
  });

  it('uses the default page size when the argument is absent, and variables when given', () => {
    expect(estimate('{ apps { appId } }')).toEqual({ kind: 'estimate', calls: 1 });
    expect(estimate('{ apps { branches { branchName } } }')).toEqual({
      kind: 'estimate',
      calls: 1 + 20,
    });
    expect(
      estimate('query($n: Int) { apps(first: $n) { branches(first: 2) { branchName } } }', {
        n: 7,
      }),
    ).toEqual({ kind: 'estimate', calls: 1 + 7 });
  });

  it('counts a list page beyond the maximum as the maximum', () => {
    expect(estimate('{ apps(first: 1000) { branches { branchName } } }')).toEqual({
      kind: 'estimate',
      calls: 1 + 100 * 1,
    });
  });

  it('counts keyed calls once however many aliases and fragments repeat them', () => {
    const field = 'job(appId: "d1", branchName: "main", jobId: "7") { jobId }';
    expect(
      estimate(`{ a: ${field} b: ${field} ...F } fragment F on Query { c: ${field} }`),
    ).toEqual({ kind: 'estimate', calls: 1 });
  });

  it('costs nothing for fields that only read what their parent fetched, or introspection', () => {
    expect(estimate('{ __typename __schema { types { name } } }')).toEqual({
      kind: 'estimate',
      calls: 0,
    });
  });

  it('leaves variables that do not coerce to execution, which refuses them without calls', () => {
    expect(estimate('query($n: Int!) { apps(first: $n) { appId } }', { n: 'many' })).toEqual({
      kind: 'invalid',
    });
  });

  it('gives up on a document too large to walk, so it counts as over any budget', () => {
    const spreads = Array.from(
      { length: 18 },
      (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    );
    const query = `{ ...F0 } ${spreads.join(' ')} fragment F18 on Query { apps { appId } }`;
    expect(estimate(query)).toEqual({ kind: 'too-large' });
  });
});
