/**
 * Reads whose answer is far larger than their request, over real HTTP: one request of a few KB
 * naming a job with a large step log many times (representations, aliases), or introspection
 * aliased a hundred times, would build an answer of hundreds of MB. Each is refused before it runs
 * (MAX_RESPONSE_BYTES counting each log's text as STEP_LOG_MAX_BYTES, MAX_ENTITY_REPRESENTATIONS,
 * at most two introspection fields) with zero Amplify calls, and what the estimate cannot see is
 * measured before the answer is written.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';

interface Reply {
  status: number;
  body: GraphQLBody;
  bytes: number;
}

async function post(server: RunningServer, request: Record<string, unknown>): Promise<Reply> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as GraphQLBody, bytes: text.length };
}

function expectRefused(reply: Reply, limit: string) {
  expect(reply.status).toBe(400);
  expect(reply.body.data).toBeUndefined();
  expect(reply.body.errors?.find((e) => e.extensions?.limit === limit)?.extensions).toMatchObject({
    code: 'OPERATION_LIMIT_EXCEEDED',
    retryable: false,
    limit,
  });
}

const ENTITIES = `query Entities($r: [_Any!]!) {
  _entities(representations: $r) { ... on Job { jobId steps { stepName log { text } } } }
}`;

const SCHEMA_TYPES = '__schema { types { name fields { name type { name ofType { name } } } } }';

describe('answers far larger than their request', () => {
  let stack: Stack;
  let server: RunningServer;
  let huge: JobKey;

  beforeAll(async () => {
    stack = await startStack();
    server = await stack.listen();
    const found = stack.la.world.quirkJobs().find((q) => q.kind === 'hugeLog');
    if (found === undefined) throw new Error('the demo world has no hugeLog job');
    huge = { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.la.stats.reset());

  it('refuses 100 copies of one representation of a job with a large log, before any call', async () => {
    const representation = { __typename: 'Job', ...huge };
    const request = {
      query: ENTITIES,
      variables: { r: Array.from({ length: 100 }, () => representation) },
    };
    expect(JSON.stringify(request).length).toBeLessThan(10_000);

    const reply = await post(server, request);

    expectRefused(reply, 'response_bytes');
    const error = reply.body.errors?.find((e) => e.extensions?.limit === 'response_bytes');
    // 100 copies of 5 steps' logs of up to STEP_LOG_MAX_BYTES (1 MiB) each.
    expect(error?.extensions).toMatchObject({ max: 8 * 1024 * 1024, estimated: 500 * 1024 * 1024 });
    expect(error?.message).toMatch(/MAX_RESPONSE_BYTES/);
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses nine aliases of that job with its logs, and answers one', async () => {
    const field = (i: number) =>
      `j${i}: job(appId: "${huge.appId}", branchName: "${huge.branchName}", jobId: "${huge.jobId}") { steps { log { text } } }`;
    const nine = `{ ${Array.from({ length: 9 }, (_, i) => field(i)).join(' ')} }`;

    expectRefused(await post(server, { query: nine }), 'response_bytes');
    expect(stack.la.stats.calls()).toBe(0);

    const one = await post(server, { query: `{ ${field(0)} }` });
    expect(one.status).toBe(200);
    expect(one.body.errors).toBeUndefined();
    const job = one.body.data?.j0 as { steps: Array<{ log: { text: string } | null }> } | undefined;
    const steps = job?.steps ?? [];
    // The BUILD log is cut to its last STEP_LOG_MAX_BYTES.
    expect(steps[0]?.log?.text.length).toBeGreaterThan(512 * 1024);
  });

  it(`refuses more representations than MAX_ENTITY_REPRESENTATIONS, repeats included`, async () => {
    const representation = { __typename: 'Job', ...huge };
    const reply = await post(server, {
      query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Job { jobId } } }',
      variables: { r: Array.from({ length: 101 }, () => representation) },
    });

    expectRefused(reply, 'entities');
    expect(
      reply.body.errors?.find((e) => e.extensions?.limit === 'entities')?.extensions,
    ).toMatchObject({ max: 100, estimated: 101 });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a hundred aliases of __schema, and answers the standard introspection query', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `s${i}: ${SCHEMA_TYPES}`);
    const reply = await post(server, { query: `{ ${aliases.join(' ')} }` });
    expectRefused(reply, 'introspection');
    expect(
      reply.body.errors?.find((e) => e.extensions?.limit === 'introspection')?.extensions,
    ).toMatchObject({ max: 2, estimated: 100 });

    const standard = await post(server, { query: getIntrospectionQuery() });
    expect(standard.status).toBe(200);
    expect(standard.body.errors).toBeUndefined();
  });
});

describe('the answer measured before it is written', () => {
  let stack: Stack;
  let server: RunningServer;

  beforeAll(async () => {
    stack = await startStack({ env: { MAX_RESPONSE_BYTES: String(64 * 1024) } });
    server = await stack.listen();
  });
  afterAll(() => stack?.close());

  it('drops an answer over MAX_RESPONSE_BYTES that the estimate could not see, saying so', async () => {
    // Twice the standard introspection (about 60 KB each): within the two introspection fields
    // an operation may hold, and nothing the estimate counts in bytes.
    const standard = getIntrospectionQuery();
    const fragments = standard.slice(standard.indexOf('fragment FullType'));
    const query = `{ a: __schema { ...Everything } b: __schema { ...Everything } }
      fragment Everything on __Schema { types { ...FullType } directives { name description locations args { ...InputValue } } }
      ${fragments}`;
    const reply = await post(server, { query });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      data: null,
      errors: [
        {
          message: expect.stringMatching(/larger than 65536 bytes \(MAX_RESPONSE_BYTES\)/),
          extensions: {
            code: 'OPERATION_LIMIT_EXCEEDED',
            retryable: false,
            limit: 'response_bytes',
            max: 65536,
          },
        },
      ],
    });
    expect(reply.bytes).toBeLessThan(1024);
  });
});
