/**
 * A real `redis-server` for tests, on an ephemeral port of 127.0.0.1, with no persistence. It can
 * be killed mid-test and started again on the same port. Under CI (`CI=true`) the Redis tests must
 * run, so a missing redis-server fails them (.ci/run installs it through
 * scripts/ci/install-test-tools.sh); locally they skip, loudly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { commandWorks, toolAvailable, unusedPort } from '../ship/tools.js';
import { type GatewayProcess, startGatewayProcess } from './gateway-process.js';

/** Whether the Redis tests should run here (see the module comment). */
export function redisTestsRun(): boolean {
  return toolAvailable('redis-server', () => commandWorks('redis-server', ['--version']));
}

/** What a gateway logs when Redis changes state (src/shared-state/redis.ts), to wait for. */
export const redisLines = {
  connected: (line: Record<string, unknown>) => String(line.msg).startsWith('connected to Redis'),
  unavailable: (line: Record<string, unknown>) =>
    String(line.msg).startsWith('Redis is unavailable'),
  back: (line: Record<string, unknown>) => String(line.msg).startsWith('Redis answers again'),
};

export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL): clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--save', '', '--appendonly', 'no'],
      // DEBUG SLEEP makes a slow Redis for the tests that need one.
      ...['--enable-debug-command', 'yes'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining its output so it never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
}

function stop(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/**
 * redis-server cannot listen on port 0 (that turns TCP off), so it gets a port nothing listened on
 * a moment ago; if another process took that port meanwhile, it tries another (a few times).
 */
async function launchOnSomePort(dir: string): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await unusedPort();
    try {
      return { port, child: await launch(port, dir) };
    } catch (error) {
      const taken = error instanceof Error && /Address already in use/i.test(error.message);
      if (!taken || attempt === 5) throw error;
    }
  }
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));
  const launched = await launchOnSomePort(dir);
  const { port } = launched;
  let child: ChildProcess | null = launched.child;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      await stop(child, 'SIGKILL');
      child = null;
    },
    async restart() {
      await stop(child, 'SIGKILL');
      child = await launch(port, dir);
    },
    async close() {
      await stop(child, 'SIGTERM');
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Two gateway processes (replicas) on one local Amplify sharing `redis`, once both have connected
 * to it. They share the cursor key too (config refuses REDIS_URL without one), and get a generous
 * Redis timeout: on a busy machine a slow answer would (rightly) send a request on without Redis,
 * which is not what such tests look at. `env` comes on top.
 */
export async function startReplicas(
  la: LocalAmplify,
  redis: TestRedis,
  env: Record<string, string>,
): Promise<[GatewayProcess, GatewayProcess]> {
  const shared = {
    REDIS_URL: redis.url,
    CURSOR_SECRET: 'test-cursor-secret-0123456789',
    REDIS_TIMEOUT_MS: '2000',
    ...env,
  };
  const replicas = await Promise.all([
    startGatewayProcess(la, shared),
    startGatewayProcess(la, shared),
  ]);
  await Promise.all(replicas.map((g) => g.waitForLine(redisLines.connected, 10_000)));
  return replicas;
}
