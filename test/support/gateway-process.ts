/**
 * The gateway as its own process (`src/main.ts` through tsx; `npm start` runs its bundle),
 * pointed at a local Amplify, for tests that need replicas sharing nothing but the network: its
 * JSON log lines are collected, and it is stopped with SIGTERM (SIGKILL if it hangs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LocalAmplify } from '../../src/local-amplify/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  /** e.g. http://127.0.0.1:41234/graphql */
  url: string;
  /** Its JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  /** Resolves with the first log line `match` accepts, or rejects after `timeoutMs`. */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startGatewayProcess(
  la: LocalAmplify,
  env: Record<string, string>,
): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...la.env(),
      AWS_EC2_METADATA_DISABLED: 'true',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      GRAPHIQL: 'false',
      READINESS_PROBE: 'off',
      UPSTREAM_MAX_ATTEMPTS: '1',
      // Loopback only, like the in-process harness (stack.ts): no access control unless asked.
      AUTH: 'none',
      // The tests read the log lines as they happen (test/gateway/logging.test.ts covers the
      // buffer itself).
      LOG_BUFFER_BYTES: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  let text = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      text += `${part}\n`;
      if (!part.startsWith('{')) continue;
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen !== undefined) {
        resolve(seen);
        return;
      }
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`no such log line within ${timeoutMs} ms; output:\n${text}`));
      }, timeoutMs);
      const listener = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(line);
      };
      listeners.add(listener);
    });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const listening = await waitForLine((line) => typeof line.url === 'string', 30_000);
    return { url: String(listening.url), lines: () => lines, waitForLine, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
