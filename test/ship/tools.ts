/**
 * Shared by the ship tests: external tools (buildah, Chromium), ports, bounded waits, and
 * child processes that are always stopped.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Whether the ship tests that need `tool` should run. Under CI they always run (and fail when the
 * tool is missing, since .ci/run installs it); locally a missing tool skips them, loudly.
 */
export function toolAvailable(tool: string, probe: () => boolean, aptPackage = tool): boolean {
  const present = probe();
  if (!present && !IN_CI) {
    console.warn(
      `\n${'!'.repeat(78)}\n!! SKIPPING ${tool} tests: ${tool} is not installed. They run in CI (CI=true),\n!! where .ci/run installs it: apt-get install -y --no-install-recommends ${aptPackage}\n${'!'.repeat(78)}\n`,
    );
  }
  return present || IN_CI;
}

/** Whether the promtool checks should run here (Debian's `prometheus` package has promtool). */
export function promtoolTestsRun(): boolean {
  return toolAvailable('promtool', () => commandWorks('promtool', ['--version']), 'prometheus');
}

export function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0;
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}

/**
 * A TCP port of 127.0.0.1 nothing listened on a moment ago: for a connection that must be refused.
 * Never bind it (another process may take it between this call and the bind): servers listen on
 * port 0 and say which port they got (see {@link listeningUrl}).
 */
export async function unusedPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The base URL (`http://127.0.0.1:<port>`) a gateway logged once listening, e.g. on PORT=0. */
export function listeningUrl(output: string): string | undefined {
  return /"url":"(http:\/\/[^"]+)\/graphql"/.exec(output)?.[1];
}

/** Polls `check` every `intervalMs` until it returns a value, at most `timeoutMs` in all. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs, intervalMs = 250 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < maxTries && Date.now() <= deadline; attempt += 1) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** A started child process with its output collected, stopped by `stop()` (whole group). */
export interface Running {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

export function start(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Running {
  // detached: own process group, so stop() also ends grandchildren (npm -> tsx -> node).
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      text += String(error);
      resolve('spawn-error');
    });
  });
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  return {
    child,
    output: () => text,
    exited,
    async stop() {
      signalGroup('SIGTERM');
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 10_000)),
      ]);
      if (!done) {
        signalGroup('SIGKILL');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      }
    },
  };
}

/** Pids of every descendant of `pid` (from /proc), nearest first. */
export function descendants(pid: number): Array<{ pid: number; command: string }> {
  const parents = new Map<number, number[]>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) comes after the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
      commands.set(Number(entry), cmdline);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: Array<{ pid: number; command: string }> = [];
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 10_000; i += 1) {
    for (const child of parents.get(queue[i]!) ?? []) {
      found.push({ pid: child, command: commands.get(child) ?? '' });
      queue.push(child);
    }
  }
  return found;
}
