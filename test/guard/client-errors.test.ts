/**
 * Requests that used to fail inside the gateway (a stack overflow in the parser or in a walk of
 * the variables, a representation @apollo/subgraph could not resolve) and came back as
 * INTERNAL_SERVER_ERROR with HTTP 200 and an error-level log line with a stack. Each is the
 * caller's mistake: a client error with the status GraphQL-over-HTTP prescribes, nothing sent to
 * Amplify, logged at debug or info, and the process keeps serving.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { GraphQLBody, Stack } from '../support/stack.js';
import { startStack } from '../support/stack.js';
import { ordinaryJobs } from '../support/world.js';

interface Reply {
  status: number;
  body: GraphQLBody;
}

describe('malformed requests are client errors', () => {
  let stack: Stack;
  let server: RunningServer;
  const lines: Array<{ level: number; msg?: string; err?: unknown }> = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    stack = await startStack({ log: pino({ level: 'debug' }, sink) });
    server = await stack.listen();
  });
  afterAll(() => stack?.close());
  beforeEach(() => {
    lines.length = 0;
    stack.la.stats.reset();
  });

  /** POSTs a body given as text: some of these cannot be made with JSON.stringify (too deep). */
  async function post(body: string): Promise<Reply> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body,
    });
    return { status: response.status, body: (await response.json()) as GraphQLBody };
  }

  function expectClientError(reply: Reply, code: string, message: RegExp) {
    expect(reply.status).toBe(400);
    expect(reply.body.data).toBeUndefined();
    expect(reply.body.errors?.[0]?.extensions?.code).toBe(code);
    expect(reply.body.errors?.[0]?.message).toMatch(message);
    expect(stack.la.stats.calls()).toBe(0);
    // Logged as the caller's mistake: nothing at warn (40) or above.
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  }

  async function stillServes() {
    const reply = await post(JSON.stringify({ query: '{ __typename }' }));
    expect(reply.body).toEqual({ data: { __typename: 'Query' } });
  }

  it('refuses a document nested 3,900 levels deep (within MAX_TOKENS) while parsing', async () => {
    const query = `{${'a{'.repeat(3900)}b${'}'.repeat(3900)}}`;
    expectClientError(
      await post(JSON.stringify({ query })),
      'GRAPHQL_PARSE_FAILED',
      /nests braces, brackets or parentheses more than 256 levels deep/,
    );
    await stillServes();
  });

  it('refuses a list literal nested 3,000 levels deep in an argument', async () => {
    const query = `{ app(appId: ${'['.repeat(3000)}"d1"${']'.repeat(3000)}) { appId } }`;
    expectClientError(
      await post(JSON.stringify({ query })),
      'GRAPHQL_PARSE_FAILED',
      /more than 256 levels deep/,
    );
    await stillServes();
  });

  it('refuses variables nested 45,000 levels deep, a representation among them', async () => {
    const deep = `${'['.repeat(45_000)}1${']'.repeat(45_000)}`;
    const body = `{"query":"query($r: [_Any!]!) { _entities(representations: $r) { __typename } }","variables":{"r":[{"__typename":"Release","id":${deep}}]}}`;
    expectClientError(await post(body), 'BAD_USER_INPUT', /Variables must not nest/);
    await stillServes();
  });

  it('refuses representations of no entity type of this subgraph, or holding lists, before execution', async () => {
    const [job] = ordinaryJobs(stack.la);
    if (job === undefined) throw new Error('no job');
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
    const unknown = await post(
      JSON.stringify({
        query,
        variables: {
          r: [
            { __typename: 'Job', ...job },
            { __typename: 'Release', id: '1' },
          ],
        },
      }),
    );
    expectClientError(
      unknown,
      'BAD_USER_INPUT',
      /^representations\[1\]: __typename must be one of this subgraph's entity types, Job, Branch, App \(got "Release"\)$/,
    );

    const nested = await post(
      JSON.stringify({
        query,
        variables: { r: [{ __typename: 'Job', ...job, jobId: [[job.jobId]] }] },
      }),
    );
    expectClientError(nested, 'BAD_USER_INPUT', /representations\[0\]\.jobId must be a string/);
    await stillServes();
  });

  it('still resolves a good representation beside a malformed key, each in its own slot', async () => {
    const [job] = ordinaryJobs(stack.la);
    if (job === undefined) throw new Error('no job');
    const reply = await post(
      JSON.stringify({
        query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { jobId } } }',
        variables: {
          r: [
            { __typename: 'Job', ...job },
            { __typename: 'Job', appId: job.appId },
          ],
        },
      }),
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ _entities: [{ jobId: job.jobId }, null] });
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
