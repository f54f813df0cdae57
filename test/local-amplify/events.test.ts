import {
  GetJobCommand,
  StartDeploymentCommand,
  StartJobCommand,
  StopJobCommand,
} from '@aws-sdk/client-amplify';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/local-amplify/cli-args.js';
import type {
  AmplifyEvent,
  LocalAmplify,
  LocalAmplifyOptions,
} from '../../src/local-amplify/index.js';
import { type Answer, type Receiver, startReceiver } from './event-receiver.js';
import { clientFor, startFrozen } from './helpers.js';

const HOUR = 3_600_000;
const TERMINAL = ['SUCCEED', 'FAILED', 'CANCELLED'];

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  answer: Answer = () => 200,
  options: LocalAmplifyOptions = {},
): Promise<{ la: LocalAmplify; receiver: Receiver; client: ReturnType<typeof clientFor> }> {
  const receiver = await startReceiver(answer);
  cleanups.push(() => receiver.close());
  const la = await startFrozen({
    seed: 'events',
    concurrentJobsLimit: 50,
    eventTarget: { url: receiver.url },
    ...options,
  });
  cleanups.push(() => la.close());
  const client = clientFor(la);
  cleanups.push(async () => client.destroy());
  return { la, receiver, client };
}

function storefront(la: LocalAmplify): string {
  return la.world.apps().find((a) => a.name === 'storefront-web')?.appId ?? '';
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('EventBridge events for jobs started through the API', () => {
  it('posts STARTED then the outcome, each body exactly as an API destination delivers it', async () => {
    const { la, receiver, client } = await setup();
    const appId = storefront(la);
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    la.clock.advance(60_000);
    await la.events.idle();
    expect(receiver.statusesOf(jobId, 'pr-42')).toEqual(['STARTED']);
    la.clock.advance(HOUR);
    await la.events.idle();
    const outcome = (await client.send(new GetJobCommand({ appId, branchName: 'pr-42', jobId })))
      .job?.summary?.status;
    expect(receiver.statusesOf(jobId, 'pr-42')).toEqual(['STARTED', outcome]);

    const started = receiver.received.find(
      (r) => r.event.detail.jobId === jobId && r.event.detail.branchName === 'pr-42',
    );
    expect(Object.keys(started?.event ?? {})).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
    expect(started?.event).toEqual({
      version: '0',
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      'detail-type': 'Amplify Deployment Status Change',
      source: 'aws.amplify',
      account: '123456789012',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      region: 'us-east-1',
      resources: [jobSummary?.jobArn],
      detail: { appId, branchName: 'pr-42', jobId, jobStatus: 'STARTED' },
    });
    // `time` is the real wall clock, not the virtual one.
    expect(Math.abs(Date.parse(started?.event.time ?? '') - Date.now())).toBeLessThan(60_000);
    expect(started?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(started?.headers['user-agent']).toBe('Amazon/EventBridge/ApiDestinations');
    const record = la.events.last().find((r) => r.event.id === started?.event.id);
    expect(record).toEqual(
      expect.objectContaining({ state: 'sent', attempts: 1, responseStatus: 200 }),
    );
    expect(record?.jobStatus).toBe('RUNNING');
    expect(la.events.failed()).toBe(0);
    expect(la.events.sent()).toBe(receiver.received.length);
  });

  it('sends only STARTED, SUCCEED and FAILED by default, and every change with statuses all', async () => {
    for (const statuses of ['documented', 'all'] as const) {
      const { la, receiver, client } = await setup(() => 200, { eventStatuses: statuses });
      const appId = storefront(la);
      const started = await client.send(
        new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
      );
      const stopped = await client.send(
        new StartJobCommand({ appId, branchName: 'develop', jobType: 'RELEASE' }),
      );
      await client.send(
        new StopJobCommand({ appId, branchName: 'develop', jobId: stopped.jobSummary?.jobId }),
      );
      la.clock.advance(HOUR);
      await la.events.idle();
      const outcome = la.world.getJobSummaryWire(
        appId,
        'pr-42',
        started.jobSummary?.jobId ?? '',
      )?.status;
      const ran = receiver.statusesOf(started.jobSummary?.jobId ?? '', 'pr-42');
      const cancelled = receiver.statusesOf(stopped.jobSummary?.jobId ?? '', 'develop');
      if (statuses === 'documented') {
        expect(ran).toEqual(['STARTED', outcome]);
        expect(cancelled).toEqual([]);
      } else {
        expect(ran).toEqual(['PENDING', 'PROVISIONING', 'STARTED', outcome]);
        expect(cancelled).toEqual(['PENDING', 'CANCELLING', 'CANCELLED']);
      }
    }
  });

  it('scans right after StartJob, StopJob, StartDeployment and a clock change over HTTP', async () => {
    // The periodic scan would come only after an hour of real time: every event below comes
    // from the scan that follows the call.
    const { la, receiver, client } = await setup(() => 200, {
      eventStatuses: 'all',
      eventScanIntervalMs: HOUR,
    });
    const appId = storefront(la);
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    await la.events.idle();
    expect(receiver.statusesOf(jobId, 'pr-42')).toEqual(['PENDING']);
    const clock = await fetch(`${la.url}/_local/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceMs: 45_000 }),
    });
    expect(clock.status).toBe(200);
    await la.events.idle();
    expect(receiver.statusesOf(jobId, 'pr-42')).toEqual(['PENDING', 'PROVISIONING', 'STARTED']);
    await client.send(new StopJobCommand({ appId, branchName: 'pr-42', jobId }));
    await la.events.idle();
    expect(receiver.statusesOf(jobId, 'pr-42').at(-1)).toBe('CANCELLING');
    const docs = la.world.apps().find((a) => a.name === 'docs-portal')?.appId ?? '';
    const deployment = await client.send(
      new StartDeploymentCommand({ appId: docs, branchName: 'preview', sourceUrl: 's3://b/a.zip' }),
    );
    await la.events.idle();
    expect(receiver.statusesOf(deployment.jobSummary?.jobId ?? '', 'preview')).toEqual(['PENDING']);
  });

  it('finds changes made by running time alone with its periodic scan', async () => {
    const { la, receiver, client } = await setup(() => 200, { eventScanIntervalMs: 20 });
    const appId = storefront(la);
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    const jobId = jobSummary?.jobId ?? '';
    expect(la.events.scan()).toBe(0);
    // An hour of virtual time per real second; nothing calls scan() by hand from here on.
    la.clock.setSpeed(3_600);
    await until(() => receiver.statusesOf(jobId, 'pr-42').length === 2, 'STARTED and the outcome');
    la.clock.setSpeed(0);
    expect(receiver.statusesOf(jobId, 'pr-42')[0]).toBe('STARTED');
    expect(['SUCCEED', 'FAILED']).toContain(receiver.statusesOf(jobId, 'pr-42')[1]);
  });
});

describe('jobs in progress at start-up', () => {
  it('emit their events as they progress, and pinned samples emit none', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const la = await startFrozen({ seed: 'events', eventTarget: { url: receiver.url } });
    cleanups.push(() => la.close());
    const pinned = new Set(
      la.world.quirkJobs().map((q) => `${q.branchName}#${q.jobId}@${q.appId}`),
    );
    const live = la.world
      .listJobKeys()
      .filter((k) => !TERMINAL.includes(k.status))
      .filter((k) => !pinned.has(`${k.branchName}#${k.jobId}@${k.appId}`));
    expect(new Set(live.map((k) => k.status))).toEqual(
      new Set(['CREATED', 'PENDING', 'PROVISIONING', 'RUNNING', 'CANCELLING']),
    );
    expect(la.events.snapshot().watching).toBe(live.length);
    la.clock.advance(2 * HOUR);
    await la.events.idle();
    for (const key of live) {
      const final = la.world.getJobSummaryWire(key.appId, key.branchName, key.jobId)?.status;
      const expected =
        key.status === 'CANCELLING' ? [] : key.status === 'RUNNING' ? [final] : ['STARTED', final];
      expect(receiver.statusesOf(key.jobId, key.branchName)).toEqual(expected);
    }
    expect(receiver.received.length).toBe(la.events.sent());
    expect(la.events.snapshot().watching).toBe(0);
  });
});

describe('delivery', () => {
  it('retries a 500 and a 429 with the same event id, then delivers it once', async () => {
    const { la, receiver, client } = await setup(
      (_event, attempt) => (attempt === 1 ? 500 : attempt === 2 ? 429 : 200),
      { eventDelivery: { retryDelayMs: 1 } },
    );
    const appId = storefront(la);
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    la.clock.advance(60_000);
    await la.events.idle();
    const ours = receiver.received.filter(
      (r) => r.event.detail.jobId === jobSummary?.jobId && r.event.detail.branchName === 'pr-42',
    );
    expect(ours.map((r) => r.event.detail.jobStatus)).toEqual(['STARTED', 'STARTED', 'STARTED']);
    expect(new Set(ours.map((r) => r.event.id)).size).toBe(1);
    expect(la.events.last().find((r) => r.event.id === ours[0]?.event.id)).toEqual(
      expect.objectContaining({ state: 'sent', attempts: 3, responseStatus: 200 }),
    );
    expect(la.events.sent()).toBe(receiver.received.length / 3);
    expect(la.events.failed()).toBe(0);
  });

  it('gives up after maxAttempts on 5xx, and at once on another 4xx', async () => {
    const { la, client } = await setup(
      (event) => (event.detail.jobStatus === 'PENDING' ? 503 : 400),
      { eventStatuses: 'all', eventDelivery: { retryDelayMs: 1, maxAttempts: 2 } },
    );
    const appId = storefront(la);
    const { jobSummary } = await client.send(
      new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }),
    );
    la.clock.advance(60_000);
    await la.events.idle();
    const ours = la.events
      .last()
      .filter(
        (r) => r.event.detail.jobId === jobSummary?.jobId && r.event.detail.branchName === 'pr-42',
      );
    expect(ours.map((r) => [r.jobStatus, r.state, r.attempts, r.responseStatus, r.error])).toEqual([
      ['PENDING', 'failed', 2, 503, 'HTTP 503'],
      ['PROVISIONING', 'failed', 1, 400, 'HTTP 400'],
      ['RUNNING', 'failed', 1, 400, 'HTTP 400'],
    ]);
    expect(la.events.sent()).toBe(0);
    expect(la.events.failed()).toBe(la.events.last().length);
  });

  it('times out a target that never answers, and never holds up an Amplify response', async () => {
    const { la, client } = await setup(() => 'hang', {
      eventStatuses: 'all',
      eventDelivery: { timeoutMs: 100, maxAttempts: 2, retryDelayMs: 1 },
    });
    const appId = storefront(la);
    await client.send(new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }));
    expect(la.events.pending()).toBe(1);
    // The delivery is still waiting on the silent target, and the API answers regardless.
    const second = await client.send(
      new StartJobCommand({ appId, branchName: 'develop', jobType: 'RELEASE' }),
    );
    expect(second.jobSummary?.status).toBe('PENDING');
    expect(la.events.pending()).toBe(2);
    await la.events.idle();
    expect(la.events.last().map((r) => [r.state, r.attempts])).toEqual([
      ['failed', 2],
      ['failed', 2],
    ]);
    expect(la.events.last(1)[0]?.error).toMatch(/no answer within 100 ms/);
  });

  it('caps the queue, counts what it drops, and drops the rest when the target is cleared', async () => {
    const { la } = await setup(() => 'hang', {
      eventStatuses: 'all',
      eventDelivery: { queueLimit: 2, timeoutMs: 60_000 },
    });
    la.clock.advance(2 * HOUR);
    const made = la.events.last().length;
    expect(made).toBeGreaterThan(5);
    // One in flight and one queued make the limit of two; the rest were dropped.
    expect(la.events.pending()).toBe(2);
    expect(la.events.dropped()).toBe(made - 2);
    expect(la.events.last().filter((r) => r.state === 'dropped')).toHaveLength(made - 2);
    la.events.clearTarget();
    expect(la.events.pending()).toBe(0);
    expect(la.events.dropped()).toBe(made);
    await la.events.idle();
    expect(la.events.target).toBeUndefined();
  });
});

describe('run-time control', () => {
  it('sets, reports and clears the target over HTTP, with headers on every POST', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const la = await startFrozen({ seed: 'events' });
    cleanups.push(() => la.close());
    const client = clientFor(la);
    cleanups.push(async () => client.destroy());
    const appId = storefront(la);
    // No target: nothing is watched and nothing is made.
    await client.send(new StartJobCommand({ appId, branchName: 'pr-42', jobType: 'RELEASE' }));
    expect(la.events.scan()).toBe(0);

    const set = await fetch(`${la.url}/_local/events/target`, {
      method: 'POST',
      body: JSON.stringify({
        url: receiver.url,
        headers: { 'x-api-key': 'local-secret' },
        statuses: 'all',
      }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual(
      expect.objectContaining({
        target: { url: receiver.url, headerNames: ['x-api-key'] },
        statuses: 'all',
        sent: 0,
      }),
    );
    la.clock.advance(20_000);
    await la.events.idle();
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(receiver.received.every((r) => r.headers['x-api-key'] === 'local-secret')).toBe(true);
    const report = (await (await fetch(`${la.url}/_local/events`)).json()) as {
      sent: number;
      events: { event: AmplifyEvent; state: string }[];
    };
    expect(report.sent).toBe(receiver.received.length);
    expect(report.events.map((r) => r.event.id)).toEqual(receiver.received.map((r) => r.event.id));

    const bad = await fetch(`${la.url}/_local/events/target`, {
      method: 'POST',
      body: JSON.stringify({ url: 'ftp://example/x', statuses: 'some' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(
      /http or https[\s\S]*statuses/,
    );
    expect(la.events.target?.url).toBe(receiver.url);

    const cleared = await fetch(`${la.url}/_local/events/target`, { method: 'DELETE' });
    expect(((await cleared.json()) as { target: unknown }).target).toBeNull();
    const before = receiver.received.length;
    la.clock.advance(HOUR);
    expect(la.events.scan()).toBe(0);
    await la.events.idle();
    expect(receiver.received.length).toBe(before);
    await fetch(`${la.url}/_local/events/reset`, { method: 'POST' });
    expect([la.events.sent(), la.events.last()]).toEqual([0, []]);
  });

  it('refuses bad event options, listing every problem', async () => {
    await expect(
      startFrozen({
        eventTarget: { url: 'not a url', headers: { 'bad header': 'x' } },
        eventStatuses: 'some' as 'all',
        eventScanIntervalMs: 1,
      }),
    ).rejects.toThrow(
      /http or https URL[\s\S]*bad header[\s\S]*eventStatuses[\s\S]*eventScanIntervalMs/,
    );
  });

  it('takes the target, headers, statuses and scan period from the command line', () => {
    const parsed = parseCliArgs([
      '--event-url',
      'http://127.0.0.1:9000/hook',
      '--event-header',
      'x-api-key: abc:def',
      '--event-header',
      'x-tenant:t1',
      '--event-statuses',
      'all',
      '--event-scan-ms',
      '100',
    ]);
    expect(parsed).toEqual(
      expect.objectContaining({
        ok: true,
        options: expect.objectContaining({
          eventTarget: {
            url: 'http://127.0.0.1:9000/hook',
            headers: { 'x-api-key': 'abc:def', 'x-tenant': 't1' },
          },
          eventStatuses: 'all',
          eventScanIntervalMs: 100,
        }),
      }),
    );
    const bad = parseCliArgs(['--event-header', 'no colon', '--event-statuses', 'loud']);
    expect(bad.ok ? [] : bad.problems).toEqual([
      `--event-header must be 'name: value', got "no colon"`,
      '--event-statuses must be one of documented, all, got "loud"',
    ]);
    const orphan = parseCliArgs(['--event-header', 'x-api-key: abc']);
    expect(orphan.ok ? [] : orphan.problems).toEqual(['--event-header needs --event-url']);
  });
});
