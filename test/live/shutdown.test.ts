/**
 * Closing the gateway leaves nothing running: no poller timer, no keep-alive timer, no socket.
 * In a file of its own, so no other test's timers blur the counts.
 */
import { describe, expect, it } from 'vitest';
import { EVENTS_SECRET_HEADER } from '../../src/http/amplify-events.js';
import { openRawStream, subscribeWithClient, until, within } from '../support/live.js';
import { startStack } from '../support/stack.js';

const count = (kind: string) =>
  process.getActiveResourcesInfo().filter((resource) => resource === kind).length;

describe('shutting down', () => {
  it('stops every live timer and socket once the gateway is closed', async () => {
    const baseline = { timers: count('Timeout'), sockets: count('TCPSocketWrap') };
    const secret = 'shutdown-secret-0123456789';
    const stack = await startStack({
      env: {
        LIVE_POLL_INTERVAL_MS: '100',
        SSE_KEEPALIVE_MS: '1000',
        AMPLIFY_EVENTS_SECRET: secret,
      },
    });
    const server = await stack.listen();
    stack.la.events.setTarget({
      url: `${server.url}/events/amplify`,
      headers: { [EVENTS_SECRET_HEADER]: secret },
    });
    const quirks = stack.la.world.quirkApp().appId;
    const running = stack.la.world
      .listJobKeys({ status: 'RUNNING' })
      .filter((j) => j.appId !== quirks);
    const raw = await openRawStream(`${server.url}/graphql`, running[0]!);
    const client = subscribeWithClient(`${server.url}/graphql`, running[1]!);
    await until(() => raw.results.length === 1 && client.results.length === 1, 'first answers');
    expect(stack.app.live.stats()).toMatchObject({ watchedJobs: 2, tickerRunning: true });
    expect(count('Timeout')).toBeGreaterThan(baseline.timers);

    await stack.close();
    await within(Promise.all([raw.done, client.close()]), 'the stream to end');
    expect(stack.app.live.stats()).toMatchObject({
      subscriptions: 0,
      watchedJobs: 0,
      tickerRunning: false,
    });
    expect(stack.app.sseStreams.open).toBe(0);
    await until(
      () => count('Timeout') <= baseline.timers && count('TCPSocketWrap') <= baseline.sockets,
      'timers and sockets to go',
      5_000,
    );
  });
});
