/**
 * Child processes of the bench and what /proc says about them. Every child is registered so it is
 * killed on any way out (normal end, error, Ctrl+C); CPU time, peak RSS and the other load on a
 * core come from /proc, so they are the kernel's numbers, not the server's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  children.clear();
}

let installed = false;
/** Kills every child on exit, on Ctrl+C / SIGTERM, and on an uncaught error. Call once. */
export function killChildrenOnExit(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}: stopping every child process`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    console.error('bench: failed:', error);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    console.error('bench: failed:', error);
    killAll();
    process.exit(1);
  });
}

export interface PinnedOptions {
  cpu: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Spawns `command args` on one CPU (`taskset -c`, which execs the command, so the pid is the
 * command's own). stdout/stderr are piped; the last lines are kept for error messages.
 */
export function spawnPinned(
  command: string,
  args: readonly string[],
  options: PinnedOptions,
): Pinned {
  const child = spawn('taskset', ['-c', String(options.cpu), command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Pinned(child);
}

/** A running child with a ring of its last output lines. */
export class Pinned {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();

  constructor(child: ChildProcess) {
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      const lines = createInterface({ input: stream });
      lines.on('line', (line) => {
        this.#lines.push(line);
        if (this.#lines.length > 40) this.#lines.shift();
        for (const listener of this.#listeners) listener(line);
      });
    }
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('child has no pid (spawn failed)');
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  tail(): string {
    return this.#lines.join('\n');
  }

  /**
   * Resolves with the first output line `match` accepts (its return value), or rejects when the
   * child exits first or `timeoutMs` passes.
   */
  waitFor<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        this.child.off('exit', onExit);
        this.child.off('error', onExit);
      };
      const listener = (line: string) => {
        const value = match(line);
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const onExit = () => {
        done();
        reject(
          new Error(
            `${what}: the process ended before it was ready. Its last output:\n${this.tail()}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${what}: not ready after ${timeoutMs} ms. Its last output:\n${this.tail()}`),
        );
      }, timeoutMs);
      this.#listeners.add(listener);
      this.child.once('exit', onExit);
      this.child.once('error', onExit);
      if (this.exited) onExit();
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs a command to completion (bounded by `timeoutMs`) and returns its stdout. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { cpu?: number; timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, argv] =
    options.cpu === undefined
      ? [command, [...args]]
      : ['taskset', ['-c', String(options.cpu), command, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Moves a running process (all its threads) to one CPU. */
export async function pin(pid: number, cpu: number): Promise<void> {
  const result = await runToEnd('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], {
    timeoutMs: 5_000,
  });
  if (result.code !== 0) throw new Error(`taskset could not pin process ${pid}: ${result.stderr}`);
}

/** Pins the calling process (all its threads) to one CPU. */
export function pinSelf(cpu: number): Promise<void> {
  return pin(process.pid, cpu);
}

/** /proc/<pid>/stat and /proc/stat count CPU time in these (100 on Linux; read by readClockTicks). */
let ticksPerSecond = 100;

/** Reads CLK_TCK once (`getconf CLK_TCK`), so CPU times are right on any kernel. */
export async function readClockTicks(): Promise<void> {
  const result = await runToEnd('getconf', ['CLK_TCK'], { timeoutMs: 5_000 });
  const value = Number(result.stdout.trim());
  if (result.code === 0 && Number.isInteger(value) && value > 0) ticksPerSecond = value;
}

/** Microseconds in one tick of /proc/stat. */
export function microsPerTick(): number {
  return 1_000_000 / ticksPerSecond;
}

/** User + system CPU time of a process (all its threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "(comm) ".
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * microsPerTick();
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** Peak resident set size since start (or since {@link resetPeakRss}), in MB. */
export function peakRssMb(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

/** Resident set size now, in MB. */
export function rssMb(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

/** Resets VmHWM to the current RSS (Linux >= 4.0; needs the right to write clear_refs). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Busy and total time of one CPU from /proc/stat, in ticks; steal counts as busy (not ours). */
export function cpuTicks(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (line === undefined) throw new Error(`/proc/stat has no cpu${cpu}`);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .split(/\s+/)
    .slice(1)
    .map(Number) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}
