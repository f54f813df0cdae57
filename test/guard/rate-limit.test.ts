/**
 * The per-caller rate limit over real HTTP: counted per API key (or address when anonymous) before
 * anything runs, the fast path included; refusals are 429 RATE_LIMITED with Retry-After and cost no
 * Amplify call; the router secret's caller is not limited. With REDIS_URL, two gateway processes
 * count against one allowance in a real Redis, and a killed Redis fails no request.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddressOf, clientOfAddress } from '../../src/http/client-address.js';
import { createCallerRateLimit, rateLimitKey } from '../../src/http/rate-limit.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import { ANONYMOUS_CALLER, type CallerIdentity } from '../../src/schema/identity.js';
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

const KEY_A = 'ajg_read_cmF0ZWxpbWl0YWFhYWFhYWFhYWFhYWE';
const KEY_B = 'ajg_read_cmF0ZWxpbWl0YmJiYmJiYmJiYmJiYmI';
const KEY_C = 'ajg_read_cmF0ZWxpbWl0Y2NjY2NjY2NjY2NjY2M';
const ROUTER_SECRET = 'router-secret-for-rate-limit-tests-0123';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const API_KEYS = [KEY_A, KEY_B, KEY_C]
  .map((key, i) => `team-${'abc'[i]}:read:${sha256(key)}`)
  .join(',');

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';

interface Reply {
  status: number;
  retryAfter: string | null;
  body: {
    data?: unknown;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  };
}

async function ask(url: string, job: JobKey, headers: Record<string, string>): Promise<Reply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      query: QUERY,
      variables: { a: job.appId, b: job.branchName, j: job.jobId },
    }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Reply['body'],
  };
}

function expectLimited(reply: Reply, windowS: number): void {
  expect(reply.status).toBe(429);
  const seconds = Number(reply.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowS);
  expect(reply.body.data).toBeUndefined();
  expect(reply.body.errors).toHaveLength(1);
  expect(reply.body.errors?.[0]?.extensions).toEqual({
    code: 'RATE_LIMITED',
    retryable: true,
    retryAfterSeconds: seconds,
  });
}

describe('rateLimitKey', () => {
  it('counts a credential wherever it calls from, an anonymous caller by address, not the router', () => {
    const key: CallerIdentity = { kind: 'apiKey', principal: 'key:team-a', scopes: new Set() };
    expect(rateLimitKey(key, '10.0.0.1')).toBe('key:team-a');
    expect(rateLimitKey(key, '10.0.0.2')).toBe('key:team-a');
    expect(rateLimitKey(ANONYMOUS_CALLER, '10.0.0.1')).toBe('address:10.0.0.1');
    expect(rateLimitKey({ ...ANONYMOUS_CALLER, kind: 'router', principal: 'router' }, 'x')).toBe(
      null,
    );
  });
});

describe('the count in one process (no Redis)', () => {
  it('allows RATE_LIMIT_REQUESTS per window from the first request, then says when the window ends', async () => {
    const clock = { now: 10_000 };
    const limit = await createCallerRateLimit({
      requests: 2,
      windowS: 60,
      shared: null,
      clock: () => clock.now,
    });
    expect(await limit.take('key:a')).toBeNull();
    clock.now += 20_000;
    expect(await limit.take('key:a')).toBeNull();
    clock.now += 5_000;
    // The window started with the first request: 35 s of it are left, later requests do not
    // extend it.
    expect(await limit.take('key:a')).toEqual({ retryAfterMs: 35_000, limit: 2, windowS: 60 });
    expect(await limit.take('key:b')).toBeNull();
    clock.now += 35_001;
    expect(await limit.take('key:a')).toBeNull();
  });

  it('counts at most maxCallers at once; the one idle longest starts afresh, the others stay held', async () => {
    const limit = await createCallerRateLimit({
      requests: 1,
      windowS: 60,
      shared: null,
      maxCallers: 100,
      clock: () => 0,
    });
    expect(await limit.take('address:198.51.100.1')).toBeNull();
    for (let i = 0; i < 99; i++) expect(await limit.take(`address:10.0.0.${i}`)).toBeNull();
    // Still held, and now the most recently seen.
    expect(await limit.take('address:198.51.100.1')).not.toBeNull();
    // A flood of new addresses: memory stays bounded.
    for (let i = 0; i < 5_000; i++) await limit.take(`address:10.1.${i >> 8}.${i & 255}`);
    expect(limit.countedHere).toBe(100);
    // The flood pushed out the held caller, which gets a fresh window: a little leak, not an
    // unbounded memory.
    expect(await limit.take('address:198.51.100.1')).toBeNull();
    // The latest addresses of the flood are still counted.
    expect(await limit.take('address:10.1.19.135')).not.toBeNull();
  });
});

describe('clientOfAddress', () => {
  it('counts IPv4 as is, IPv4-mapped IPv6 as its IPv4, and IPv6 by its /56', () => {
    expect(clientOfAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(clientOfAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientOfAddress('2001:db8:1:ab12::1')).toBe('2001:db8:1:ab00::/56');
    expect(clientOfAddress('2001:db8:1:abff:ffff::9')).toBe('2001:db8:1:ab00::/56');
    expect(clientOfAddress('2001:db8:1:ac00::1')).toBe('2001:db8:1:ac00::/56');
    expect(clientOfAddress(undefined)).toBe('unknown');
    expect(clientOfAddress('not an address')).toBe('unknown');
  });
});

describe('clientAddressOf (TRUSTED_PROXIES)', () => {
  const request = (peer: string | undefined, forwardedFor?: string) =>
    ({
      socket: { remoteAddress: peer },
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    }) as unknown as IncomingMessage;

  it('ignores X-Forwarded-For unless the peer is a trusted proxy, and never goes past the first untrusted hop', () => {
    const none = clientAddressOf(null);
    expect(none(request('10.1.2.3', '203.0.113.9'))).toBe('10.1.2.3');
    const ingress = clientAddressOf(['10.0.0.0/8']);
    // From the ingress: the client it forwarded for.
    expect(ingress(request('10.1.2.3', '203.0.113.9'))).toBe('203.0.113.9');
    // A client's own header value sits beyond the address its proxy saw: not believed.
    expect(ingress(request('10.1.2.3', '198.51.100.1, 203.0.113.9'))).toBe('203.0.113.9');
    // Two trusted hops (a load balancer, then the ingress): the first address outside them.
    expect(ingress(request('10.1.2.3', '203.0.113.9, 10.9.9.9'))).toBe('203.0.113.9');
    // Straight from a client: its header is ignored.
    expect(ingress(request('203.0.113.50', '10.0.0.1'))).toBe('203.0.113.50');
    expect(ingress(request('10.1.2.3'))).toBe('10.1.2.3');
    expect(ingress(request(undefined, '203.0.113.9'))).toBeUndefined();
    // One client for both limits: an IPv6 client by its /56, from the peer or from the header.
    expect(none(request('2001:db8:1:ab12::1'))).toBe('2001:db8:1:ab00::/56');
    expect(ingress(request('10.1.2.3', '2001:db8:1:abff::9'))).toBe('2001:db8:1:ab00::/56');
    // Worked out once per connection, but a closed socket (no peer any more) has no client.
    const kept = request('192.0.2.7');
    expect(none(kept)).toBe('192.0.2.7');
    expect(none(kept)).toBe('192.0.2.7');
    (kept.socket as { remoteAddress?: string }).remoteAddress = undefined;
    expect(none(kept)).toBeUndefined();
  });
});

describe('RATE_LIMIT_REQUESTS behind a load balancer (TRUSTED_PROXIES)', () => {
  let stack: Stack;
  let job: JobKey;
  const from = (forwardedFor: string) => ({ 'x-forwarded-for': forwardedFor });

  beforeAll(async () => {
    // The tests' requests come from 127.0.0.1, which plays the load balancer here.
    stack = await startStack({
      env: { RATE_LIMIT_REQUESTS: '2', RATE_LIMIT_WINDOW_S: '60', TRUSTED_PROXIES: 'loopback' },
    });
    const done = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (done === undefined) throw new Error('the demo world lacks jobs');
    job = done;
  });
  afterAll(() => stack?.close());

  it('counts each anonymous client by the address the proxy forwarded, not by the proxy', async () => {
    const url = `${(await stack.listen()).url}/graphql`;
    expect((await ask(url, job, from('203.0.113.1'))).status).toBe(200);
    expect((await ask(url, job, from('203.0.113.1'))).status).toBe(200);
    expectLimited(await ask(url, job, from('203.0.113.1')), 60);
    // Another client behind the same proxy has its own allowance...
    expect((await ask(url, job, from('203.0.113.2'))).status).toBe(200);
    // ...and the limited one cannot borrow it by writing the other's address into the header:
    // its proxy appends the address it really came from, which is what counts.
    expectLimited(await ask(url, job, from('203.0.113.2, 203.0.113.1')), 60);
    expect((await ask(url, job, from('203.0.113.2'))).status).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer that is not listed', async () => {
    const elsewhere = await stack.gateway({
      RATE_LIMIT_REQUESTS: '2',
      RATE_LIMIT_WINDOW_S: '60',
      TRUSTED_PROXIES: '10.0.0.0/8',
    });
    const url = `${(await elsewhere.listen()).url}/graphql`;
    expect((await ask(url, job, from('203.0.113.3'))).status).toBe(200);
    expect((await ask(url, job, from('203.0.113.4'))).status).toBe(200);
    // Both were 127.0.0.1, which is not a trusted proxy here: one allowance, spent.
    expectLimited(await ask(url, job, from('203.0.113.5')), 60);
  });
});

describe('RATE_LIMIT_REQUESTS in one process', () => {
  let stack: Stack;
  let url: string;
  let finished: JobKey;
  let running: JobKey;

  beforeAll(async () => {
    stack = await startStack({
      env: { API_KEYS, RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW_S: '60' },
    });
    url = `${(await stack.listen()).url}/graphql`;
    const done = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    const going = stack.la.world.listJobKeys({ status: 'RUNNING' })[0];
    if (done === undefined || going === undefined) throw new Error('the demo world lacks jobs');
    finished = done;
    running = going;
  });
  afterAll(() => stack?.close());

  it('refuses a caller past its allowance with 429 before any Amplify call; others go on', async () => {
    const a = { 'x-api-key': KEY_A };
    for (let i = 0; i < 3; i++) {
      const reply = await ask(url, running, a);
      expect(reply.status).toBe(200);
      expect(reply.retryAfter).toBeNull();
    }
    stack.la.stats.reset();
    // A running job is not kept by the fast path: without the limit this would call Amplify.
    expectLimited(await ask(url, running, a), 60);
    expectLimited(await ask(url, finished, a), 60);
    expect(stack.la.stats.calls('GetJob')).toBe(0);
    // Another key has its own allowance.
    expect((await ask(url, running, { 'x-api-key': KEY_B })).status).toBe(200);
  });

  it('counts answers of the fast path too, and leaves the router secret alone', async () => {
    const b = { 'x-api-key': KEY_B };
    // team-b sent one above; two more of a finished job (the second from the fast path).
    expect((await ask(url, finished, b)).status).toBe(200);
    expect((await ask(url, finished, b)).status).toBe(200);
    expectLimited(await ask(url, finished, b), 60);
    // A gateway behind a router that shows only its secret: the whole supergraph is one caller.
    const behindRouter = await stack.gateway({ ROUTER_SECRET, RATE_LIMIT_REQUESTS: '2' });
    const routerUrl = `${(await behindRouter.listen()).url}/graphql`;
    for (let i = 0; i < 5; i++) {
      const reply = await ask(routerUrl, finished, { 'x-router-secret': ROUTER_SECRET });
      expect(reply.status).toBe(200);
    }
  });

  it('lets a page on an allowed origin read the refusal (CORS headers on 429 and 401)', async () => {
    const origin = 'https://dash.example.com';
    const browserFacing = await stack.gateway({
      API_KEYS,
      CORS_ORIGINS: origin,
      RATE_LIMIT_REQUESTS: '1',
    });
    const pageUrl = `${(await browserFacing.listen()).url}/graphql`;
    const send = (headers: Record<string, string>) =>
      fetch(pageUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, ...headers },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    expect((await send({ 'x-api-key': KEY_A })).status).toBe(200);
    for (const refused of [await send({ 'x-api-key': KEY_A }), await send({})]) {
      expect([429, 401]).toContain(refused.status);
      expect(refused.headers.get('access-control-allow-origin')).toBe(origin);
      expect(refused.headers.get('access-control-expose-headers')).toContain('retry-after');
      expect(refused.headers.get('vary')).toMatch(/origin/i);
    }
    const elsewhere = await fetch(pageUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });
});

const run = redisTestsRun();

describe.skipIf(!run)('RATE_LIMIT_REQUESTS shared by two gateway processes through Redis', () => {
  let la: LocalAmplify;
  let redis: TestRedis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let job: JobKey;
  let client: Redis;

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
    redis = await startRedis();
    [a, b] = await startReplicas(la, redis, {
      API_KEYS,
      RATE_LIMIT_REQUESTS: '4',
      RATE_LIMIT_WINDOW_S: '120',
    });
    client = new Redis(redis.url);
    const done = la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (done === undefined) throw new Error('the demo world lacks jobs');
    job = done;
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.close();
    await la?.close();
  });

  it('holds one caller to one allowance across replicas, and serves everyone while Redis is down', async () => {
    const keyA = { 'x-api-key': KEY_A };
    // Two on each replica spend team-a's four; the fifth is refused on either.
    for (const gateway of [a, b, a, b])
      expect((await ask(gateway.url, job, keyA)).status).toBe(200);
    expectLimited(await ask(a.url, job, keyA), 120);
    expectLimited(await ask(b.url, job, keyA), 120);
    // Each replica asked Redis once for its refusal, then refuses team-a from memory: a flood of
    // refused requests costs Redis nothing.
    const count = () => client.get('amplify-jobs:rate:v1:4:120:key:team-a');
    expect(await count()).toBe('6');
    for (let i = 0; i < 5; i++) expectLimited(await ask(b.url, job, keyA), 120);
    expect(await count()).toBe('6');

    await redis.kill();
    await Promise.all([a, b].map((g) => g.waitForLine(redisLines.unavailable, 10_000)));
    // Each replica now counts team-b alone, in memory: four each, and no request fails.
    const keyB = { 'x-api-key': KEY_B };
    for (const gateway of [a, b]) {
      for (let i = 0; i < 4; i++) expect((await ask(gateway.url, job, keyB)).status).toBe(200);
      expectLimited(await ask(gateway.url, job, keyB), 120);
    }

    await redis.restart();
    await Promise.all([a, b].map((g) => g.waitForLine(redisLines.back, 15_000)));
    // Counted in Redis again: team-c's four spread over both replicas, then refused on either.
    const keyC = { 'x-api-key': KEY_C };
    for (const gateway of [b, a, b, a])
      expect((await ask(gateway.url, job, keyC)).status).toBe(200);
    expectLimited(await ask(b.url, job, keyC), 120);
    expectLimited(await ask(a.url, job, keyC), 120);
    expect(await client.get('amplify-jobs:rate:v1:4:120:key:team-c')).toBe('6');
  });
});

describe.skipIf(!run)('the rate limit when Redis hangs or refuses its commands', () => {
  let redis: TestRedis;
  let client: Redis;
  let stack: Stack;
  const events: unknown[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    stack = await startStack({
      env: {
        REDIS_URL: redis.url,
        CURSOR_SECRET: 'test-cursor-secret-0123456789',
        REDIS_TIMEOUT_MS: '100',
        API_KEYS,
        RATE_LIMIT_REQUESTS: '100',
      },
      onCacheEvent: (event) => events.push(event),
    });
    expect(await stack.app.shared?.whenAvailable(10_000)).toBe(true);
  });
  afterAll(async () => {
    client?.disconnect();
    await stack?.close();
    await redis?.close();
  });

  it('skips a Redis that hangs after a few timeouts, counting here meanwhile, and shares again after', async () => {
    const url = `${(await stack.listen()).url}/graphql`;
    // `{ __typename }` reads nothing from the cache: only the limiter's commands reach Redis.
    const send = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY_A },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    const count = () => client.get('amplify-jobs:rate:v1:100:60:key:team-a');
    expect((await send()).status).toBe(200);
    expect(await count()).toBe('1');
    const blocker = client.duplicate();
    const sleeping = blocker.call('DEBUG', 'SLEEP', '1.5');
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 6; i++) expect((await send()).status).toBe(200);
    // The limiter's own timeouts opened the shared state's breaker: Redis is skipped.
    expect(events).toContainEqual({ cache: 'redis', outcome: 'unavailable' });
    expect(stack.app.shared?.available).toBe(false);
    await sleeping;
    blocker.disconnect();
    // After the breaker's pause the limiter's next command is the probe, and counting is shared.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const before = Number(await count());
    expect((await send()).status).toBe(200);
    expect(events).toContainEqual({ cache: 'redis', outcome: 'available' });
    expect(Number(await count())).toBe(before + 1);
  });

  it('says so once, and serves everyone, when Redis refuses the limiter its keys (ACL)', async () => {
    await client.call(
      'ACL',
      'SETUSER',
      'cache-only',
      'on',
      '>cache-only-password',
      '~amplify-jobs:cache*',
      '~amplify-jobs:live*',
      '&*',
      '+@all',
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const narrow = await createGateway({
      upstream: stack.la,
      env: {
        REDIS_URL: redis.url.replace('redis://', 'redis://cache-only:cache-only-password@'),
        CURSOR_SECRET: 'test-cursor-secret-0123456789',
        API_KEYS,
        RATE_LIMIT_REQUESTS: '2',
      },
      log: pino({ level: 'info' }, sink),
    });
    try {
      expect(await narrow.app.shared?.whenAvailable(10_000)).toBe(true);
      const url = `${(await narrow.listen()).url}/graphql`;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY_B },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        statuses.push(response.status);
      }
      // Counted in this process instead: two admitted, then refused.
      expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
      // Redis answered (with an error): the breaker the cache shares stayed closed.
      expect(narrow.app.shared?.available).toBe(true);
      const failures = lines.filter((line) =>
        line.includes('a rate-limit command failed in Redis'),
      );
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain('NOPERM');
      expect(lines.join('')).not.toContain('cache-only-password');
    } finally {
      await narrow.close();
    }
  });
});
