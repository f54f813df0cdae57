// A dependency of @graphql-yoga/plugin-apollo-inline-trace, the same decoder routers use.
import { Trace } from '@apollo/usage-reporting-protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const INCLUDE_TRACE = { 'apollo-federation-include-trace': 'ftv1' };

const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Job { jobId summary { status } } }
}`;

const JOB = `query Job($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) { jobId steps { stepName } }
}`;

function decodeTrace(ftv1: unknown): Trace {
  if (typeof ftv1 !== 'string') throw new Error(`extensions.ftv1 is not a string: ${ftv1}`);
  expect(ftv1).toMatch(/^[A-Za-z0-9+/]+=*$/);
  return Trace.decode(Buffer.from(ftv1, 'base64'));
}

/** The trace node of a root field, e.g. `job` or `_entities`. */
function rootField(trace: Trace, name: string): Trace.INode {
  const node = trace.root?.child?.find((child) => child.responseName === name);
  if (node == null) throw new Error(`no ${name} node under the trace root`);
  return node;
}

describe('inline traces for routers (ftv1)', () => {
  let subgraph: Stack;
  let job: JobKey;

  beforeAll(async () => {
    subgraph = await startStack();
    [job] = jobsFromDistinctBranches(subgraph.la, 1) as [JobKey];
  });
  afterAll(() => subgraph?.close());

  it('returns a decodable trace of the job field when the router asks for one', async () => {
    const { body } = await subgraph.post({ query: JOB, variables: { ...job } }, INCLUDE_TRACE);

    expect(body.errors).toBeUndefined();
    const trace = decodeTrace(body.extensions?.ftv1);
    expect(Number(trace.durationNs)).toBeGreaterThan(0);
    const node = rootField(trace, 'job');
    expect(node.type).toBe('Job');
    expect(node.parentType).toBe('Query');
    expect(node.child?.map((child) => child.responseName)).toEqual(
      expect.arrayContaining(['jobId', 'steps']),
    );
  });

  it('records the error of a failed entity at its index, and none for the others', async () => {
    const representations = [
      { __typename: 'Job', ...job },
      { __typename: 'Job', ...job, jobId: 'not-digits' },
    ];

    const { body } = await subgraph.post(
      { query: ENTITIES, variables: { representations } },
      INCLUDE_TRACE,
    );

    expect(body.errors?.map((error) => error.path)).toEqual([['_entities', 1]]);
    const entities = rootField(decodeTrace(body.extensions?.ftv1), '_entities');
    // Yoga's plugin records an entity's error on the `_entities` node (no node exists for an
    // entry that resolved no field); the error's JSON keeps its exact path and code.
    const recorded = (entities.error ?? []).map((error) => ({
      message: error.message,
      json: JSON.parse(error.json ?? '{}') as unknown,
    }));
    expect(recorded).toEqual([
      {
        message: expect.stringContaining('jobId must be a string of 1 to 255 digits'),
        json: expect.objectContaining({
          path: ['_entities', 1],
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      },
    ]);
    const resolved = entities.child?.find((child) => child.index === 0);
    expect(resolved?.error ?? []).toEqual([]);
    expect(resolved?.child?.map((child) => child.responseName)).toEqual(['jobId', 'summary']);
    // The failed entry resolved no field.
    expect(entities.child?.find((child) => child.index === 1)?.child ?? []).toEqual([]);
  });

  it('adds no trace when the header is absent', async () => {
    const { body } = await subgraph.post({ query: JOB, variables: { ...job } });

    expect(body.errors).toBeUndefined();
    expect(body.data?.job).not.toBeNull();
    expect(body.extensions?.ftv1).toBeUndefined();
  });
});
