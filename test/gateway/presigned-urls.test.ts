/**
 * Answers holding presigned URLs (on AWS: a step's logUrl, artifact and screenshot URLs, expiring
 * at X-Amz-Date + X-Amz-Expires) are kept by no cache past their earliest URL's expiry less a
 * minute: not the cache of Amplify answers (memory, Redis), not the fast path, not HTTP caches
 * (max-age); they are never `public`; and a Step.log whose URL died in the cache re-reads the job.
 * The local Amplify's `corrupt` fault (variant logUrl) hands out such URLs; its /_files/ answers
 * 403 "Request has expired" once its own clock passes them. The gateway's clock is the test's.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEvent } from '../../src/http/app.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { redisTestsRun, startRedis, type TestRedis } from '../support/redis.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';

const JOB_URLS =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId steps { stepName logUrl } } }';
const JOB_LOGS =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { steps { stepName log(tailLines: 2) { text } } } }';

const vars = (job: JobKey) => ({ a: job.appId, b: job.branchName, j: job.jobId });

/** `X-Amz-Date` for an instant: `YYYYMMDDTHHMMSSZ`. */
const amzDate = (at: number) => new Date(at).toISOString().replace(/[-:]|\.\d{3}/g, '');

const HOUR_S = 3600;
/** What a one-hour URL leaves a cache: an hour less the minute's margin. */
const CAPPED_S = HOUR_S - 60;

let stack: Stack;
let now: number;
let job: JobKey;
let logUrl: string;

beforeEach(async () => {
  stack = await startStack();
  now = stack.la.clock.nowMs();
  const found = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
  if (found === undefined) throw new Error('no finished job in the demo world');
  job = { appId: found.appId, branchName: found.branchName, jobId: found.jobId };
  const wire = stack.la.world.getJobWire(job.appId, job.branchName, job.jobId)?.job;
  logUrl = wire?.steps[0]?.logUrl ?? '';
  expect(logUrl).toContain('/_files/logs/');
});
afterEach(() => stack.close());

/** Every GetJob of the job (or the next `count`) names this presigned log URL in every step. */
function presign(expiresS: number, signedAt = now, count?: number): string {
  const url = `${logUrl}?X-Amz-Date=${amzDate(signedAt)}&X-Amz-Expires=${expiresS}&X-Amz-Signature=abc`;
  stack.la.faults.add({
    kind: 'corrupt',
    variant: 'logUrl',
    url,
    operations: 'GetJob',
    labels: { ...job },
    ...(count === undefined ? {} : { count }),
  });
  return url;
}

/** A gateway with the caches on, whose clock is the test's `now`. */
function gateway(env: Record<string, string> = {}, onCacheEvent?: (e: CacheEvent) => void) {
  return stack.gateway(
    { CACHE_MAX_ENTRIES: '1000', ...env },
    { clock: () => now, ...(onCacheEvent ? { onCacheEvent } : {}) },
  );
}

describe('answers holding presigned URLs', () => {
  it('stay in the cache of Amplify answers until the earliest URL expires less a minute, not a day', async () => {
    const url = presign(HOUR_S);
    const g = await gateway();
    const first = await g.graphql(JOB_URLS, vars(job));
    expect(first.errors).toBeUndefined();
    expect(JSON.stringify(first.data)).toContain(url);
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    now += (CAPPED_S - 1) * 1000;
    await g.graphql(JOB_URLS, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    now += 2_000;
    await g.graphql(JOB_URLS, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it('cap Cache-Control max-age and the fast path the same way, and are private, never public', async () => {
    presign(HOUR_S);
    const hits: CacheEvent[] = [];
    const g = await gateway({ RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024) }, (event) => {
      if (event.cache === 'response' && event.outcome === 'hit') hits.push(event);
    });
    const { url } = await g.listen();
    const ask = async (key: JobKey) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: JOB_URLS, variables: vars(key) }),
      });
      expect(response.status).toBe(200);
      return { cacheControl: response.headers.get('cache-control'), body: await response.text() };
    };

    // AUTH=none, no credentials: still private, since the answer holds a bearer URL.
    const first = await ask(job);
    expect(first.cacheControl).toBe(`private, max-age=${CAPPED_S}, immutable`);
    const replayed = await ask(job);
    expect(replayed).toEqual(first);
    expect(hits).toHaveLength(1);

    // A replay says how long is left.
    now += 1_000_000;
    const later = await ask(job);
    expect(later.cacheControl).toBe(`private, max-age=${CAPPED_S - 1000}, immutable`);
    expect(hits).toHaveLength(2);
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    // Past it, neither the fast path nor the cache answers; the (same, now expired) URL is not
    // cacheable at all.
    now += (CAPPED_S - 1000 + 1) * 1000;
    const expired = await ask(job);
    expect(hits).toHaveLength(2);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(expired.cacheControl).toBe('no-store');

    // A finished job without presigned URLs (the emulator's own) stays public for a day.
    const other = stack.la.world
      .listJobKeys({ status: 'SUCCEED' })
      .find((key) => key.jobId !== job.jobId || key.branchName !== job.branchName);
    const plain = await ask(other!);
    expect(plain.cacheControl).toBe('public, max-age=86400, immutable');
  });

  it('are not cached at all when a URL expires within the margin', async () => {
    presign(30);
    const g = await gateway();
    await g.graphql(JOB_URLS, vars(job));
    await g.graphql(JOB_URLS, vars(job));
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });

  it("re-read their job once when Step.log finds the cached job's URL dead, and read the log from the new one", async () => {
    // The first GetJob names a URL good for 10 minutes; later ones the emulator's plain URLs.
    presign(600, now, 1);
    const g = await gateway();
    const urls = await g.graphql(JOB_URLS, vars(job));
    expect(urls.errors).toBeUndefined();
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    // The URL dies before the gateway's clock says so (as with expired signing credentials).
    stack.la.clock.advance(700_000);
    expect((await fetch(`${logUrl}?X-Amz-Date=${amzDate(now)}&X-Amz-Expires=600`)).status).toBe(
      403,
    );
    const logs = await g.graphql(JOB_LOGS, vars(job));
    expect(logs.errors).toBeUndefined();
    type Logs = { steps: Array<{ log: { text: string } | null }> } | undefined;
    const steps = (logs.data?.job as Logs)?.steps ?? [];
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(step.log?.text.length).toBeGreaterThan(0);
    // One more GetJob for all the steps, and none after: the renewed job is kept.
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(await g.graphql(JOB_LOGS, vars(job))).toEqual(logs);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
  });
});

describe.skipIf(!redisTestsRun())('answers holding presigned URLs, in Redis', () => {
  let redis: TestRedis;
  let client: Redis;
  let g: Gateway;

  beforeEach(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
  });
  afterEach(async () => {
    client.disconnect();
    await g?.close();
    await redis.close();
  });

  it('are kept in Redis until the earliest URL expires less a minute, not a day', async () => {
    presign(HOUR_S);
    g = await gateway({
      REDIS_URL: redis.url,
      REDIS_TIMEOUT_MS: '2000',
      CURSOR_SECRET: 'test-cursor-secret-0123456789',
    });
    await g.app.shared?.whenAvailable(5_000);
    const body = await g.graphql(JOB_URLS, vars(job));
    expect(body.errors).toBeUndefined();
    const keys = await client.keys('*:cache:v1:getJob:*');
    expect(keys).toHaveLength(1);
    const ttlMs = await client.pttl(keys[0]!);
    expect(ttlMs).toBeLessThanOrEqual(CAPPED_S * 1000);
    expect(ttlMs).toBeGreaterThan((CAPPED_S - 60) * 1000);
    // The key names the job, never a URL.
    expect(keys[0]).not.toContain('X-Amz');
  });
});
