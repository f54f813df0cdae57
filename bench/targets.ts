/**
 * The three targets, each its own process on the servers' CPU, started alike: the environment a
 * production gateway would get (pointed at the local Amplify), then wait for the JSON line that
 * carries the URL.
 */
import { join } from 'node:path';
import { SERVERS_OUT } from './build.js';
import { type Pinned, spawnPinned } from './processes.js';
import type { Upstream } from './upstream-control.js';

export const TARGET_NAMES = ['ceiling', 'floor', 'gateway'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_LABELS: Record<TargetName, string> = {
  ceiling: 'static ceiling',
  floor: 'raw-SDK floor',
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
  gateway: 'dist/main.js',
};

/**
 * The production environment, pointed at the local Amplify through the AWS SDK's standard
 * variables. UPSTREAM_* settings the caller exported apply to the gateway and the floor alike.
 */
export function targetEnv(
  upstream: Upstream,
  credentials: AwsEnv,
  logLevel: string,
): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
  return {
    ...inherited,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
    // As deployed (Dockerfile, deploy/kubernetes/configmap.yaml).
    GRAPHIQL: 'false',
    // Nothing polls /ready here; off keeps ListApps calls out of the GetJob counts.
    READINESS_PROBE: 'off',
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
  /** The `time` field of the line (pino's epoch ms), when there is one. */
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

export async function startTarget(
  name: TargetName,
  node: string,
  root: string,
  cpu: number,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const child = spawnPinned(node, [join(root, TARGET_SCRIPTS[name])], { cpu, env, cwd: root });
  const { url } = await child.waitFor(listeningLine, 20_000, TARGET_LABELS[name]);
  return { name, process: child, url };
}
