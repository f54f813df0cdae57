/**
 * Live status in /metrics over real HTTP: open subscriptions and watched jobs as they open and
 * close, polls, fresh reads and the answers of POST /events/amplify; the exposition still passes
 * `promtool check metrics` (Debian's prometheus package; under CI=true this part must run).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_SECRET_HEADER } from '../../src/http/amplify-events.js';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { promtoolTestsRun } from '../ship/tools.js';
import { openRawStream, until } from '../support/live.js';
import { metricValue } from '../support/metrics.js';
import { type Stack, startStack } from '../support/stack.js';

const SECRET = 'metrics-events-secret-012345';
const runPromtool = promtoolTestsRun();

describe('live status in the metrics', () => {
  let stack: Stack;
  let server: RunningServer;
  let key: JobKey;

  beforeAll(async () => {
    stack = await startStack({
      env: { LIVE_POLL_INTERVAL_MS: '100', AMPLIFY_EVENTS_SECRET: SECRET },
    });
    server = await stack.listen();
    const quirks = stack.la.world.quirkApp().appId;
    const running = stack.la.world
      .listJobKeys({ status: 'RUNNING' })
      .find((j) => j.appId !== quirks);
    if (running === undefined) throw new Error('no RUNNING job in the demo world');
    key = { appId: running.appId, branchName: running.branchName, jobId: running.jobId };
  });
  afterAll(() => stack?.close());

  const value = (name: string, labels: Record<string, string> = {}) =>
    metricValue(stack.app.metrics, name, labels);

  it('counts subscriptions, watched jobs, polls and pushed events as they happen', async () => {
    expect(await value('gateway_live_subscriptions')).toBe(0);
    const streams = [
      await openRawStream(`${server.url}/graphql`, key),
      await openRawStream(`${server.url}/graphql`, key),
    ];
    await until(() => streams.every((s) => s.results.length === 1), 'first answers');
    expect(await value('gateway_live_subscriptions')).toBe(2);
    expect(await value('gateway_live_watched_jobs')).toBe(1);
    expect(await value('gateway_live_poll_interval_seconds')).toBe(0.1);
    const reads = await value('gateway_live_polls_total', { outcome: 'read' });
    await until(() => stack.app.live.stats().polls >= 3, 'three polls');
    expect(await value('gateway_live_polls_total', { outcome: 'read' })).toBeGreaterThan(reads);

    const post = (headers: Record<string, string>, id: string) =>
      fetch(`${server.url}/events/amplify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          id,
          source: 'aws.amplify',
          'detail-type': 'Amplify Deployment Status Change',
          detail: { ...key, jobStatus: 'STARTED' },
        }),
      }).then((r) => r.status);
    expect(await post({}, 'm-1')).toBe(401);
    expect(await post({ [EVENTS_SECRET_HEADER]: SECRET }, 'm-1')).toBe(202);
    expect(await post({ [EVENTS_SECRET_HEADER]: SECRET }, 'm-1')).toBe(200);
    await until(() => stack.app.live.stats().refreshes === 1, 'the read for the event');
    for (const [outcome, count] of [
      ['unauthorized', 1],
      ['accepted', 1],
      ['duplicate', 1],
      ['rejected', 0],
    ] as const) {
      expect(await value('gateway_amplify_events_total', { outcome })).toBe(count);
    }
    expect(await value('gateway_live_fresh_reads_total')).toBe(1);
    expect(await value('gateway_http_responses_total', { route: 'events', status: '202' })).toBe(1);

    for (const stream of streams) await stream.close();
    await until(() => stack.app.live.stats().subscriptions === 0, 'subscriptions to close');
    expect(await value('gateway_live_subscriptions')).toBe(0);
    expect(await value('gateway_live_watched_jobs')).toBe(0);
  });

  it.skipIf(!runPromtool)('keeps /metrics valid for promtool', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'gateway_live_subscriptions',
      'gateway_live_watched_jobs',
      'gateway_live_poll_interval_seconds',
      'gateway_live_polls_total',
      'gateway_live_fresh_reads_total',
      'gateway_live_fanout_received_total',
      'gateway_amplify_events_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(
      check.error,
      'promtool must be installed (apt-get install -y prometheus)',
    ).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });
});
