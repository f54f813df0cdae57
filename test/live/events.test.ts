/**
 * POST /events/amplify end to end: the local Amplify sends its EventBridge events to the gateway
 * (as an API destination would), and subscribers hear of a change without waiting for a poll.
 * Polling is set to 10 minutes here, so any update a subscriber gets came from an event.
 */
import { describe, expect, it } from 'vitest';
import { EVENTS_SECRET_HEADER } from '../../src/http/amplify-events.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { getJobCallsFor, liveTests, releasableBranches, until, within } from '../support/live.js';
import type { Stack } from '../support/stack.js';

const SECRET = 'events-secret-0123456789';
const ENV = {
  LIVE_POLL_INTERVAL_MS: '600000',
  AMPLIFY_EVENTS_SECRET: SECRET,
  CONTROL_MUTATIONS: 'true',
};

const live = liveTests();
let stack: Stack | null = null;

async function startJob(s: Stack): Promise<JobKey> {
  const branch = releasableBranches(s.la)[0]!;
  const body = await s.graphql(
    'mutation($a: ID!, $b: String!) { startJob(appId: $a, branchName: $b, jobType: RELEASE) { appId branchName jobId } }',
    { a: branch.appId, b: branch.branchName },
  );
  expect(body.errors).toBeUndefined();
  return body.data?.startJob as JobKey;
}

function event(key: JobKey, id: string, jobStatus = 'STARTED') {
  return {
    version: '0',
    id,
    'detail-type': 'Amplify Deployment Status Change',
    source: 'aws.amplify',
    account: '123456789012',
    time: '2026-11-16T09:31:07Z',
    region: 'us-east-1',
    resources: [],
    detail: { ...key, jobStatus },
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('pushed Amplify events', () => {
  it('reach a subscriber without waiting for the next poll, one GetJob each', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    s.la.events.setTarget({
      url: `${server.url}/events/amplify`,
      headers: { [EVENTS_SECRET_HEADER]: SECRET },
    });
    const key = await startJob(s);
    const subscription = await live.follow(s, key);
    expect(subscription.statuses()).toEqual(['PENDING']);

    // Far enough for the build to have begun: the local Amplify sends STARTED.
    await s.la.events.idle();
    const calls0 = getJobCallsFor(s.la, key);
    s.la.clock.advance(60_000);
    await s.la.events.idle();
    await until(() => subscription.statuses().includes('RUNNING'), 'RUNNING from the event');
    expect(s.la.events.last(1)[0]?.event.detail.jobStatus).toBe('STARTED');
    expect(getJobCallsFor(s.la, key)).toBe(calls0 + 1);

    // To the end: SUCCEED or FAILED arrives, and the subscription completes.
    s.la.clock.advance(3_600_000);
    await s.la.events.idle();
    await within(subscription.done, 'the subscription to end');
    expect(subscription.ended).toBe('complete');
    const final = s.la.world.getJobWire(key.appId, key.branchName, key.jobId)?.job.summary.status;
    expect(subscription.statuses().at(-1)).toBe(final);
    expect(getJobCallsFor(s.la, key)).toBe(calls0 + 2);
    expect(s.app.live.stats().polls).toBe(0);
    // Other jobs of the demo world, running when the target was set, sent theirs too.
    await until(() => s.app.events?.stats().accepted === s.la.events.sent(), 'every event taken');
    expect(s.app.events?.stats()).toMatchObject({ unauthorized: 0, rejected: 0, duplicates: 0 });
  });

  it('refuses a missing or wrong secret with 401 and refreshes nothing', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    const key = await startJob(s);
    const subscription = await live.follow(s, key);
    s.la.clock.advance(60_000);
    const calls0 = s.la.stats.calls('GetJob');
    const url = `${server.url}/events/amplify`;

    const missing = await post(url, event(key, 'e-1'));
    const wrong = await post(url, event(key, 'e-2'), { [EVENTS_SECRET_HEADER]: `${SECRET}x` });
    const wrongSameLength = await post(url, event(key, 'e-3'), {
      [EVENTS_SECRET_HEADER]: SECRET.replace(/.$/, 'X'),
    });
    for (const answer of [missing, wrong, wrongSameLength]) {
      expect(answer.status).toBe(401);
      expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.la.stats.calls('GetJob')).toBe(calls0);
    expect(s.app.live.stats().refreshes).toBe(0);
    expect(subscription.results).toHaveLength(1);

    // The same event with the right secret is taken, and reaches the subscriber.
    const right = await post(url, event(key, 'e-1'), { [EVENTS_SECRET_HEADER]: SECRET });
    expect(right).toEqual({ status: 202, body: { status: 'accepted', id: 'e-1' } });
    await until(() => subscription.results.length === 2, 'the refreshed job');
    expect(s.la.stats.calls('GetJob')).toBe(calls0 + 1);
  });

  it('refuses what is not an Amplify job event with 400 and refreshes nothing', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    const key = await startJob(s);
    const url = `${server.url}/events/amplify`;
    const auth = { [EVENTS_SECRET_HEADER]: SECRET };
    const calls0 = s.la.stats.calls('GetJob');
    const bad = [
      'not json',
      { ...event(key, 'b-1'), source: 'aws.codebuild' },
      { ...event(key, 'b-2'), 'detail-type': 'Amplify Deployment Failed' },
      { ...event(key, 'b-3'), detail: { appId: key.appId, jobStatus: 'STARTED' } },
      event({ ...key, appId: 'NOT AN APP' }, 'b-4'),
      event({ ...key, jobId: '7; drop' }, 'b-5'),
      { ...event(key, ''), id: '' },
    ];
    for (const body of bad) {
      const answer = await post(url, body, auth);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(typeof answer.body.error).toBe('string');
    }
    const get = await fetch(url, { headers: auth });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    await get.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.la.stats.calls('GetJob')).toBe(calls0);
    expect(s.app.live.stats().refreshes).toBe(0);
    expect(s.app.events?.stats().rejected).toBe(bad.length);
  });

  it('takes an event id once: a redelivery refreshes nothing more', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    const key = await startJob(s);
    await live.follow(s, key);
    const url = `${server.url}/events/amplify`;
    const auth = { [EVENTS_SECRET_HEADER]: SECRET };
    const calls0 = s.la.stats.calls('GetJob');
    const first = await post(url, event(key, 'same-id'), auth);
    const again = await post(url, event(key, 'same-id'), auth);
    expect(first).toEqual({ status: 202, body: { status: 'accepted', id: 'same-id' } });
    expect(again).toEqual({ status: 200, body: { status: 'duplicate', id: 'same-id' } });
    await until(() => s.la.stats.calls('GetJob') === calls0 + 1, 'the one refresh');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.la.stats.calls('GetJob')).toBe(calls0 + 1);
    expect(s.app.live.stats().refreshes).toBe(1);
  });

  it('reads a job at most once per CACHE_ACTIVE_TTL_MS for events, however many new ids arrive', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    const key = await startJob(s);
    await live.follow(s, key);
    const url = `${server.url}/events/amplify`;
    const auth = { [EVENTS_SECRET_HEADER]: SECRET };
    const calls0 = getJobCallsFor(s.la, key);

    // Twenty events with ids never seen: accepted (EventBridge must not retry them)...
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(url, event(key, `burst-${i}`), auth)),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    // ...and read once at once, then once more when the interval (1 s) ends, for the others.
    await until(() => getJobCallsFor(s.la, key) === calls0 + 2, 'the trailing read', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(getJobCallsFor(s.la, key)).toBe(calls0 + 2);
    expect(s.app.live.stats().refreshes).toBe(2);
  });

  it('costs nothing for a job nobody follows', async () => {
    stack = await live.start({ env: ENV });
    const s = stack;
    const server = await s.listen();
    const key = await startJob(s);
    const calls0 = s.la.stats.calls('GetJob');
    const answer = await post(`${server.url}/events/amplify`, event(key, 'unwatched'), {
      [EVENTS_SECRET_HEADER]: SECRET,
    });
    expect(answer).toEqual({ status: 202, body: { status: 'accepted', id: 'unwatched' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(s.la.stats.calls('GetJob')).toBe(calls0);
    expect(s.app.live.stats().refreshes).toBe(0);

    // Followed, the same job's next event is read once.
    await live.follow(s, key);
    await post(`${server.url}/events/amplify`, event(key, 'watched'), {
      [EVENTS_SECRET_HEADER]: SECRET,
    });
    await until(() => s.la.stats.calls('GetJob') === calls0 + 2, 'the read for the event');
    expect(s.app.live.stats().refreshes).toBe(1);
  });

  it('is not served at all when no secret is configured, whatever the credentials', async () => {
    // With API keys configured, an unauthenticated request is still told the route is not here.
    stack = await live.start({
      env: {
        LIVE_POLL_INTERVAL_MS: '600000',
        API_KEYS: `k:read:${'0'.repeat(64)}`,
      },
    });
    const server = await stack.listen();
    const key = stack.la.world.listJobKeys({ status: 'RUNNING' })[0]!;
    const answer = await fetch(`${server.url}/events/amplify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event(key, 'x')),
    });
    expect(answer.status).toBe(404);
    await answer.body?.cancel();
    expect(stack.app.events).toBeNull();
    expect(stack.app.live.stats().refreshes).toBe(0);
  });
});
