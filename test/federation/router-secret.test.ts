import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const SECRET = 'router-secret-0123456789abcdef';
const NEXT_SECRET = 'router-secret-next-0123456789';

const JOB = `query Job($appId: ID!, $branchName: String!, $jobId: ID!) {
  job(appId: $appId, branchName: $branchName, jobId: $jobId) { jobId summary { status } }
}`;

interface Reply {
  status: number;
  contentType: string | null;
  body: {
    data?: { job?: { jobId: string } | null } | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
}

describe('the router secret, over real HTTP', () => {
  let stack: Stack;
  let la: LocalAmplify;
  let job: JobKey;
  let open: RunningServer;
  let guarded: RunningServer;
  let rotating: RunningServer;

  beforeAll(async () => {
    stack = await startStack();
    la = stack.la;
    [job] = jobsFromDistinctBranches(la, 1) as [JobKey];
    open = await stack.listen();
    guarded = await (await stack.gateway({ ROUTER_SECRET: SECRET })).listen();
    rotating = await (
      await stack.gateway({ ROUTER_SECRET: NEXT_SECRET, ROUTER_SECRET_FALLBACK: SECRET })
    ).listen();
  });
  afterAll(() => stack?.close());
  beforeEach(() => la.stats.reset());

  async function request(
    server: RunningServer,
    headers: Record<string, string> = {},
    init: { method?: string; path?: string } = {},
  ): Promise<Reply> {
    const method = init.method ?? 'POST';
    const response = await fetch(`${server.url}${init.path ?? '/graphql'}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      ...(method === 'POST' ? { body: JSON.stringify({ query: JOB, variables: job }) } : {}),
      signal: AbortSignal.timeout(5000),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: (await response.json()) as Reply['body'],
    };
  }

  function expectUnauthenticated(reply: Reply) {
    expect(reply.status).toBe(401);
    expect(reply.contentType).toMatch(/^application\/graphql-response\+json/);
    expect(reply.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(reply.body.data).toBeUndefined();
    expect(la.stats.calls()).toBe(0);
  }

  it('lets requests through without the header when ROUTER_SECRET is not set', async () => {
    const reply = await request(open);

    expect(reply.status).toBe(200);
    expect(reply.body.data?.job?.jobId).toBe(job.jobId);
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('answers 401 UNAUTHENTICATED, without calling Amplify, when the header is missing', async () => {
    expectUnauthenticated(await request(guarded));
  });

  it('answers 401 UNAUTHENTICATED for a wrong secret, of the same length or not', async () => {
    const sameLength = `${SECRET.slice(0, -1)}${SECRET.endsWith('x') ? 'y' : 'x'}`;
    expect(sameLength).toHaveLength(SECRET.length);

    expectUnauthenticated(await request(guarded, { 'x-router-secret': sameLength }));
    expectUnauthenticated(await request(guarded, { 'x-router-secret': SECRET.slice(0, -1) }));
    expectUnauthenticated(await request(guarded, { 'x-router-secret': `${SECRET}x` }));
    expectUnauthenticated(await request(guarded, { 'x-router-secret': '' }));
  });

  it('guards GET requests as well as POST ones', async () => {
    const query = encodeURIComponent('{ __typename }');

    expectUnauthenticated(
      await request(guarded, {}, { method: 'GET', path: `/graphql?query=${query}` }),
    );
  });

  it('serves the request when the header carries the secret', async () => {
    const reply = await request(guarded, { 'x-router-secret': SECRET });

    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data?.job?.jobId).toBe(job.jobId);
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('accepts the fallback beside the secret while a rotation runs, and nothing else', async () => {
    for (const secret of [NEXT_SECRET, SECRET]) {
      const reply = await request(rotating, { 'x-router-secret': secret });
      expect(reply.status, secret).toBe(200);
      expect(reply.body.data?.job?.jobId).toBe(job.jobId);
    }
    la.stats.reset();
    expectUnauthenticated(await request(rotating));
    expectUnauthenticated(await request(rotating, { 'x-router-secret': `${SECRET}x` }));
    expectUnauthenticated(await request(rotating, { 'x-router-secret': NEXT_SECRET.slice(1) }));
    // Without the fallback configured, the old value is refused (the end of the rotation).
    expectUnauthenticated(await request(guarded, { 'x-router-secret': NEXT_SECRET }));
  });

  it('keeps /health and /ready open to the orchestrator without the secret', async () => {
    const health = await request(guarded, {}, { method: 'GET', path: '/health' });
    const ready = await request(guarded, {}, { method: 'GET', path: '/ready' });

    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
  });
});
