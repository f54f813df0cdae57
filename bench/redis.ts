/**
 * The Redis that W4's two gateways share: Debian's `redis-server` on a free loopback port, pinned to
 * the servers' CPU like everything it serves, without persistence, killed with the other children.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Pinned, runToEnd, spawnPinned } from './processes.js';
import { freePort } from './targets.js';

export interface BenchRedis {
  url: string;
  process: Pinned;
  stop(): Promise<void>;
}

/** Whether redis-server is installed. */
export async function hasRedisServer(): Promise<boolean> {
  try {
    const result = await runToEnd('redis-server', ['--version'], { timeoutMs: 5_000 });
    return result.code === 0;
  } catch {
    return false;
  }
}

export async function startRedis(cpu: number): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'amplify-bench-redis-'));
  const port = await freePort();
  const child = spawnPinned(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--save', '', '--appendonly', 'no'],
    ],
    { cpu },
  );
  await child.waitFor(
    (line) => (line.includes('Ready to accept connections') ? true : undefined),
    10_000,
    'redis-server',
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    process: child,
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
