/**
 * `jobUpdated` over real SSE against the local Amplify: the graphql-sse client and raw frames,
 * progress to a final status, one poller per job, keep-alives, limits, and freeing on disconnect.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { ANONYMOUS_CALLER } from '../../src/schema/identity.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import {
  liveTests,
  openRawStream,
  releasableBranches,
  type Subscription,
  subscribeWithClient,
  until,
  within,
} from '../support/live.js';
import { type Stack, silentLog } from '../support/stack.js';

const FAST = { LIVE_POLL_INTERVAL_MS: '100', CONTROL_MUTATIONS: 'true' };
const RANK: Record<string, number> = {
  CREATED: 0,
  PENDING: 1,
  PROVISIONING: 2,
  RUNNING: 3,
  CANCELLING: 4,
  SUCCEED: 5,
  FAILED: 5,
  CANCELLED: 5,
};

const live = liveTests();
let stack: Stack | null = null;

/** What the local Amplify says a job looks like now: status and step statuses. */
function worldState(la: LocalAmplify, key: JobKey): string {
  const job = la.world.getJobWire(key.appId, key.branchName, key.jobId)?.job;
  return JSON.stringify([job?.summary.status, job?.steps.map((s) => s.status)]);
}

/** The same from a subscription's latest result. */
function seenState(subscription: Subscription): string {
  const last = subscription.results.at(-1)?.data?.jobUpdated as
    | { summary: { status: string }; steps: Array<{ status: string }> }
    | undefined;
  return JSON.stringify([last?.summary.status, last?.steps.map((s) => s.status)]);
}

async function startJobs(s: Stack, count: number): Promise<JobKey[]> {
  const keys: JobKey[] = [];
  for (const branch of releasableBranches(s.la).slice(0, count)) {
    const body = await s.graphql(
      'mutation($a: ID!, $b: String!) { startJob(appId: $a, branchName: $b, jobType: RELEASE, reason: "live test") { appId branchName jobId summary { status } } }',
      { a: branch.appId, b: branch.branchName },
    );
    expect(body.errors).toBeUndefined();
    const job = body.data?.startJob as JobKey & { summary: { status: string } };
    expect(job.summary.status).toBe('PENDING');
    keys.push({ appId: job.appId, branchName: job.branchName, jobId: job.jobId });
  }
  return keys;
}

/** A job of the demo world that is RUNNING now (the clock is frozen, so it stays so). */
function runningJob(la: LocalAmplify): JobKey {
  const quirkApp = la.world.quirkApp();
  const key = la.world.listJobKeys({ status: 'RUNNING' }).find((j) => j.appId !== quirkApp.appId);
  if (key === undefined) throw new Error('no RUNNING job in the demo world');
  return { appId: key.appId, branchName: key.branchName, jobId: key.jobId };
}

describe('jobUpdated over real SSE', () => {
  it('follows started jobs to their final status with the graphql-sse client, then completes', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const keys = await startJobs(s, 5);
    const subscriptions = keys.map((key) => subscribeWithClient(`${server.url}/graphql`, key));
    live.keep(...subscriptions);
    await until(() => subscriptions.every((sub) => sub.results.length >= 1), 'first answers');

    // Move the frozen clock on in steps; after each, wait until every open subscription shows
    // what the local Amplify shows, so no state is skipped by the test itself.
    for (let step = 0; step < 120 && subscriptions.some((sub) => sub.ended === null); step += 1) {
      s.la.clock.advance(15_000);
      await until(
        () =>
          subscriptions.every(
            (sub, i) => sub.ended !== null || seenState(sub) === worldState(s.la, keys[i]!),
          ),
        `subscribers to catch up at step ${step}`,
      );
    }
    await within(Promise.all(subscriptions.map((sub) => sub.done)), 'every subscription to end');

    const finals: string[] = [];
    for (const [i, sub] of subscriptions.entries()) {
      expect(sub.ended).toBe('complete');
      expect(sub.results.every((r) => r.errors === undefined)).toBe(true);
      const statuses = sub.statuses() as string[];
      const final = s.la.world.getJobWire(keys[i]!.appId, keys[i]!.branchName, keys[i]!.jobId)?.job
        .summary.status;
      expect(statuses[0]).toBe('PENDING');
      expect(statuses.at(-1)).toBe(final);
      expect(['SUCCEED', 'FAILED']).toContain(final);
      // Only forward, and through RUNNING.
      const ranks = statuses.map((status) => RANK[status]!);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      expect(statuses).toContain('RUNNING');
      finals.push(final!);
    }
    expect(finals).toContain('SUCCEED');
    // Every subscription left: nothing is watched or polled any more.
    await until(() => s.app.live.stats().watchedJobs === 0, 'watches to end');
    expect(s.app.live.stats()).toMatchObject({ subscriptions: 0, tickerRunning: false });
  }, 90_000);

  it("answers raw GraphQL over SSE as curl sends it (Yoga's distinct connections mode)", async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const key = runningJob(s.la);
    const stream = await openRawStream(`${server.url}/graphql`, key);
    live.keep(stream);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await until(() => stream.events.length >= 1, 'the first event');
    expect(stream.events[0]?.event).toBe('next');
    expect(stream.statuses()).toEqual(['RUNNING']);

    s.la.clock.advance(3_600_000);
    await within(stream.done, 'the subscription to end');
    expect(stream.ended).toBe('complete');
    expect(stream.events.at(-1)).toEqual({ event: 'complete', data: '' });
    expect(['SUCCEED', 'FAILED']).toContain(stream.statuses().at(-1));
  });

  it('takes literal arguments as well as variables of any name', async () => {
    stack = await live.start({ env: FAST });
    const server = await stack.listen();
    const key = runningJob(stack.la);
    const literal = `subscription { jobUpdated(appId: "${key.appId}", branchName: ${JSON.stringify(key.branchName)}, jobId: "${key.jobId}") { jobId summary { status } } }`;
    const stream = await openRawStream(`${server.url}/graphql`, key, {}, literal);
    live.keep(stream);
    await until(() => stream.results.length === 1, 'the first answer');
    expect(stream.results[0]).toEqual({
      data: { jobUpdated: { jobId: key.jobId, summary: { status: 'RUNNING' } } },
    });
  });

  it("reads each event with the event's own clock and loaders, not the subscription's first", async () => {
    // The gateway's clock stands still unless the test moves it.
    let now = Date.now();
    stack = await live.start({ env: FAST, clock: () => now });
    const s = stack;
    const server = await s.listen();
    const [key] = await startJobs(s, 1);
    const query = `subscription($appId: ID!, $branchName: String!, $jobId: ID!) {
      jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) { summary { status } durationSeconds }
    }`;
    const sub = subscribeWithClient(`${server.url}/graphql`, key!, {}, query);
    live.keep(sub);
    await until(() => sub.results.length === 1, 'the first answer');
    // Time passes for the running job (the gateway's clock), then it moves on (Amplify's clock).
    now += 300_000;
    for (let step = 0; step < 20 && sub.results.length < 2; step += 1) {
      s.la.clock.advance(5_000);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await until(() => sub.results.length >= 2, 'a second event');
    const durations = sub.results.map(
      (r) => (r.data?.jobUpdated as { durationSeconds: number } | undefined)?.durationSeconds ?? 0,
    );
    // A running job's duration counts to "now": the second event's now is the moved clock.
    expect(durations[1]! - durations[0]!).toBeCloseTo(300, 3);
  });

  it('answers a job that does not exist with one NOT_FOUND result, then completes', async () => {
    stack = await live.start({ env: FAST });
    const server = await stack.listen();
    const key = runningJob(stack.la);
    const before = stack.la.stats.calls('GetJob');
    const stream = await openRawStream(`${server.url}/graphql`, { ...key, jobId: '99999' });
    await within(stream.done, 'the subscription to end');
    expect(stream.ended).toBe('complete');
    expect(stream.results).toHaveLength(1);
    expect(stream.results[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'NOT_FOUND',
      job: { appId: key.appId, branchName: key.branchName, jobId: '99999' },
    });
    expect(stack.la.stats.calls('GetJob')).toBe(before + 1);

    const bad = await openRawStream(`${server.url}/graphql`, { ...key, appId: 'NOT-AN-APP' });
    await within(bad.done, 'the subscription to end');
    expect(bad.results[0]?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.la.stats.calls('GetJob')).toBe(before + 1);
    await until(() => stack!.app.live.stats().watchedJobs === 0, 'watches to end');
  });

  it('polls a job once per interval however many subscribe to it', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const key = runningJob(s.la);
    const subscriptions = [
      subscribeWithClient(`${server.url}/graphql`, key),
      subscribeWithClient(`${server.url}/graphql`, key),
      await openRawStream(`${server.url}/graphql`, key),
    ];
    live.keep(...subscriptions);
    await until(() => subscriptions.every((sub) => sub.results.length === 1), 'first answers');
    expect(s.app.live.stats()).toMatchObject({ subscriptions: 3, watchedJobs: 1 });

    const calls0 = s.la.stats.calls('GetJob');
    const polls0 = s.app.live.stats().polls;
    await until(() => s.app.live.stats().polls >= polls0 + 5, 'five polls');
    const polls = s.app.live.stats().polls - polls0;
    const calls = s.la.stats.calls('GetJob') - calls0;
    // One GetJob per poll (not per subscriber); a poll may be in flight at the last reading.
    expect(calls).toBeGreaterThanOrEqual(polls - 1);
    expect(calls).toBeLessThanOrEqual(polls + 1);
    // A frozen job does not change: nobody got a second result.
    expect(subscriptions.map((sub) => sub.results.length)).toEqual([1, 1, 1]);

    // A change reaches all three from the one poller.
    s.la.clock.advance(3_600_000);
    await within(Promise.all(subscriptions.map((sub) => sub.done)), 'every subscription to end');
    expect(subscriptions.map((sub) => sub.ended)).toEqual(['complete', 'complete', 'complete']);
    const finals = subscriptions.map((sub) => sub.statuses().at(-1));
    expect(new Set(finals).size).toBe(1);
  });

  it('frees a subscription whose client left while its first read was in flight (jobUpdated, jobsUpdated)', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const key = runningJob(s.la);
    s.la.faults.add({ kind: 'latency', latencyMs: 1_000, operations: 'GetJob' });
    const leaveEarly = async (query: string, variables: Record<string, unknown>) => {
      const before = s.la.stats.calls('GetJob');
      const abort = new AbortController();
      const answer = fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      }).catch(() => null);
      await until(() => s.la.stats.calls('GetJob') > before, 'the first read to start');
      abort.abort();
      await answer;
    };
    await leaveEarly(
      'subscription($appId: ID!, $branchName: String!, $jobId: ID!) { jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) { jobId } }',
      { ...key },
    );
    await leaveEarly(
      'subscription($jobs: [JobKeyInput!]!) { jobsUpdated(jobs: $jobs) { jobId } }',
      {
        jobs: [key],
      },
    );
    // Once the slow reads are answered, nothing is held and nothing is polled for nobody.
    await until(
      () => s.app.live.stats().subscriptions === 0 && s.app.live.stats().watchedJobs === 0,
      'the subscriptions to be freed',
      5_000,
    );
    const calls = s.la.stats.calls('GetJob');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(s.la.stats.calls('GetJob')).toBe(calls);
  });

  it('frees everything a client held when it disconnects', async () => {
    // No write may reveal the closed socket here: Yoga pings every 12 s outside NODE_ENV=test
    // and ours are 5 min apart, so only noticing the disconnect itself frees within the waits.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    onTestFinished(() => {
      process.env.NODE_ENV = nodeEnv;
    });
    stack = await live.start({ env: { ...FAST, SSE_KEEPALIVE_MS: '300000' } });
    const s = stack;
    const server = await s.listen();
    const key = runningJob(s.la);
    const streams = await Promise.all(
      [1, 2, 3].map(() => openRawStream(`${server.url}/graphql`, key)),
    );
    await until(() => streams.every((stream) => stream.results.length === 1), 'first answers');
    expect(s.app.live.stats()).toMatchObject({ subscriptions: 3, watchedJobs: 1 });
    expect(s.app.live.stats().tickerRunning).toBe(true);
    expect(s.app.sseStreams.open).toBe(3);

    await streams[0]!.close();
    await until(() => s.app.live.stats().subscriptions === 2, 'one subscription to go', 5_000);
    expect(s.app.live.stats().watchedJobs).toBe(1);

    await Promise.all(streams.slice(1).map((stream) => stream.close()));
    await until(() => s.app.live.stats().subscriptions === 0, 'every subscription to go', 5_000);
    expect(s.app.live.stats()).toMatchObject({ watchedJobs: 0, tickerRunning: false });
    expect(s.app.sseStreams.open).toBe(0);
    // With nothing watched, nothing is polled.
    const polls = s.app.live.stats().polls;
    const calls = s.la.stats.calls('GetJob');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(s.app.live.stats().polls).toBe(polls);
    expect(s.la.stats.calls('GetJob')).toBe(calls);
  });

  it('sends a keep-alive comment every SSE_KEEPALIVE_MS while nothing changes', async () => {
    stack = await live.start({ env: { ...FAST, SSE_KEEPALIVE_MS: '1000' } });
    const server = await stack.listen();
    const stream = await openRawStream(`${server.url}/graphql`, runningJob(stack.la));
    live.keep(stream);
    await until(
      () => stream.comments.filter((c) => c === ': keep-alive').length >= 2,
      'two keep-alive comments',
      10_000,
    );
    expect(stream.results).toHaveLength(1);
    expect(stream.ended).toBeNull();
  });

  it('bounds subscriptions per client and per process, and counts a freed one out', async () => {
    stack = await live.start({
      env: { ...FAST, LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '2', LIVE_MAX_SUBSCRIPTIONS: '3' },
    });
    const s = stack;
    const server = await s.listen();
    const key = runningJob(s.la);
    const url = `${server.url}/graphql`;
    const first = await openRawStream(url, key);
    const second = await openRawStream(url, key);
    live.keep(first, second);
    await until(() => first.results.length === 1 && second.results.length === 1, 'two streams');

    const third = await openRawStream(url, key);
    await within(third.done, 'the subscription to end');
    expect(third.results[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
      retryable: true,
    });

    // Another client (another peer address, as the HTTP edge reports it) may still subscribe,
    // up to the process's limit.
    const viaFetch = async (clientAddress: string) => {
      const response = await s.app.yoga.fetch(
        'http://gateway.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({
            query:
              'subscription($a: ID!, $b: String!, $j: ID!) { jobUpdated(appId: $a, branchName: $b, jobId: $j) { jobId } }',
            variables: { a: key.appId, b: key.branchName, j: key.jobId },
          }),
        },
        {
          requestId: `limits-${clientAddress}`,
          log: silentLog,
          caller: ANONYMOUS_CALLER,
          clientAddress,
        },
      );
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      let text = new TextDecoder().decode(value);
      while (!text.includes('event: next')) {
        const more = await reader.read();
        if (more.done) break;
        text += new TextDecoder().decode(more.value);
      }
      return { text, reader };
    };
    const other = await viaFetch('192.0.2.10');
    expect(other.text).toContain('"jobId"');
    expect(s.app.live.stats().subscriptions).toBe(3);
    const fourth = await viaFetch('192.0.2.11');
    expect(fourth.text).toContain('TOO_MANY_SUBSCRIPTIONS');
    await fourth.reader.cancel();

    await other.reader.cancel();
    await first.close();
    await until(() => s.app.live.stats().subscriptions === 1, 'two to leave');
    const again = await openRawStream(url, key);
    live.keep(again);
    await until(() => again.results.length === 1, 'a new stream');
    expect(again.results[0]?.errors).toBeUndefined();
  });

  it('counts clients behind a trusted proxy by the address it forwarded (TRUSTED_PROXIES)', async () => {
    // The tests connect from 127.0.0.1, which plays the load balancer here.
    stack = await live.start({
      env: { ...FAST, LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: '1', TRUSTED_PROXIES: 'loopback' },
    });
    const server = await stack.listen();
    const url = `${server.url}/graphql`;
    const key = runningJob(stack.la);
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const first = await openRawStream(url, key, from('203.0.113.1'));
    const other = await openRawStream(url, key, from('203.0.113.2'));
    live.keep(first, other);
    await until(() => first.results.length === 1 && other.results.length === 1, 'two clients');
    expect(other.results[0]?.errors).toBeUndefined();

    const again = await openRawStream(url, key, from('203.0.113.1'));
    await within(again.done, 'the subscription to end');
    expect(again.results[0]?.errors?.[0]?.extensions).toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
    });
  });

  it('follows several jobs in one stream with jobsUpdated, and frees them all on disconnect', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const quirks = s.la.world.quirkApp().appId;
    const running = s.la.world
      .listJobKeys({ status: 'RUNNING' })
      .filter((j) => j.appId !== quirks)
      .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
    expect(running.length).toBeGreaterThanOrEqual(2);
    const missing = { ...running[0]!, jobId: '99999' };
    const query = `subscription($jobs: [JobKeyInput!]!) { jobsUpdated(jobs: $jobs) { appId branchName jobId summary { status } } }`;
    const open = async (jobs: JobKey[]) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query, variables: { jobs } }),
      });
      return response;
    };

    // A client that leaves frees every job it followed.
    const leaving = await open(running.slice(0, 2));
    const reader = leaving.body!.getReader();
    await until(() => s.app.live.stats().subscriptions === 2, 'two subscriptions');
    expect(s.app.live.stats().watchedJobs).toBe(2);
    await reader.cancel();
    await until(() => s.app.live.stats().subscriptions === 0, 'all freed', 5_000);
    expect(s.app.live.stats().watchedJobs).toBe(0);

    // Two running jobs (one named twice) and one that does not exist, in one stream.
    const client = subscribeWithClient(
      `${server.url}/graphql`,
      { appId: '', branchName: '', jobId: '' },
      {},
      query,
      { jobs: [...running.slice(0, 2), running[0]!, missing] },
    );
    await until(() => client.results.length === 3, 'two jobs and one error');
    const jobs = client.results.flatMap((r) => (r.data?.jobsUpdated ? [r.data.jobsUpdated] : []));
    expect(jobs.map((j) => (j as JobKey).jobId).sort()).toEqual(
      running
        .slice(0, 2)
        .map((j) => j.jobId)
        .sort(),
    );
    // The error event says which of the jobs it is about.
    const notFound = client.results.filter((r) => r.errors?.[0]?.extensions?.code === 'NOT_FOUND');
    expect(notFound).toHaveLength(1);
    expect(notFound[0]?.errors?.[0]?.extensions?.job).toEqual(missing);
    expect(s.app.live.stats()).toMatchObject({ subscriptions: 2, watchedJobs: 2 });

    // Both finish: one event each, then the stream completes.
    s.la.clock.advance(3_600_000);
    await within(client.done, 'the subscription to end');
    expect(client.ended).toBe('complete');
    expect(client.results).toHaveLength(5);
    await until(() => s.app.live.stats().watchedJobs === 0, 'watches to end');

    // Over the limit, or a malformed key: refused before anything is read.
    const calls = s.la.stats.calls('GetJob');
    const tooMany = await (
      await open(Array.from({ length: 51 }, (_, i) => ({ ...running[0]!, jobId: String(i + 1) })))
    ).text();
    expect(tooMany).toContain('BAD_USER_INPUT');
    expect(tooMany).toContain('1 to 50');
    const malformed = await (await open([{ ...running[0]!, appId: 'Nope' }])).text();
    expect(malformed).toContain('jobs[0]: appId');
    expect(s.la.stats.calls('GetJob')).toBe(calls);
  });

  it('says in extensions.job which job an error event of jobsUpdated is about', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const quirks = s.la.world.quirkApp().appId;
    const [kept, vanishing] = s.la.world
      .listJobKeys({ status: 'RUNNING' })
      .filter((j) => j.appId !== quirks)
      .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
    if (kept === undefined || vanishing === undefined) throw new Error('two RUNNING jobs needed');
    const query = `subscription($jobs: [JobKeyInput!]!) { jobsUpdated(jobs: $jobs) { jobId } }`;
    const client = subscribeWithClient(
      `${server.url}/graphql`,
      { appId: '', branchName: '', jobId: '' },
      {},
      query,
      { jobs: [kept, vanishing] },
    );
    live.keep(client);
    await until(() => client.results.length === 2, 'both jobs');
    // One job disappears while followed: its next poll answers NOT_FOUND.
    s.la.faults.add({
      kind: 'status',
      operations: 'GetJob',
      statusCode: 404,
      body: 'json',
      errorType: 'NotFoundException',
      labels: { appId: vanishing.appId, branchName: vanishing.branchName, jobId: vanishing.jobId },
    });
    await until(() => client.results.some((r) => r.errors !== undefined), 'the error event');
    const error = client.results.find((r) => r.errors !== undefined)?.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: 'NOT_FOUND', job: vanishing });
    expect(error?.path).toEqual(['jobsUpdated']);
    // The other job is still followed.
    expect(client.ended).toBeNull();
    await until(() => s.app.live.stats().watchedJobs === 1, 'the vanished job to be dropped');
  });

  it('ends every stream without complete when the gateway starts draining, so clients reconnect', async () => {
    stack = await live.start({ env: FAST });
    const s = stack;
    const server = await s.listen();
    const stream = await openRawStream(`${server.url}/graphql`, runningJob(s.la));
    await until(() => stream.results.length === 1, 'the first answer');
    s.app.startDraining();
    await within(stream.done, 'the subscription to end');
    expect(stream.ended).toBeInstanceOf(Error);
    expect(stream.events.map((e) => e.event)).toEqual(['next']);
    await until(() => s.app.live.stats().subscriptions === 0, 'the subscription to go');
  });
});
