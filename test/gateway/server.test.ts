import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';

const JOB_QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

async function postGraphQL(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLBody & {
      data: { job: unknown } | null;
      errors: Array<{ extensions: { code: string } }>;
    },
  };
}

describe('the HTTP server', () => {
  let stack: Stack;
  let running: RunningServer;

  beforeAll(async () => {
    stack = await startStack({ env: { MAX_BODY_BYTES: '2048', GRAPHIQL: 'true' } });
    running = await stack.listen();
  });
  afterAll(() => stack?.close());

  it('answers /health with 200 without touching the upstream', async () => {
    stack.la.stats.reset();
    const response = await fetch(`${running.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('serves a job over real HTTP and echoes a caller-supplied request id', async () => {
    const [job] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
    const result = await postGraphQL(
      running.url,
      { query: JOB_QUERY, variables: { a: job?.appId, b: job?.branchName, j: job?.jobId } },
      { 'x-request-id': 'dashboard-42' },
    );
    expect(result.status).toBe(200);
    expect(result.headers.get('x-request-id')).toBe('dashboard-42');
    expect(result.body.data?.job).toEqual({ jobId: job?.jobId, summary: { status: 'SUCCEED' } });
  });

  it('rejects a body larger than MAX_BODY_BYTES with 413 before parsing it', async () => {
    stack.la.stats.reset();
    const result = await postGraphQL(running.url, {
      query: `{ __typename }`,
      padding: 'x'.repeat(4096),
    });
    expect(result.status).toBe(413);
    expect(result.body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('serves GraphiQL to a browser, opening on apps -> branches -> jobs with no id to fill in', async () => {
    const response = await fetch(`${running.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('GraphiQL');
    // Self-contained: no script or style from a CDN, so it works offline and under a strict CSP.
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/);
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/);
    expect(html).toContain('query Explore {\\n  apps(first: 3) {');
    expect(html).toContain('jobs(first: 3) {');
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, then stops accepting connections', async () => {
    const stack = await startStack();
    const running = await stack.listen();
    try {
      const [job] = stack.la.world.listJobKeys({ status: 'FAILED' });
      stack.la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 400, count: 1 });
      const inFlight = postGraphQL(running.url, {
        query: JOB_QUERY,
        variables: { a: job?.appId, b: job?.branchName, j: job?.jobId },
      });
      // Wait until the request has reached the upstream, then ask the server to stop.
      for (let i = 0; i < 100 && stack.la.stats.calls('GetJob') === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(stack.la.stats.calls('GetJob')).toBe(1);
      const closed = running.close();
      const result = await inFlight;
      expect(result.status).toBe(200);
      expect(result.body.data?.job).toEqual({ jobId: job?.jobId, summary: { status: 'FAILED' } });
      await closed;
      await expect(fetch(`${running.url}/health`)).rejects.toThrow();
    } finally {
      await stack.close();
    }
  });
});
