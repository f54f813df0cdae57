// A dependency of @graphql-yoga/plugin-apollo-inline-trace, the same decoder routers use.
import { Trace } from '@apollo/usage-reporting-protobuf';
import { isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLServer } from '../../src/http/yoga.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';
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

  /** POSTs an operation over real HTTP, as a router does: the edge picks the traced server. */
  const post = async (request: { query: string; variables: object }, headers = {}) => {
    const { url } = await subgraph.listen();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(request),
    });
    return { body: (await response.json()) as GraphQLBody };
  };

  beforeAll(async () => {
    subgraph = await startStack();
    [job] = jobsFromDistinctBranches(subgraph.la, 1) as [JobKey];
  });
  afterAll(() => subgraph?.close());

  it('returns a decodable trace of the job field when the router asks for one', async () => {
    const { body } = await post({ query: JOB, variables: { ...job } }, INCLUDE_TRACE);

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

    const { body } = await post({ query: ENTITIES, variables: { representations } }, INCLUDE_TRACE);

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

  it('traces on a schema of its own: the resolvers untraced requests run are not wrapped', async () => {
    /** Fields whose resolver @envelop/on-resolve (the trace plugin's) has wrapped. */
    const wrappedFields = (server: GraphQLServer): number => {
      const { schema } = server.getEnveloped({});
      let count = 0;
      for (const type of Object.values(schema.getTypeMap())) {
        if (!isObjectType(type)) continue;
        for (const field of Object.values(type.getFields())) {
          const marks = Object.getOwnPropertySymbols(field).map((symbol) => symbol.description);
          if (marks.includes('hasWrappedResolve')) count += 1;
        }
      }
      return count;
    };
    const { body } = await post({ query: JOB, variables: { ...job } }, INCLUDE_TRACE);
    expect(typeof body.extensions?.ftv1).toBe('string');

    expect(wrappedFields(subgraph.app.tracedYoga())).toBeGreaterThan(50);
    expect(wrappedFields(subgraph.app.yoga)).toBe(0);
    // And a plain request after a traced one still gets no trace.
    const plain = await post({ query: JOB, variables: { ...job } });
    expect(plain.body.data?.job).not.toBeNull();
    expect(plain.body.extensions?.ftv1).toBeUndefined();
  });

  it('adds no trace for another value of the header', async () => {
    const { body } = await post(
      { query: JOB, variables: { ...job } },
      { 'apollo-federation-include-trace': 'ftv2' },
    );

    expect(body.errors).toBeUndefined();
    expect(body.extensions?.ftv1).toBeUndefined();
  });

  it('adds no trace when the header is absent', async () => {
    const { body } = await post({ query: JOB, variables: { ...job } });

    expect(body.errors).toBeUndefined();
    expect(body.data?.job).not.toBeNull();
    expect(body.extensions?.ftv1).toBeUndefined();
  });
});
