/**
 * The caches under access control, over real HTTP: credentials are checked before the
 * immutable-response fast path, each caller (key id and scopes) has answers of its own, answers to
 * key holders are `private`, and the cache counters move.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { metricValue } from '../support/metrics.js';
import { type Stack, startStack } from '../support/stack.js';

const KEY_A = 'ajg_cache_test_a_0123456789abcdef';
const KEY_B = 'ajg_cache_test_b_0123456789abcdef';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the fast path behind access control', () => {
  let stack: Stack;
  let server: RunningServer;
  let finished: JobKeyInfo;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        API_KEYS: `team-a:read:${sha256(KEY_A)},team-b:read:${sha256(KEY_B)}`,
        // No cache of Amplify answers: a request that reaches GraphQL costs one GetJob.
        CACHE_MAX_ENTRIES: '0',
        RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024),
      },
    });
    server = await stack.listen();
    const job = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (job === undefined) throw new Error('the demo world has no finished job');
    finished = job;
  });
  afterAll(() => stack?.close());
  beforeEach(() => stack.la.stats.reset());

  const ask = (headers: Record<string, string>) =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        query: `{ job(appId: "${finished.appId}", branchName: ${JSON.stringify(finished.branchName)}, jobId: "${finished.jobId}") { jobId summary { status } } }`,
      }),
    });

  it('checks credentials before the fast path, keeps answers per key, and marks them private', async () => {
    const first = await ask({ 'x-api-key': KEY_A });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toMatch(/^private, max-age=\d+, immutable$/);
    const body = await first.text();
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    // The same key again: replayed, no GraphQL, no call.
    const again = await ask({ 'x-api-key': KEY_A });
    expect(await again.text()).toBe(body);
    expect(stack.la.stats.calls('GetJob')).toBe(1);

    // Another key: its own entry, so one more call.
    const other = await ask({ 'x-api-key': KEY_B });
    expect(await other.text()).toBe(body);
    expect(stack.la.stats.calls('GetJob')).toBe(2);

    // No key, or a wrong one: refused although the answer is held.
    expect((await ask({})).status).toBe(401);
    expect((await ask({ 'x-api-key': `${KEY_A}x` })).status).toBe(401);
    expect(stack.la.stats.calls('GetJob')).toBe(2);

    const metrics = stack.app.metrics;
    expect(await metricValue(metrics, 'gateway_cache_hits_total', { cache: 'response' })).toBe(1);
    expect(await metricValue(metrics, 'gateway_cache_misses_total', { cache: 'response' })).toBe(2);
  });
});

describe('the fast path and browser origins', () => {
  const LISTED = 'https://dashboard.example.com';
  let stack: Stack;
  let server: RunningServer;
  let finished: JobKeyInfo;

  beforeAll(async () => {
    stack = await startStack({
      env: {
        CORS_ORIGINS: LISTED,
        CACHE_MAX_ENTRIES: '0',
        RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024),
      },
    });
    server = await stack.listen();
    const job = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (job === undefined) throw new Error('the demo world has no finished job');
    finished = job;
  });
  afterAll(() => stack?.close());

  /** The same body each time; only the Origin header changes. */
  const ask = (origin: string | null) =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify({
        query: `{ job(appId: "${finished.appId}", branchName: ${JSON.stringify(finished.branchName)}, jobId: "${finished.jobId}") { jobId } }`,
      }),
    });

  it("keeps each origin's answer apart, so a replay never grants another origin access", async () => {
    const sequence: Array<[string | null, string | null]> = [
      [LISTED, LISTED],
      ['https://evil.example', null],
      [null, null],
      // Each again, now from the fast path.
      [LISTED, LISTED],
      ['https://evil.example', null],
      [null, null],
    ];
    for (const [origin, allowed] of sequence) {
      const response = await ask(origin);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin'), String(origin)).toBe(allowed);
      expect(response.headers.get('vary')).toMatch(/Origin/);
      await response.arrayBuffer();
    }
    // One execution per origin (three), the repeats replayed.
    expect(stack.la.stats.calls('GetJob')).toBe(3);
    expect(
      await metricValue(stack.app.metrics, 'gateway_cache_hits_total', { cache: 'response' }),
    ).toBe(3);
  });
});
