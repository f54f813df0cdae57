/**
 * The live poller slows down while Amplify throttles or fails, and comes back to its interval
 * after one good read; subscribers stay connected meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openRawStream, until } from '../support/live.js';
import { type Stack, startStack } from '../support/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe('live polling under throttling and failures', () => {
  it.each([
    ['throttling', 'throttle'],
    ['5xx answers', 'internal'],
  ] as const)(
    'backs off on %s, up to LIVE_POLL_MAX_INTERVAL_MS, and recovers',
    async (_name, kind) => {
      stack = await startStack({
        env: { LIVE_POLL_INTERVAL_MS: '100', LIVE_POLL_MAX_INTERVAL_MS: '800' },
      });
      const s = stack;
      const server = await s.listen();
      const quirks = s.la.world.quirkApp().appId;
      const key = s.la.world.listJobKeys({ status: 'RUNNING' }).find((j) => j.appId !== quirks)!;
      const stream = await openRawStream(`${server.url}/graphql`, key);
      await until(() => stream.results.length === 1, 'the first answer');
      expect(s.app.live.stats().pollIntervalMs).toBe(100);

      const rule = s.la.faults.add({ kind, operations: 'GetJob' });
      await until(() => s.app.live.stats().pollIntervalMs === 800, 'the interval to reach its cap');
      // Doubling: 100 -> 200 -> 400 -> 800 took three failed polls, and it stays capped.
      const failedPolls = s.app.live.stats().polls;
      await until(
        () => s.app.live.stats().polls >= failedPolls + 1,
        'one more failed poll',
        10_000,
      );
      expect(s.app.live.stats().pollIntervalMs).toBe(800);
      expect(stream.ended).toBeNull();

      s.la.faults.remove(rule);
      await until(
        () => s.app.live.stats().pollIntervalMs === 100,
        'the interval to recover',
        10_000,
      );
      expect(stream.ended).toBeNull();
      expect(stream.results).toHaveLength(1);
      await stream.close();
    },
    30_000,
  );
});
