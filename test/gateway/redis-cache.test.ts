/**
 * The cache shared through a real Redis (a `redis-server` each describe starts on an ephemeral
 * port): between two gateway processes, through a Redis that dies and comes back, and in the
 * details a rolling deploy and a slow Redis depend on.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CacheEvent } from '../../src/http/app.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import type { GatewayProcess } from '../support/gateway-process.js';
import {
  redisLines,
  redisTestsRun,
  startRedis,
  startReplicas,
  type TestRedis,
} from '../support/redis.js';
import { createGateway, type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

const vars = (job: JobKey) => ({ a: job.appId, b: job.branchName, j: job.jobId });

async function ask(url: string, job: JobKey): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY, variables: vars(job) }),
  });
  return { status: response.status, body: await response.json() };
}

function expectJob(reply: { status: number; body: unknown }, job: JobKey, status: string): void {
  expect(reply.status).toBe(200);
  expect(reply.body).toEqual({ data: { job: { jobId: job.jobId, summary: { status } } } });
}

const unavailableLines = (gateway: GatewayProcess) =>
  gateway.lines().filter(redisLines.unavailable);
const backLines = (gateway: GatewayProcess) => gateway.lines().filter(redisLines.back);

const run = redisTestsRun();

describe.skipIf(!run)('two gateway processes sharing one Redis', () => {
  let la: LocalAmplify;
  let redis: TestRedis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let finished: JobKey[];
  let running: JobKey;

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    redis = await startRedis();
    // Only the shared cache: the fast path would answer repeated requests before it.
    [a, b] = await startReplicas(la, redis, {
      RESPONSE_CACHE_MAX_BYTES: '0',
      CACHE_ACTIVE_TTL_MS: '2000',
    });
    finished = la.world.listJobKeys({ status: 'SUCCEED' }).slice(0, 3);
    const going = la.world.listJobKeys({ status: 'RUNNING' })[0];
    if (finished.length < 3 || going === undefined) throw new Error('the demo world lacks jobs');
    running = going;
  }, 60_000);
  afterEach(() => {
    la.faults.clear();
    la.stats.reset();
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.close();
    await la?.close();
  });

  it('serves a finished job fetched by one from the other with zero upstream calls', async () => {
    expectJob(await ask(a.url, finished[0]!), finished[0]!, 'SUCCEED');
    expect(la.stats.calls('GetJob')).toBe(1);
    expectJob(await ask(b.url, finished[0]!), finished[0]!, 'SUCCEED');
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('answers 100 concurrent requests to each for one running job with one GetJob', async () => {
    // Every request arrives while the one call is under way: B's wait on A's lease, not luck.
    la.faults.add({ operations: 'GetJob', kind: 'latency', latencyMs: 500, count: 1 });
    const replies = await Promise.all(
      [a, b].flatMap((gateway) => Array.from({ length: 100 }, () => ask(gateway.url, running))),
    );
    for (const reply of replies) expectJob(reply, running, 'RUNNING');
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('fails no request while Redis is killed, logs it once, and shares again once it is back', async () => {
    await redis.kill();
    for (const gateway of [a, b]) {
      for (let i = 0; i < 5; i++)
        expectJob(await ask(gateway.url, finished[1]!), finished[1]!, 'SUCCEED');
    }
    // Each process asked once and kept the answer in memory.
    expect(la.stats.calls('GetJob')).toBe(2);
    await Promise.all([a, b].map((g) => g.waitForLine(redisLines.unavailable, 10_000)));
    expect(unavailableLines(a)).toHaveLength(1);
    expect(unavailableLines(b)).toHaveLength(1);
    expect(unavailableLines(a)[0]?.level).toBe(40);

    await redis.restart();
    await Promise.all([a, b].map((g) => g.waitForLine(redisLines.back, 15_000)));
    expect(backLines(a)).toHaveLength(1);
    expect(backLines(b)).toHaveLength(1);
    la.stats.reset();
    expectJob(await ask(a.url, finished[2]!), finished[2]!, 'SUCCEED');
    expectJob(await ask(b.url, finished[2]!), finished[2]!, 'SUCCEED');
    expect(la.stats.calls('GetJob')).toBe(1);
    // Nothing in the logs names the Redis URL (it may hold a password).
    expect(JSON.stringify([...a.lines(), ...b.lines()])).not.toContain(redis.url);
  });
});

describe.skipIf(!run)('what the gateway keeps in Redis', () => {
  let redis: TestRedis;
  let stack: Stack;
  let client: Redis;
  const events: CacheEvent[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      env: {
        CACHE_MAX_ENTRIES: '1000',
        REDIS_URL: redis.url,
        CURSOR_SECRET: 'test-cursor-secret-0123456789',
        // Long enough for a busy machine; the slow-Redis test holds Redis longer than this.
        REDIS_TIMEOUT_MS: '1000',
        CACHE_ACTIVE_TTL_MS: '1000',
      },
      onCacheEvent: (event) => events.push(event),
    });
    expect(await stack.app.shared?.whenAvailable(10_000)).toBe(true);
    client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
  });
  afterEach(() => {
    stack.la.faults.clear();
    stack.la.stats.reset();
    events.length = 0;
  });
  afterAll(async () => {
    client?.disconnect();
    await stack?.close();
    await redis?.close();
  });

  const pick = (status: string, index: number): JobKey => {
    const job = stack.la.world.listJobKeys({ status })[index];
    if (job === undefined) throw new Error(`the demo world lacks ${status} job #${index}`);
    return job;
  };
  const keyOf = (job: JobKey) =>
    `amplify-jobs:cache:v1:getJob:${JSON.stringify([job.appId, job.branchName, job.jobId])}`;

  it('keeps versioned values under versioned keys, long for finished jobs and briefly for running ones', async () => {
    const finished = pick('SUCCEED', 5);
    const running = pick('RUNNING', 1);
    await stack.graphql(QUERY, vars(finished));
    await stack.graphql(QUERY, vars(running));
    const stored = JSON.parse((await client.get(keyOf(finished))) ?? 'null') as {
      v: number;
      value: { summary: { status: string } };
    };
    expect(stored.v).toBe(1);
    expect(stored.value.summary.status).toBe('SUCCEED');
    const finishedTtl = await client.pttl(keyOf(finished));
    const runningTtl = await client.pttl(keyOf(running));
    expect(finishedTtl).toBeGreaterThan(86_000_000);
    expect(runningTtl).toBeGreaterThan(0);
    expect(runningTtl).toBeLessThanOrEqual(1_000);
    // The lease was given back once the answer was in.
    expect(await client.keys('amplify-jobs:cache-lease:*')).toEqual([]);
  });

  it('ignores a value written in another format: a miss, then the right answer stored over it', async () => {
    const finished = pick('SUCCEED', 6);
    await client.set(
      keyOf(finished),
      JSON.stringify({ v: 2, value: { status: 'from another release' } }),
      'PX',
      60_000,
    );
    const body = await stack.graphql(QUERY, vars(finished));
    expect(body).toEqual({
      data: { job: { jobId: finished.jobId, summary: { status: 'SUCCEED' } } },
    });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(JSON.parse((await client.get(keyOf(finished))) ?? '{}')).toMatchObject({ v: 1 });
  });

  it('keeps each deployment to its own REDIS_KEY_PREFIX', async () => {
    const finished = pick('FAILED', 3);
    await stack.graphql(QUERY, vars(finished));
    const other = await stack.gateway({
      CACHE_MAX_ENTRIES: '1000',
      REDIS_URL: redis.url,
      CURSOR_SECRET: 'test-cursor-secret-0123456789',
      REDIS_KEY_PREFIX: 'staging',
    });
    expect(await other.app.shared?.whenAvailable(10_000)).toBe(true);
    await other.graphql(QUERY, vars(finished));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(await client.exists(keyOf(finished).replace(/^amplify-jobs:/, 'staging:'))).toBe(1);
  });

  it('closes its Redis connection when the app closes, and does not reconnect', async () => {
    const gateways = async () =>
      String(await client.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(' name=amplify-jobs-graphql ')).length;
    const before = await gateways();
    const extra = await createGateway({
      upstream: stack.la,
      env: {
        CACHE_MAX_ENTRIES: '10',
        REDIS_URL: redis.url,
        CURSOR_SECRET: 'test-cursor-secret-0123456789',
      },
    });
    expect(await extra.app.shared?.whenAvailable(10_000)).toBe(true);
    expect(await gateways()).toBe(before + 1);
    await extra.close();
    expect(extra.app.shared?.available).toBe(false);
    // Longer than the longest reconnection delay (2 s): nothing comes back.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await gateways()).toBe(before);
  });

  it('answers from memory and Amplify while Redis is too slow, and shares again after', async () => {
    const blocker = client.duplicate();
    const finished = pick('SUCCEED', 7);
    // Redis holds every command for 1.5 s: each of ours times out after REDIS_TIMEOUT_MS.
    const sleeping = blocker.call('DEBUG', 'SLEEP', '1.5');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => stack.graphql(QUERY, vars(pick('CANCELLED', i)))),
    );
    for (const reply of replies) expect(reply.errors).toBeUndefined();
    await sleeping;
    blocker.disconnect();
    expect(events).toContainEqual({ cache: 'redis', outcome: 'unavailable' });
    // Once it answers again (after the breaker's pause), the cache is shared again.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await stack.graphql(QUERY, vars(finished));
    expect(events).toContainEqual({ cache: 'redis', outcome: 'available' });
    expect(await client.exists(keyOf(finished))).toBe(1);
  });
});
