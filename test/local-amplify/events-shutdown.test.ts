import { describe, expect, it } from 'vitest';
import { startReceiver } from './event-receiver.js';
import { startFrozen } from './helpers.js';

// In a file of its own: Vitest runs each file in a fresh process, so no earlier test's sockets or
// timers blur the counts below.

const HOUR = 3_600_000;

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const count = (kind: string) =>
  process.getActiveResourcesInfo().filter((resource) => resource === kind).length;

/**
 * The fewest resources of `kind` seen over 200 ms: what the process holds at rest. A single
 * reading can include a timer of the test runner that is about to go, which made the counts
 * below compare against one timer too many.
 */
async function atRest(kind: string): Promise<number> {
  let fewest = count(kind);
  for (let i = 0; i < 20; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    fewest = Math.min(fewest, count(kind));
  }
  return fewest;
}

describe('shutting down', () => {
  it('leaves no timer or socket behind once closed mid-delivery', async () => {
    const baseline = { timers: await atRest('Timeout'), sockets: await atRest('TCPSocketWrap') };
    const receiver = await startReceiver((_event, _attempt, n) => (n === 1 ? 503 : 'hang'));
    const la = await startFrozen({
      seed: 'events',
      eventStatuses: 'all',
      eventTarget: { url: receiver.url },
      eventDelivery: { retryDelayMs: 5_000, timeoutMs: 60_000 },
    });
    la.clock.advance(HOUR);
    await until(() => receiver.received.length === 1, 'the first attempt', 10_000);
    // The receiver has the first attempt before the local Amplify has read its 503: wait for that
    // answer, after which a retry timer and the periodic scan are pending (on a busy machine the
    // answer can take a while to come back).
    await until(
      () =>
        la.events.last().some((record) => record.responseStatus === 503) &&
        count('Timeout') > baseline.timers,
      'the 503 to be read and a retry timer set',
      10_000,
    );
    expect(la.events.pending()).toBeGreaterThan(0);
    await la.close();
    await receiver.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(la.events.pending()).toBe(0);
    expect(la.events.scan()).toBe(0);
    await until(
      () => count('Timeout') <= baseline.timers && count('TCPSocketWrap') <= baseline.sockets,
      'timers and sockets to go',
      2_000,
    );
  });
});
