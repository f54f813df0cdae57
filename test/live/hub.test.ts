/**
 * The subscription hub on its own, with a scripted read function: what counts as a change, stale
 * snapshots, and the poll claim shared by two hubs (two replicas sharing one coordination). The
 * local Amplify cannot produce these cases (its URLs never change, its reads never race), so the
 * upstream here is a hand-made function; everything else is the real hub.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryCoordination, type LiveCoordination } from '../../src/live/coordination.js';
import { createLiveJobs, type LiveJobs } from '../../src/live/live-jobs.js';
import type { JobKey, JobRecord, JobStatus } from '../../src/upstream/shapes.js';
import { until } from '../support/live.js';
import { silentLog } from '../support/stack.js';

const KEY: JobKey = { appId: 'd1abc', branchName: 'main', jobId: '7' };

function job(status: JobStatus, steps: Array<[string, JobStatus, boolean]>, url = 'a'): JobRecord {
  const time = new Date('2026-01-01T00:00:00.000Z');
  return {
    key: KEY,
    summary: {
      jobArn: null,
      jobId: KEY.jobId,
      commitId: null,
      commitMessage: null,
      commitTime: null,
      startTime: time,
      status,
      endTime: ['SUCCEED', 'FAILED', 'CANCELLED'].includes(status) ? time : null,
      jobType: 'RELEASE',
      sourceUrl: null,
      sourceUrlType: null,
    },
    steps: steps.map(([stepName, stepStatus, ended]) => ({
      stepName,
      startTime: time,
      status: stepStatus,
      endTime: ended ? time : null,
      logUrl: `https://logs.example.com/${stepName}?signature=${url}`,
      artifactsUrl: null,
      testArtifactsUrl: null,
      testConfigUrl: null,
      screenshots: [],
      statusReason: null,
      context: null,
    })),
  };
}

/** A read function that answers what the test sets, and counts its calls. */
function scripted(first: JobRecord) {
  let current = first;
  let calls = 0;
  return {
    read: async (_key: JobKey) => {
      calls += 1;
      return current;
    },
    set(next: JobRecord) {
      current = next;
    },
    get calls() {
      return calls;
    },
  };
}

function hub(
  read: (key: JobKey) => Promise<JobRecord>,
  coordination: LiveCoordination,
  pollIntervalMs = 100,
): LiveJobs {
  return createLiveJobs({
    read,
    readFresh: read,
    coordination,
    pollIntervalMs,
    maxPollIntervalMs: pollIntervalMs * 8,
    maxSubscriptions: 100,
    maxSubscriptionsPerClient: 100,
    log: silentLog,
  });
}

const hubs: LiveJobs[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close();
});

async function collect(stream: AsyncIterableIterator<unknown>, into: unknown[]): Promise<void> {
  for await (const item of stream) into.push(item);
}

function statuses(items: unknown[]): Array<string | null> {
  return items.map((item) => (item as JobRecord).summary.status);
}

describe('the live hub', () => {
  it('sends a change of status or steps, not a re-signed URL', async () => {
    const upstream = scripted(job('RUNNING', [['BUILD', 'RUNNING', false]], 'first'));
    const h = hub(
      upstream.read,
      createMemoryCoordination(() => {}),
    );
    hubs.push(h);
    const received: unknown[] = [];
    const done = collect(await h.subscribe(KEY, 'c'), received);
    await until(() => received.length === 1, 'the first snapshot');

    // Amplify re-signs every URL on each read: not a change.
    upstream.set(job('RUNNING', [['BUILD', 'RUNNING', false]], 'second'));
    const polls = h.stats().polls;
    await until(() => h.stats().polls >= polls + 3, 'three polls');
    expect(received).toHaveLength(1);

    // A step ends and the next starts: a change, though the job's status is the same.
    upstream.set(
      job('RUNNING', [
        ['BUILD', 'SUCCEED', true],
        ['DEPLOY', 'RUNNING', false],
      ]),
    );
    await until(() => received.length === 2, 'the step change');
    upstream.set(
      job('SUCCEED', [
        ['BUILD', 'SUCCEED', true],
        ['DEPLOY', 'SUCCEED', true],
      ]),
    );
    await done;
    expect(statuses(received)).toEqual(['RUNNING', 'RUNNING', 'SUCCEED']);
    expect(h.stats()).toMatchObject({ subscriptions: 0, watchedJobs: 0, tickerRunning: false });
  });

  it('drops a snapshot that is behind one already sent (a stale read after a pushed event)', async () => {
    const upstream = scripted(job('PENDING', []));
    const h = hub(
      upstream.read,
      createMemoryCoordination(() => {}),
      60_000,
    );
    hubs.push(h);
    const received: unknown[] = [];
    void collect(await h.subscribe(KEY, 'c'), received);
    await until(() => received.length === 1, 'the first snapshot');
    // An event's fresh read sees the job running...
    upstream.set(job('RUNNING', [['BUILD', 'RUNNING', false]]));
    await h.refresh(KEY);
    await until(() => received.length === 2, 'the refreshed snapshot');
    // ...then a cached read still says PENDING: behind, so nobody hears of it.
    upstream.set(job('PENDING', []));
    await h.refresh(KEY);
    upstream.set(job('PROVISIONING', []));
    await h.refresh(KEY);
    expect(statuses(received)).toEqual(['PENDING', 'RUNNING']);
  });

  it('polls a job once per interval across two hubs that share a coordination', async () => {
    // Two replicas: each its own hub and upstream, one shared store of claims and one channel.
    const shared = createMemoryCoordination(() => {});
    const a = scripted(job('RUNNING', [['BUILD', 'RUNNING', false]]));
    const b = scripted(job('RUNNING', [['BUILD', 'RUNNING', false]]));
    const hubA = hub(a.read, shared);
    const hubB = hub(b.read, shared);
    hubs.push(hubA, hubB);
    const fromA: unknown[] = [];
    const fromB: unknown[] = [];
    void collect(await hubA.subscribe(KEY, 'c'), fromA);
    void collect(await hubB.subscribe(KEY, 'c'), fromB);
    await until(() => fromA.length === 1 && fromB.length === 1, 'first snapshots');

    const ticks = () => hubA.stats().polls + hubA.stats().claimsLost;
    const both = () => ({
      polls: hubA.stats().polls + hubB.stats().polls,
      lost: hubA.stats().claimsLost + hubB.stats().claimsLost,
    });
    const start = ticks();
    const before = both();
    const startedAt = Date.now();
    await until(() => ticks() >= start + 10, 'ten ticks');
    const elapsedMs = Date.now() - startedAt;
    const polls = both().polls - before.polls;
    const lost = both().lost - before.lost;
    // A claim holds for 80 ms of each 100 ms interval, so however late a busy machine runs either
    // hub's timer, the two read at most once per 80 ms between them (plus one in flight at each
    // end); each polling alone would read twice per interval.
    expect(polls).toBeGreaterThan(0);
    expect(polls).toBeLessThanOrEqual(Math.floor(elapsedMs / 80) + 2);
    // And they contended: on most ticks the other hub found the claim taken.
    expect(lost).toBeGreaterThanOrEqual(Math.floor(polls / 2));

    // A change read by whichever replica polls reaches the subscribers of both.
    const next = job('RUNNING', [
      ['BUILD', 'SUCCEED', true],
      ['DEPLOY', 'RUNNING', false],
    ]);
    a.set(next);
    b.set(next);
    await until(() => fromA.length === 2 && fromB.length === 2, 'the change on both');
    expect(hubA.stats().received + hubB.stats().received).toBeGreaterThanOrEqual(1);
  });

  it('stops polling when the last subscriber leaves', async () => {
    const upstream = scripted(job('RUNNING', [['BUILD', 'RUNNING', false]]));
    const h = hub(
      upstream.read,
      createMemoryCoordination(() => {}),
    );
    hubs.push(h);
    const first = await h.subscribe(KEY, 'c');
    const second = await h.subscribe(KEY, 'c');
    expect(h.stats()).toMatchObject({ subscriptions: 2, watchedJobs: 1, tickerRunning: true });
    await first.return();
    expect(h.stats()).toMatchObject({ subscriptions: 1, watchedJobs: 1, tickerRunning: true });
    await second.return();
    expect(h.stats()).toMatchObject({ subscriptions: 0, watchedJobs: 0, tickerRunning: false });
    const calls = upstream.calls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(upstream.calls).toBe(calls);
  });
});
