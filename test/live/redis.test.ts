/**
 * Live status across replicas through a real Redis (a `redis-server` started here): two gateway
 * apps sharing REDIS_URL poll a job once per interval between them, fan changes out to each
 * other's subscribers, take an event id once for the cluster, and carry on alone while Redis is
 * down.
 */
import { AmplifyClient, StartJobCommand } from '@aws-sdk/client-amplify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_SECRET_HEADER } from '../../src/http/amplify-events.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import {
  getJobCallsFor,
  openRawStream,
  releasableBranches,
  type Subscription,
  subscribeWithClient,
  until,
  within,
} from '../support/live.js';
import { redisTestsRun, startRedis, type TestRedis } from '../support/redis.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';

const SECRET = 'redis-events-secret-0123456789';
const run = redisTestsRun();

describe.skipIf(!run)('two replicas sharing one Redis', () => {
  let redis: TestRedis;
  let stack: Stack;
  let a: Gateway;
  let b: Gateway;
  let urlA: string;
  let urlB: string;
  const open: Subscription[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      // Replicas sharing Redis share the cursor key too (config refuses REDIS_URL without it).
      CURSOR_SECRET: 'test-cursor-secret-0123456789',
      // Generous: a slow answer on a busy machine would (rightly) make a replica decide alone.
      REDIS_TIMEOUT_MS: '2000',
      LIVE_POLL_INTERVAL_MS: '200',
      LIVE_POLL_MAX_INTERVAL_MS: '400',
      // Every poll reaches Amplify, so GetJob calls count polls exactly.
      CACHE_ACTIVE_TTL_MS: '0',
      RESPONSE_CACHE_MAX_BYTES: '0',
      AMPLIFY_EVENTS_SECRET: SECRET,
    };
    stack = await startStack({ env });
    a = stack;
    b = await stack.gateway(env);
    urlA = (await a.listen()).url;
    urlB = (await b.listen()).url;
    for (const gateway of [a, b]) {
      expect(await gateway.app.shared?.whenAvailable(10_000)).toBe(true);
    }
  }, 60_000);

  afterAll(async () => {
    for (const subscription of open) await subscription.close();
    await stack?.close();
    await redis?.close();
  });

  /** A job started now through the Amplify API (each test its own: earlier ones finished). */
  async function startedJob(index: number): Promise<JobKey> {
    const branch = releasableBranches(stack.la)[index];
    if (branch === undefined) throw new Error('not enough branches in the demo world');
    const client = new AmplifyClient({ ...stack.la.clientConfig(), maxAttempts: 1 });
    try {
      const { jobSummary } = await client.send(
        new StartJobCommand({ ...branch, jobType: 'RELEASE' }),
      );
      if (jobSummary?.jobId === undefined) throw new Error('StartJob answered no job id');
      return { ...branch, jobId: jobSummary.jobId };
    } finally {
      client.destroy();
    }
  }

  it('polls a job once per interval between them, and both replicas hear of a change', async () => {
    const key = await startedJob(0);
    const onA = subscribeWithClient(`${urlA}/graphql`, key);
    const onB = subscribeWithClient(`${urlB}/graphql`, key);
    open.push(onA, onB);
    await until(() => onA.results.length === 1 && onB.results.length === 1, 'first answers');

    const stats = () => ({ a: a.app.live.stats(), b: b.app.live.stats() });
    const ticks = (s: ReturnType<typeof stats>) => s.a.polls + s.a.claimsLost;
    const before = stats();
    const calls0 = getJobCallsFor(stack.la, key);
    await until(() => ticks(stats()) >= ticks(before) + 10, 'ten ticks on replica A', 20_000);
    const after = stats();
    const polls = after.a.polls + after.b.polls - before.a.polls - before.b.polls;
    const lost =
      after.a.claimsLost + after.b.claimsLost - before.a.claimsLost - before.b.claimsLost;
    const calls = getJobCallsFor(stack.la, key) - calls0;
    // Each interval both replicas try to claim the job and one wins: as many polls as claims
    // lost, give or take the ticks at the window's edges, and one GetJob per poll.
    expect(Math.abs(polls - lost)).toBeLessThanOrEqual(3);
    expect(lost).toBeGreaterThanOrEqual(7);
    expect(Math.abs(calls - polls)).toBeLessThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(ticks(after) - ticks(before) + 2);

    // The job moves on: one replica reads it, both replicas' subscribers see it.
    stack.la.clock.advance(3_600_000);
    await within(Promise.all([onA.done, onB.done]), 'both subscriptions to end');
    expect(onA.statuses()).toEqual(onB.statuses());
    expect(['SUCCEED', 'FAILED']).toContain(onA.statuses().at(-1));
    const received = a.app.live.stats().received + b.app.live.stats().received;
    expect(received).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("takes a pushed event on one replica to the other's subscribers, once per event id", async () => {
    // Polling is all but off here: whatever reaches the subscriber came from the event.
    const quiet = {
      REDIS_URL: redis.url,
      CURSOR_SECRET: 'test-cursor-secret-0123456789',
      REDIS_TIMEOUT_MS: '2000',
      LIVE_POLL_INTERVAL_MS: '600000',
      CACHE_ACTIVE_TTL_MS: '0',
      RESPONSE_CACHE_MAX_BYTES: '0',
      AMPLIFY_EVENTS_SECRET: SECRET,
    };
    const receiver = await stack.gateway(quiet);
    const watcher = await stack.gateway(quiet);
    const receiverUrl = (await receiver.listen()).url;
    const watcherUrl = (await watcher.listen()).url;
    for (const gateway of [receiver, watcher]) {
      expect(await gateway.app.shared?.whenAvailable(10_000)).toBe(true);
    }
    const key = await startedJob(1);
    const stream = await openRawStream(`${watcherUrl}/graphql`, key);
    open.push(stream);
    await until(() => stream.results.length === 1, 'the first answer');
    // The watcher's channel subscription is in place once Redis has it.
    await new Promise((resolve) => setTimeout(resolve, 200));

    stack.la.clock.advance(3_600_000);
    const event = {
      version: '0',
      id: 'cluster-event-1',
      'detail-type': 'Amplify Deployment Status Change',
      source: 'aws.amplify',
      detail: { ...key, jobStatus: 'SUCCEED' },
    };
    const post = (url: string) =>
      fetch(`${url}/events/amplify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [EVENTS_SECRET_HEADER]: SECRET },
        body: JSON.stringify(event),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));
    expect(await post(receiverUrl)).toEqual({
      status: 202,
      body: { status: 'accepted', id: 'cluster-event-1' },
    });
    await within(stream.done, 'the subscription to end');
    expect(stream.ended).toBe('complete');
    expect(['SUCCEED', 'FAILED']).toContain(stream.statuses().at(-1));
    // The receiver watches nothing: the watcher, told through Redis, read the job itself.
    expect(receiver.app.live.stats().refreshes).toBe(0);
    expect(watcher.app.live.stats()).toMatchObject({ refreshes: 1, polls: 0 });

    // EventBridge delivers at least once: the same id at another replica is a duplicate there.
    expect(await post(watcherUrl)).toEqual({
      status: 200,
      body: { status: 'duplicate', id: 'cluster-event-1' },
    });
  }, 60_000);

  it('keeps every subscriber served while Redis is down, each replica polling alone', async () => {
    const key = await startedJob(2);
    const onA = subscribeWithClient(`${urlA}/graphql`, key);
    const onB = subscribeWithClient(`${urlB}/graphql`, key);
    open.push(onA, onB);
    await until(() => onA.results.length === 1 && onB.results.length === 1, 'first answers');

    await redis.kill();
    await until(
      () => a.app.shared?.available === false && b.app.shared?.available === false,
      'both replicas to see Redis gone',
    );
    const pollsBefore = a.app.live.stats().polls + b.app.live.stats().polls;
    await until(
      () =>
        a.app.live.stats().polls > pollsBefore / 2 + 3 &&
        b.app.live.stats().polls > pollsBefore / 2 + 3,
      'both replicas to poll on their own',
      20_000,
    );
    stack.la.clock.advance(3_600_000);
    await within(Promise.all([onA.done, onB.done]), 'both subscriptions to end');
    expect([onA.ended, onB.ended]).toEqual(['complete', 'complete']);
    expect(onA.statuses().at(-1)).toBe(onB.statuses().at(-1));

    await redis.restart();
    for (const gateway of [a, b]) {
      expect(await gateway.app.shared?.whenAvailable(15_000)).toBe(true);
    }
  }, 60_000);
});
