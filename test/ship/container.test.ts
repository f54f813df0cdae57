/**
 * Builds the repository's Dockerfile, unmodified, with buildah (no Docker engine here), then checks
 * the image's config and contents and runs it against a local Amplify on 127.0.0.1: health, a real
 * job query, the image's own HEALTHCHECK command, graceful exit on SIGTERM.
 *
 * No registry is reachable, so scripts/ci/make-node-base-image.sh first builds a stand-in for the
 * FROM image under the exact same name. Everything lives in a fresh buildah storage directory that
 * is deleted afterwards: nothing is cached between runs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import {
  commandWorks,
  descendants,
  listeningUrl,
  type Running,
  start,
  toolAvailable,
  unusedPort,
  waitFor,
} from './tools.js';

const root = join(import.meta.dirname, '..', '..');
const IMAGE = 'localhost/amplify-jobs-graphql:ship-test';
/** The image starts only with access control: these tests give it an API key (its hash). */
const API_KEY = 'ajg_ship_test_key_0123456789abcdef';
const API_KEYS = `ship-test:read:${createHash('sha256').update(API_KEY).digest('hex')}`;
const runTests = toolAvailable('buildah', () => commandWorks('buildah', ['--version']));

/**
 * Where the throwaway buildah storage goes: RAM (/dev/shm) when it has room, since vfs copies the
 * whole image for every container and layer (about 350 MB in all here); else the temp dir.
 */
function scratchDir(): string {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize > 2e9) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return tmpdir();
}

interface ImageConfig {
  User?: string;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, unknown>;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number };
}

describe.skipIf(!runTests)('the container image', () => {
  let storage = '';
  let buildah: string[] = [];
  let config: ImageConfig = {};
  let layerBytes: number[] = [];
  let mountPoint = '';
  let workingContainer = '';
  let la: LocalAmplify | undefined;
  const running: Running[] = [];

  /** Runs buildah synchronously against the test's own storage; throws with its output on error. */
  function bh(args: string[], timeoutMs = 120_000): string {
    const [command, ...rest] = buildah;
    const result = spawnSync(command!, [...rest, ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.status !== 0) {
      throw new Error(
        `buildah ${args.join(' ')} failed (${result.status ?? result.signal ?? result.error}):\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result.stdout;
  }

  /**
   * Starts `buildah run` in the test's container of the image, with the given env. One container
   * serves every run: with vfs each `buildah from` copies the whole image, and the app cannot
   * write to its own files anyway (checked below).
   */
  function runImage(env: Record<string, string>, command: string[]): Running {
    const ctr = workingContainer;
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    const [bin, ...rest] = buildah;
    const proc = start(
      bin!,
      [...rest, 'run', '--isolation', 'chroot', ...envArgs, ctr, '--', ...command],
      {
        cwd: root,
      },
    );
    running.push(proc);
    return proc;
  }

  /** The gateway on a port of its own choosing (PORT=0), read back from its listening line. */
  function appEnv(amplifyUrl: string): Record<string, string> {
    return {
      PORT: '0',
      // Under chroot isolation the container shares the host's network: stay on loopback.
      HOST: '127.0.0.1',
      // The listening line (info) says which port it got.
      LOG_LEVEL: 'info',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDSHIPTEST',
      AWS_SECRET_ACCESS_KEY: 'ship-test-secret-not-real',
      AWS_ENDPOINT_URL_AMPLIFY: amplifyUrl,
      API_KEYS,
    };
  }

  beforeAll(async () => {
    if (!commandWorks('buildah', ['--version'])) {
      throw new Error(
        'buildah is not installed; in CI, .ci/run installs it (apt-get install buildah)',
      );
    }
    storage = mkdtempSync(join(scratchDir(), 'ship-buildah-'));
    buildah = [
      'buildah',
      '--storage-driver',
      'vfs',
      '--root',
      join(storage, 'root'),
      '--runroot',
      join(storage, 'run'),
    ];
    const baseStarted = Date.now();
    const base = spawnSync('bash', ['scripts/ci/make-node-base-image.sh', 'Dockerfile'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        BUILDAH_ROOT: join(storage, 'root'),
        BUILDAH_RUNROOT: join(storage, 'run'),
      },
    });
    if (base.status !== 0) {
      throw new Error(`base image script failed (${base.status ?? base.error}):\n${base.stderr}`);
    }
    console.log(
      `[ship] stand-in base image made in ${((Date.now() - baseStarted) / 1000).toFixed(0)} s`,
    );

    const started = Date.now();
    bh(
      [
        'build',
        '--isolation',
        'chroot',
        '--pull=never',
        // HEALTHCHECK exists only in the Docker image format (OCI has no field for it).
        '--format',
        'docker',
        '--file',
        'Dockerfile',
        '--tag',
        IMAGE,
        '.',
      ],
      600_000,
    );
    const buildSeconds = (Date.now() - started) / 1000;

    const inspected = JSON.parse(bh(['inspect', '--type', 'image', IMAGE])) as {
      Docker: { config: ImageConfig };
      Manifest: string;
    };
    config = inspected.Docker.config;
    const manifest = JSON.parse(inspected.Manifest) as { layers: Array<{ size: number }> };
    layerBytes = manifest.layers.map((l) => l.size);
    const mb = (n: number): string => `${(n / 1e6).toFixed(0)} MB`;
    console.log(
      `[ship] image built in ${buildSeconds.toFixed(0)} s; ${mb(layerBytes.reduce((a, b) => a + b, 0))} uncompressed (base ${mb(layerBytes[0] ?? 0)}, app ${mb(layerBytes.slice(1).reduce((a, b) => a + b, 0))})`,
    );

    workingContainer = bh(['from', '--pull=never', IMAGE]).trim();
    mountPoint = bh(['mount', workingContainer]).trim();
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 7 });
  }, 900_000);

  afterAll(async () => {
    for (const proc of running) await proc.stop();
    await la?.close();
    if (buildah.length > 0) {
      spawnSync(buildah[0]!, [...buildah.slice(1), 'umount', '--all'], { timeout: 60_000 });
      spawnSync(buildah[0]!, [...buildah.slice(1), 'rm', '--all'], { timeout: 60_000 });
      spawnSync(buildah[0]!, [...buildah.slice(1), 'rmi', '--all', '--force'], {
        timeout: 120_000,
      });
    }
    if (storage !== '') rmSync(storage, { recursive: true, force: true });
  }, 300_000);

  it('runs as a non-root numeric user, in production mode, with nothing secret in its env', () => {
    expect(config.User).toMatch(/^[1-9]\d*(:\d+)?$/);
    const env = config.Env ?? [];
    expect(env).toContain('NODE_ENV=production');
    // No secrets, and no AUTH=none: the image starts only once access control is configured.
    expect(
      env.filter((e) =>
        /^(AWS_|ROUTER_SECRET|API_KEYS|METRICS_TOKEN|AUTH=|REDIS_URL|NPM_TOKEN)/.test(e),
      ),
    ).toEqual([]);
    expect(config.Cmd).toEqual(['node', 'dist/server/main.js']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['4000/tcp']);
  });

  it('runs node on jemalloc (LD_PRELOAD), with no warning from the dynamic loader', async () => {
    expect(config.Env ?? []).toContain('LD_PRELOAD=libjemalloc.so.2');
    const probe = runImage({}, [
      'node',
      '-e',
      "process.stdout.write('jemalloc mapped: ' + require('node:fs').readFileSync('/proc/self/maps', 'utf8').includes('/libjemalloc.so.2'))",
    ]);
    expect(await probe.exited).toBe(0);
    expect(probe.output()).toContain('jemalloc mapped: true');
    expect(probe.output()).not.toMatch(/cannot be preloaded/);
  }, 60_000);

  it('declares a HEALTHCHECK that asks /health with node', () => {
    const test = config.Healthcheck?.Test ?? [];
    expect(test[0]).toBe('CMD');
    expect(test[1]).toBe('node');
    expect(test.join(' ')).toContain('/health');
    expect(config.Healthcheck?.Retries).toBeGreaterThan(0);
  });

  it('holds compiled code and production dependencies only', () => {
    const app = join(mountPoint, config.WorkingDir ?? '/app');
    expect(existsSync(join(app, 'dist', 'server', 'main.js'))).toBe(true);
    // The bundle only: no unbundled server, demo or local Amplify.
    expect(readdirSync(join(app, 'dist'))).toEqual(['server']);
    expect(existsSync(join(app, 'node_modules', 'graphql-yoga', 'package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@aws-sdk', 'client-amplify'))).toBe(true);
    // The lockfile marks every package only devDependencies need with `dev: true`.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path]) =>
      path.startsWith('node_modules/'),
    );
    const devOnly = entries.filter(([, meta]) => meta.dev === true).map(([path]) => path);
    const production = entries
      .filter(([, meta]) => !meta.dev && !meta.optional && !meta.devOptional)
      .map(([path]) => path);
    expect(devOnly).toContain('node_modules/vitest');
    expect(devOnly).toContain('node_modules/typescript');
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
    expect(production.filter((path) => !existsSync(join(app, path)))).toEqual([]);
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('keeps its code read-only for the user it runs as', () => {
    const app = join(mountPoint, config.WorkingDir ?? '/app');
    const uid = Number((config.User ?? '').split(':')[0]);
    for (const path of [
      app,
      join(app, 'dist'),
      join(app, 'dist', 'server'),
      join(app, 'dist', 'server', 'main.js'),
      join(app, 'node_modules'),
    ]) {
      const stat = statSync(path);
      expect(stat.uid, path).not.toBe(uid);
      expect(stat.mode & 0o002, `${path} world-writable`).toBe(0);
    }
  });

  it('is of a reasonable size', () => {
    const total = layerBytes.reduce((a, b) => a + b, 0);
    const app = layerBytes.slice(1).reduce((a, b) => a + b, 0);
    // The stand-in base is ~150 MB (Node alone is ~127 MB); the real slim base is ~200 MB.
    expect(total).toBeLessThan(400e6);
    // Our own layers: production node_modules and the bundle, no dev tools (TypeScript alone is
    // ~23 MB). About 91 MB: the bundle with its source maps is 7.5 MB; the OpenTelemetry SDK and
    // OTLP exporter add ~27 MB (loaded only when tracing is on, but installed either way).
    expect(app).toBeLessThan(100e6);
  });

  it('serves health, readiness and a real job from the local Amplify, and its HEALTHCHECK passes', async () => {
    const app = runImage(appEnv(la!.url), config.Cmd ?? []);
    const base = await waitFor(
      'the container to listen',
      async () => {
        if (app.child.exitCode !== null) throw new Error(`exited:\n${app.output()}`);
        return listeningUrl(app.output());
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const port = new URL(base).port;
    const health = await waitFor(
      `/health of the container (output: ${app.output()})`,
      async () => {
        const response = await fetch(`${base}/health`);
        return response.status === 200 ? ((await response.json()) as unknown) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\ncontainer output:\n${app.output()}`);
    });
    expect(health).toEqual({ status: 'ok' });
    await waitFor(
      '/ready',
      async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined),
      { timeoutMs: 15_000 },
    );

    const key = la!.world.listJobKeys()[0]!;
    const unauthenticated = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    expect(unauthenticated.status).toBe(401);
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({
        query: `{ job(appId: ${JSON.stringify(key.appId)}, branchName: ${JSON.stringify(key.branchName)}, jobId: ${JSON.stringify(key.jobId)}) { appId branchName jobId summary { jobArn status jobType startTime } steps { stepName status logUrl } } }`,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      data?: {
        job?: {
          appId: string;
          jobId: string;
          summary: { jobArn: string; status: string; jobType: string };
        };
      };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(body.data?.job?.appId).toBe(key.appId);
    expect(body.data?.job?.jobId).toBe(key.jobId);
    expect(body.data?.job?.summary.status).toBe(key.status);
    expect(body.data?.job?.summary.jobType).toBe(key.jobType);
    // Amplify zero-pads the job number in the ARN (jobs/0000000009 for jobId "9").
    expect(body.data?.job?.summary.jobArn).toMatch(
      new RegExp(
        `^arn:aws:amplify:[a-z0-9-]+:\\d{12}:apps/${key.appId}/branches/.+/jobs/0*${key.jobId}$`,
      ),
    );

    // The image's own HEALTHCHECK command, run inside a container of the image.
    const check = (config.Healthcheck?.Test ?? []).slice(1);
    const healthy = runImage({ PORT: port }, check);
    expect(await healthy.exited).toBe(0);
    const unhealthy = runImage({ PORT: String(await unusedPort()) }, check);
    expect(await unhealthy.exited).not.toBe(0);
  }, 120_000);

  it('drains and exits with code 0 when node gets SIGTERM', async () => {
    const app = runImage(appEnv(la!.url), config.Cmd ?? []);
    const base = await waitFor('the container to listen', async () => listeningUrl(app.output()), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await waitFor('/health', async () => ((await fetch(`${base}/health`)).ok ? true : undefined), {
      timeoutMs: 30_000,
    });
    const node = descendants(app.child.pid!).find(
      (p) => p.command.startsWith('/usr/local/bin/node') || p.command.startsWith('node '),
    );
    expect(node, JSON.stringify(descendants(app.child.pid!))).toBeDefined();
    process.kill(node!.pid, 'SIGTERM');
    const code = await Promise.race([
      app.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 15 s'), 15_000)),
    ]);
    expect(code).toBe(0);
  }, 60_000);

  it('refuses to start without access control, and says so in one line', async () => {
    const app = runImage(
      { PORT: '0', HOST: '127.0.0.1', AWS_REGION: 'us-east-1' },
      config.Cmd ?? [],
    );
    const code = await Promise.race([
      app.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
    ]);
    expect(code).not.toBe(0);
    expect(typeof code).toBe('number');
    expect(app.output()).toMatch(
      /Refusing to start without access control: set API_KEYS, JWT_JWKS_URL .* or ROUTER_SECRET, or AUTH=none/,
    );
  }, 60_000);

  it('refuses to start without an AWS Region, and says so', async () => {
    const app = runImage({ PORT: '0', HOST: '127.0.0.1', API_KEYS }, config.Cmd ?? []);
    const code = await Promise.race([
      app.exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
    ]);
    expect(code).not.toBe(0);
    expect(typeof code).toBe('number');
    expect(app.output()).toMatch(/AWS_REGION/);
  }, 60_000);
});
