/**
 * `npm start` runs the compiled, bundled JavaScript: these tests build with `npm run build`'s own
 * recipe (scripts/build.ts: tsc, then scripts/bundle.ts) and start dist/server/main.js, the file the
 * image runs, as a real process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../scripts/build.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';
import { redisTestsRun, startRedis, type TestRedis } from '../support/redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'dist', 'server', 'main.js');
const API_KEY = 'ajg_production_test_key_0123456789';
const API_KEYS = `prod-test:read:${createHash('sha256').update(API_KEY).digest('hex')}`;

/** An environment with no AWS configuration at all, whatever the developer's machine has. */
async function bareEnv(extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(tmpdir(), 'gw-home-'));
  return {
    PATH: process.env.PATH,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

function run(env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [main], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, exited };
}

async function waitFor(predicate: () => boolean, what: string, ms = 10_000) {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Once for the file, whichever tests run: `npm run build`'s recipe.
beforeAll(() => buildServer(root), 120_000);

describe('production start (compiled JavaScript)', () => {
  let la: LocalAmplify;

  beforeAll(async () => {
    la = await startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
  });
  afterAll(() => la?.close());

  it('refuses to start without access control, in one line naming the options', async () => {
    const proc = run(await bareEnv({ AWS_REGION: 'us-east-1', PORT: '0', HOST: '127.0.0.1' }));
    expect(await proc.exited).toBe(1);
    const lines = proc
      .output()
      .split('\n')
      .filter((line) => /access control/.test(line));
    expect(lines).toEqual([
      '  - Refusing to start without access control: set API_KEYS, JWT_JWKS_URL (with JWT_ISSUER and JWT_AUDIENCE) or ROUTER_SECRET, or AUTH=none to serve anyone who can reach the port.',
    ]);
    expect(proc.output()).not.toMatch(/listening/);
  });

  it('exits at once, saying what to set, when no AWS Region is configured', async () => {
    const proc = run(await bareEnv({ AUTH: 'none' }));
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/No AWS Region is configured\. Set AWS_REGION/);
  });

  it('reports a missing Region and missing access control together, not one per start', async () => {
    const proc = run(await bareEnv({}));
    expect(await proc.exited).toBe(1);
    const report = proc.output().slice(proc.output().indexOf('Invalid configuration:'));
    expect(report).toMatch(
      /^Invalid configuration:\n {2}- Refusing to start without access control/,
    );
    expect(report).toMatch(/\n {2}- No AWS Region is configured\. Set AWS_REGION/);
  });

  it('exits listing every configuration problem at once', async () => {
    const proc = run(
      await bareEnv({ AWS_REGION: 'us-east-1', PORT: '99999', UPSTREAM_MAX_ATTEMPTS: 'many' }),
    );
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/PORT must be/);
    expect(proc.output()).toMatch(/UPSTREAM_MAX_ATTEMPTS must be/);
  });

  it('reports UPSTREAM_UNAUTHORIZED, and not ready, when no credentials can be found', async () => {
    const proc = run(
      await bareEnv({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_AMPLIFY: la.url,
        PORT: '0',
        HOST: '127.0.0.1',
        AUTH: 'none',
      }),
    );
    try {
      await waitFor(() => /"url":"http:\/\/[^"]+\/graphql"/.test(proc.output()), 'listening');
      const url = /"url":"(http:\/\/[^"]+\/graphql)"/.exec(proc.output())?.[1] ?? '';
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: '{ job(appId: "dabc", branchName: "main", jobId: "1") { jobId } }',
        }),
      });
      const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]?.extensions.code).toBe('UPSTREAM_UNAUTHORIZED');
      const ready = await fetch(url.replace('/graphql', '/ready'));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ reason: 'UPSTREAM_UNAUTHORIZED' });
      // AUTH=none: a bare `rover dev --url` works, and the start warns about serving anyone.
      const lines = proc
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.find((line) => /listening/.test(line.msg))?.msg).toBe(
        `Amplify jobs GraphQL listening; compose it with: rover dev --name amplify-jobs --url ${url}`,
      );
      const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
      expect(warnings).toEqual([
        expect.stringMatching(/^AUTH=none: serving without access control/),
        expect.stringMatching(/^CURSOR_SECRET is not set/),
      ]);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('serves jobs from the endpoint in AWS_ENDPOINT_URL_AMPLIFY to API-key holders only, and exits cleanly on SIGTERM', async () => {
    const { endpoint, region, credentials } = la.clientConfig();
    const proc = run(
      await bareEnv({
        AWS_REGION: region,
        AWS_ENDPOINT_URL_AMPLIFY: endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        PORT: '0',
        HOST: '127.0.0.1',
        API_KEYS,
      }),
    );
    try {
      await waitFor(
        () => /"url":"http:\/\/[^"]+\/graphql"/.test(proc.output()),
        'the listening log line',
      );
      const url = /"url":"(http:\/\/[^"]+\/graphql)"/.exec(proc.output())?.[1] ?? '';
      // Production logs are JSON lines on stdout, one object per line (Node's own warnings, such
      // as the AWS SDK's notice about Node 20, go to stderr).
      for (const line of proc.stdout().trim().split('\n')) {
        expect(() => JSON.parse(line)).not.toThrow();
      }

      const [job] = la.world.listJobKeys({ status: 'SUCCEED' });
      const ask = (headers: Record<string, string>) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({
            query: `{ job(appId: "${job?.appId}", branchName: ${JSON.stringify(job?.branchName)}, jobId: "${job?.jobId}") { summary { status jobId } } }`,
          }),
        });
      expect((await ask({})).status).toBe(401);
      expect(await (await ask({ 'x-api-key': API_KEY })).json()).toEqual({
        data: { job: { summary: { status: 'SUCCEED', jobId: job?.jobId } } },
      });
      // Step logs come from that endpoint too: it is the one loopback origin allowed, found in
      // AWS_ENDPOINT_URL_AMPLIFY through the SDK's own configuration.
      const logs = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: JSON.stringify({
          query: `{ job(appId: "${job?.appId}", branchName: ${JSON.stringify(job?.branchName)}, jobId: "${job?.jobId}") { steps { log(tailLines: 1) { text truncated } } } }`,
        }),
      });
      const logBody = (await logs.json()) as {
        errors?: unknown[];
        data: { job: { steps: Array<{ log: { text: string; truncated: boolean } | null }> } };
      };
      expect(logBody.errors).toBeUndefined();
      expect(logBody.data.job.steps.length).toBeGreaterThan(0);
      for (const step of logBody.data.job.steps) {
        expect(step.log?.text).toMatch(/^\S.*\n$/);
        expect(step.log?.truncated).toBe(true);
      }
      expect((await fetch(url.replace('/graphql', '/ready'))).status).toBe(200);
      // Production also collects the Node.js process metrics.
      const metrics = await (await fetch(url.replace('/graphql', '/metrics'))).text();
      // One GetJob: the job is finished, so the log query read it from the cache; the log reads
      // themselves are not Amplify calls.
      expect(metrics).toMatch(
        /^amplify_upstream_calls_total\{operation="GetJob",outcome="success"\} 1$/m,
      );
      expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
      expect(proc.output()).not.toContain(credentials.secretAccessKey);
      expect(proc.output()).not.toContain(API_KEY);
      expect(proc.output()).toMatch(/"access":\["api keys \(1\)"\]/);
      expect(proc.output()).toMatch(/"cursors":"random key of this process"/);
      // With access control, `_service` needs credentials: the hint reads the schema from the
      // committed file and has the router pass the client's key on.
      expect(proc.output()).toContain(
        `compose it with: rover dev --name amplify-jobs --url ${url} --schema ./schema.graphql --router-config router.yaml, where router.yaml forwards the client's x-api-key or authorization header`,
      );

      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      // Again once every buffered line (LOG_BUFFER_BYTES) is out: the access lines included.
      expect(proc.stdout()).toMatch(/"msg":"request"/);
      expect(proc.output()).not.toContain(credentials.secretAccessKey);
      expect(proc.output()).not.toContain(API_KEY);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});

/**
 * The bundle loads some dependencies only when their feature is on (scripts/bundle.ts): each must
 * still work from dist/server/. A CommonJS one imported on demand had no named exports there.
 */
describe.skipIf(!redisTestsRun())('production start with the features that load on demand', () => {
  let la: LocalAmplify;
  let redis: TestRedis;
  let closeJwks: () => Promise<void>;
  /**
   * One loopback server for the identity provider's JWKS, container credentials (as EKS Pod
   * Identity and ECS serve them) and an OTLP collector.
   */
  let side: string;
  const received = { credentials: 0, traces: 0 };
  let signer: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    [la, redis, signer] = await Promise.all([
      startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 }),
      startRedis(),
      generateKeyPair('ES256', { extractable: true }),
    ]);
    const jwk = { ...(await exportJWK(signer.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const { credentials } = la.clientConfig();
    const server = createServer((req, res) => {
      if (req.url === '/credentials') {
        received.credentials += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            AccessKeyId: credentials.accessKeyId,
            SecretAccessKey: credentials.secretAccessKey,
            Token: 'container-session-token',
            Expiration: new Date(Date.now() + 3_600_000).toISOString(),
          }),
        );
      } else if (req.url === '/v1/traces') {
        received.traces += 1;
        req.resume().on('end', () => res.writeHead(200).end());
      } else {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify({ keys: [jwk] }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    side = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeJwks = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterAll(async () => {
    await Promise.all([la?.close(), redis?.close(), closeJwks?.()]);
  });

  it('shares its cache through Redis, checks JWTs, takes container credentials, serves GraphiQL, exports traces and rate-limits', async () => {
    const { endpoint, region } = la.clientConfig();
    const proc = run(
      await bareEnv({
        AWS_REGION: region,
        AWS_ENDPOINT_URL_AMPLIFY: endpoint,
        // The SDK's credential chain, bundled: container credentials as EKS Pod Identity gives them.
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${side}/credentials`,
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        CURSOR_SECRET: 'production-test-cursor-secret-0123',
        // Mid-rotation: the start-up line and a warning say so, never the values.
        CURSOR_SECRET_FALLBACK: 'production-test-cursor-fallback-0123',
        JWT_JWKS_URL: `${side}/jwks.json`,
        JWT_ISSUER: 'https://issuer.test',
        JWT_AUDIENCE: 'amplify-jobs',
        GRAPHIQL: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: side,
        // rate-limiter-flexible is CommonJS loaded on demand, as ioredis is: the bundle must find it.
        RATE_LIMIT_REQUESTS: '3',
      }),
    );
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      await waitFor(() => /"msg":"connected to Redis/.test(proc.output()), 'the Redis connection');
      const url = /"url":"(http:\/\/[^"]+\/graphql)"/.exec(proc.output())?.[1] ?? '';
      expect(proc.output()).toMatch(/"cursors":"CURSOR_SECRET and its fallback"/);
      expect(proc.output()).toMatch(
        /"msg":"CURSOR_SECRET_FALLBACK is set: a rotation is under way/,
      );
      expect(proc.output()).not.toContain('production-test-cursor-');
      const [job] = la.world.listJobKeys({ status: 'SUCCEED' });
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ scope: 'read' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://issuer.test')
        .setAudience('amplify-jobs')
        .setSubject('user-1')
        .setIssuedAt(now - 10)
        .setExpirationTime(now + 300)
        .sign(signer.privateKey);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
        body: JSON.stringify({
          query: `{ job(appId: "${job?.appId}", branchName: ${JSON.stringify(job?.branchName)}, jobId: "${job?.jobId}") { summary { jobId status } } }`,
        }),
      });
      expect(await response.json()).toEqual({
        data: { job: { summary: { jobId: job?.jobId, status: 'SUCCEED' } } },
      });
      expect(received.credentials).toBeGreaterThan(0);
      await client.connect();
      expect((await client.keys('amplify-jobs:cache:*')).length).toBeGreaterThan(0);
      // GraphiQL's page comes from node_modules, not the bundle.
      const page = await fetch(url, {
        headers: { accept: 'text/html', authorization: `Bearer ${jwt}` },
      });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      // user-1's job, then its second, third and fourth request this minute, counted in Redis (the
      // GraphiQL page needs no credentials and is not counted).
      const again = () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
      expect((await again()).status).toBe(200);
      expect((await again()).status).toBe(200);
      const limited = await again();
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await client.keys('amplify-jobs:rate:v1:*')).length).toBe(1);
      expect(proc.output()).toMatch(/"tracing":true/);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      // The OpenTelemetry SDK (from node_modules too) flushed the request's spans on the way out.
      expect(received.traces).toBeGreaterThan(0);
      expect(proc.output()).not.toMatch(/TypeError|is not a constructor/);
    } finally {
      client.disconnect();
      proc.child.kill('SIGKILL');
    }
  });
});
