/**
 * The targets, each its own process on the servers' CPU, started alike: the environment a
 * production gateway would get (pointed at the local Amplify, with the Node flags of the
 * container image), then wait for the JSON line that carries the URL.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dockerfileEnv } from '../scripts/dockerfile-env.js';
import type { AccessLogMode } from '../src/config.js';
import { SERVERS_OUT } from './build.js';
import { type Pinned, spawnPinned } from './processes.js';
import type { Upstream } from './upstream-control.js';

export const TARGET_NAMES = ['ceiling', 'floor', 'mercurius', 'gateway'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_LABELS: Record<TargetName, string> = {
  ceiling: 'static ceiling',
  floor: 'raw-SDK floor',
  mercurius: 'Mercurius+JIT',
  gateway: 'gateway',
};

export interface Target {
  name: TargetName;
  process: Pinned;
  url: string;
}

/** The script each target runs, relative to the repository root. */
export const TARGET_SCRIPTS: Record<TargetName, string> = {
  ceiling: join(SERVERS_OUT, 'bench/servers/ceiling.js'),
  floor: join(SERVERS_OUT, 'bench/servers/floor.js'),
  mercurius: join(SERVERS_OUT, 'bench/servers/mercurius.js'),
  // What `npm start` and the image run: the bundle of scripts/bundle.ts.
  gateway: 'dist/server/main.js',
};

/** The runtime settings the container image gives Node (its `ENV` lines). */
export interface ContainerRuntime {
  NODE_OPTIONS: string;
  /** The malloc the image preloads (jemalloc, by file name: the loader finds it). */
  LD_PRELOAD: string;
  MALLOC_CONF: string;
  MALLOC_ARENA_MAX: string;
}

/**
 * NODE_OPTIONS, the preloaded malloc and its settings as the Dockerfile sets them, so the targets
 * run with the heap capped and memory managed as in the container (memory is measured inside that
 * cap, not on this machine's heap). See {@link preloadProblem} for a host without the library.
 */
export function containerRuntime(root: string): ContainerRuntime {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const value = (name: string) => {
    const set = dockerfileEnv(dockerfile, name);
    if (set === undefined) throw new Error(`the Dockerfile sets no ${name}`);
    return set;
  };
  return {
    NODE_OPTIONS: value('NODE_OPTIONS'),
    LD_PRELOAD: value('LD_PRELOAD'),
    MALLOC_CONF: value('MALLOC_CONF'),
    MALLOC_ARENA_MAX: value('MALLOC_ARENA_MAX'),
  };
}

/**
 * Why `node` would not run on the image's preloaded malloc here (the library is not installed:
 * `apt-get install libjemalloc2`), or `null` when it does: checked in a child's memory map.
 */
export function preloadProblem(node: string, runtime: ContainerRuntime): string | null {
  const probe = spawnSync(
    node,
    [
      '-e',
      `process.stdout.write(String(require('node:fs').readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(`/${runtime.LD_PRELOAD}`)})))`,
    ],
    { env: { ...process.env, LD_PRELOAD: runtime.LD_PRELOAD }, encoding: 'utf8', timeout: 10_000 },
  );
  if (probe.stdout === 'true') return null;
  return `${runtime.LD_PRELOAD} is not loaded on this machine (${probe.stderr.trim() || 'not in the memory map'}): the targets run on glibc's malloc, unlike the image; install it (Debian: apt-get install libjemalloc2, as scripts/ci/install-test-tools.sh does)`;
}

/**
 * The production environment, pointed at the local Amplify through the AWS SDK's standard
 * variables. UPSTREAM_* settings the caller exported apply to the gateway and the floor alike.
 */
export function targetEnv(
  upstream: Upstream,
  credentials: AwsEnv,
  logLevel: string,
  runtime: ContainerRuntime,
  accessLog: AccessLogMode,
): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  return {
    ...inherited,
    // As in the image: the heap caps of a 256 MiB container, fewer malloc arenas.
    ...runtime,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
    ACCESS_LOG: accessLog,
    // As deployed (Dockerfile, deploy/kubernetes/configmap.yaml).
    GRAPHIQL: 'false',
    // Nothing polls /ready here; off keeps ListApps calls out of the GetJob counts.
    READINESS_PROBE: 'off',
    // Loopback only, and the floor checks no credentials either; a deployment sets API_KEYS,
    // JWT_* or ROUTER_SECRET (an API key costs one SHA-256 per request).
    AUTH: 'none',
    // As deployed: replicas share the key that signs cursors (required with W4's and W6's Redis).
    CURSOR_SECRET: 'bench-cursor-secret-0123456789',
    ...credentials,
    AWS_ENDPOINT_URL_AMPLIFY: upstream.url,
  };
}

export interface AwsEnv {
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
}

export interface Listening {
  url: string;
  /** The `time` field of the listening log line (pino's epoch ms); undefined if none was seen. */
  time: number | undefined;
}

/** Reads `{"url":"http://.../graphql", "time"?: ms}` from a JSON log line. */
export function listeningLine(line: string): Listening | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(line) as { url?: unknown; time?: unknown };
    if (typeof parsed.url !== 'string' || !parsed.url.endsWith('/graphql')) return undefined;
    return { url: parsed.url, time: typeof parsed.time === 'number' ? parsed.time : undefined };
  } catch {
    return undefined;
  }
}

/** A port nothing listens on right now (the kernel's pick), for PORT. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Server {
  process: Pinned;
  url: string;
  /** From the listening log line, when the server printed one. */
  time: number | undefined;
  /** Date.now() and performance.now() just before the spawn. */
  spawnedAt: number;
  spawnedAtMs: number;
}

/**
 * Starts a server on a free port and waits until it listens: its listening log line, or (when
 * LOG_LEVEL hides that line) the first TCP connection it accepts, polled every 5 ms.
 */
export async function spawnServer(
  node: string,
  args: readonly string[],
  options: { cpu: number; env: NodeJS.ProcessEnv; cwd: string },
  what: string,
  timeoutMs = 20_000,
): Promise<Server> {
  const port = await freePort();
  const spawnedAt = Date.now();
  const spawnedAtMs = performance.now();
  const child = spawnPinned(node, args, {
    ...options,
    env: { ...options.env, PORT: String(port) },
  });
  let settled = false;
  const line = child.waitFor(listeningLine, timeoutMs, what);
  const polled = (async (): Promise<Listening | undefined> => {
    const deadline = Date.now() + timeoutMs;
    while (!settled && !child.exited && Date.now() < deadline) {
      if (await canConnect(port))
        return { url: `http://127.0.0.1:${port}/graphql`, time: undefined };
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return undefined;
  })();
  try {
    const first = await Promise.race([line, polled.then((l) => l ?? line)]);
    return { process: child, url: first.url, time: first.time, spawnedAt, spawnedAtMs };
  } finally {
    settled = true;
    line.catch(() => {});
  }
}

export async function startTarget(
  name: TargetName,
  node: string,
  root: string,
  cpu: number,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const server = await spawnServer(
    node,
    [join(root, TARGET_SCRIPTS[name])],
    { cpu, env, cwd: root },
    TARGET_LABELS[name],
  );
  return { name, process: server.process, url: server.url };
}
