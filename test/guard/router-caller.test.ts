/**
 * The caller behind a federation router, and per-client subscription limits, over real HTTP.
 * With the router secret alone, every supergraph client reaches the gateway as one caller: it
 * holds ROUTER_SCOPES (`read` by default, so startJob/stopJob are refused unless the operator
 * trusts the router's own authorization with `read+write`), and it is not held to the per-client
 * subscription limit (all its clients would share one quota), only to the per-process one.
 * Credentials are limited per credential and client address, so one shared key does not hold
 * every holder's quota.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { releasableBranches } from '../support/live.js';
import { type GraphQLBody, type Stack, startStack } from '../support/stack.js';

const SECRET = 'router-secret-0123456789abcdef';
const KEY = 'ajg_router_caller_test_0123456789';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let stack: Stack | null = null;
const opened: IncomingMessage[] = [];
afterEach(async () => {
  for (const response of opened.splice(0)) response.destroy();
  await stack?.close();
  stack = null;
});

async function post(server: RunningServer, headers: Record<string, string>, query: string) {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLBody };
}

/**
 * Opens a jobUpdated stream from `localAddress` (any 127.0.0.0/8 address reaches the loopback
 * server) and resolves with what arrived up to the first event; the stream stays open.
 */
function subscribe(
  server: RunningServer,
  job: JobKey,
  headers: Record<string, string>,
  localAddress = '127.0.0.1',
): Promise<string> {
  const body = JSON.stringify({
    query:
      'subscription($a: ID!, $b: String!, $j: ID!) { jobUpdated(appId: $a, branchName: $b, jobId: $j) { jobId } }',
    variables: { a: job.appId, b: job.branchName, j: job.jobId },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/graphql`,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        opened.push(res);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('event: next')) resolve(text);
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function runningJob(s: Stack): JobKey {
  const quirks = s.la.world.quirkApp().appId;
  const found = s.la.world.listJobKeys({ status: 'RUNNING' }).find((j) => j.appId !== quirks);
  if (found === undefined) throw new Error('no running job');
  return { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
}

describe('the router caller', () => {
  const start = (s: Stack) => {
    const branch = releasableBranches(s.la)[0];
    if (branch === undefined) throw new Error('no branch');
    return `mutation { startJob(appId: "${branch.appId}", branchName: "${branch.branchName}", jobType: RELEASE) { jobId } }`;
  };

  it('may only read by default: a mutation through the router is refused with 403', async () => {
    stack = await startStack({ env: { ROUTER_SECRET: SECRET, CONTROL_MUTATIONS: 'true' } });
    const server = await stack.listen();

    const reply = await post(server, { 'x-router-secret': SECRET }, start(stack));

    expect(reply.status).toBe(403);
    expect(reply.body.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      requiredScope: 'write',
    });
    expect(stack.la.stats.calls('StartJob')).toBe(0);
    const read = await post(server, { 'x-router-secret': SECRET }, '{ __typename }');
    expect(read.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('starts a job through the router with ROUTER_SCOPES=read+write', async () => {
    stack = await startStack({
      env: { ROUTER_SECRET: SECRET, ROUTER_SCOPES: 'read+write', CONTROL_MUTATIONS: 'true' },
    });
    const server = await stack.listen();

    const reply = await post(server, { 'x-router-secret': SECRET }, start(stack));

    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(stack.la.stats.calls('StartJob')).toBe(1);
  });

  it('is held to the per-process subscription limit only, not the per-client one', async () => {
    stack = await startStack({
      env: {
        ROUTER_SECRET: SECRET,
        LIVE_POLL_INTERVAL_MS: '600000',
        LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '1',
        LIVE_MAX_SUBSCRIPTIONS: '3',
      },
    });
    const server = await stack.listen();
    const job = runningJob(stack);
    const router = { 'x-router-secret': SECRET };

    for (let i = 0; i < 3; i += 1) {
      expect(await subscribe(server, job, router)).toContain(`"jobId":"${job.jobId}"`);
    }
    const fourth = await subscribe(server, job, router);
    expect(fourth).toContain('TOO_MANY_SUBSCRIPTIONS');
    expect(fourth).toContain('This gateway already holds 3 live subscriptions');
  });
});

describe('the per-client subscription limit for credentials', () => {
  it('counts per credential and client address, and says the limit is this replica', async () => {
    stack = await startStack({
      env: {
        API_KEYS: `board:read:${sha256(KEY)}`,
        LIVE_POLL_INTERVAL_MS: '600000',
        LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '1',
      },
    });
    const server = await stack.listen();
    const job = runningJob(stack);
    const key = { 'x-api-key': KEY };

    expect(await subscribe(server, job, key, '127.0.0.1')).toContain('"jobId"');
    const again = await subscribe(server, job, key, '127.0.0.1');
    expect(again).toContain('TOO_MANY_SUBSCRIPTIONS');
    expect(again).toContain('live subscriptions on this replica');
    // The same key from another address has a quota of its own.
    expect(await subscribe(server, job, key, '127.0.0.2')).toContain('"jobId"');
  });
});
