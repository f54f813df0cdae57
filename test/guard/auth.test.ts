/**
 * Access control over real HTTP: API keys (hashes only configured), JWTs verified against a local
 * JWKS server whose keys jose makes, the router secret alongside, scopes, and the routes that stay
 * open. Every refusal is checked to cost zero Amplify calls and to leak no credential in the logs.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKey } from '../../src/upstream/shapes.js';
import { type Stack, startStack } from '../support/stack.js';
import { jobsFromDistinctBranches } from '../support/world.js';

const READ_KEY = 'ajg_read_Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OQ';
const WRITE_KEY = 'ajg_write_cXV4cXV1eDAxMjM0NTY3ODlhYmNkZWY';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const API_KEYS = `dashboard:read:${sha256(READ_KEY)},deployer:read+write:${sha256(WRITE_KEY)}`;
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'amplify-jobs-graphql';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
interface SigningKey {
  kid: string;
  pair: KeyPair;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  return {
    kid,
    pair,
    jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' },
  };
}

/** A local identity provider's key set endpoint: serves `keys`, counts fetches. */
async function startJwks(initial: SigningKey[]) {
  const state = { keys: initial, fetches: 0, failing: false };
  const server: Server = createServer((_req, res) => {
    state.fetches += 1;
    if (state.failing) {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    state,
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Claims {
  iss?: string;
  aud?: string;
  sub?: string;
  scope?: string;
  /** Seconds from now. */
  expiresIn?: number;
}

function token(key: SigningKey, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims.scope === undefined ? { scope: 'read' } : { scope: claims.scope })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject(claims.sub ?? 'user-42')
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (claims.expiresIn ?? 300))
    .sign(key.pair.privateKey);
}

interface Reply {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  };
}

describe('access control over real HTTP', () => {
  const logLines: string[] = [];
  let stack: Stack;
  let server: RunningServer;
  let job: JobKey;
  let jwks: Awaited<ReturnType<typeof startJwks>>;
  let keyA: SigningKey;
  let keyB: SigningKey;
  let stranger: SigningKey;

  beforeAll(async () => {
    [keyA, keyB, stranger] = await Promise.all([
      signingKey('key-a'),
      signingKey('key-b'),
      signingKey('key-a'),
    ]);
    jwks = await startJwks([keyA]);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    stack = await startStack({
      env: {
        API_KEYS,
        JWT_JWKS_URL: jwks.url,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        // Rotation is picked up on the first token with an unknown kid, not 30 s later.
        JWT_JWKS_COOLDOWN_MS: '0',
        LOG_LEVEL: 'debug',
      },
      log: pino({ level: 'debug' }, sink),
    });
    server = await stack.listen();
    [job] = jobsFromDistinctBranches(stack.la, 1) as [JobKey];
  });
  afterAll(async () => {
    await stack?.close();
    await jwks?.close();
  });
  beforeEach(() => stack.la.stats.reset());

  const JOB_QUERY =
    'query Job($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } }';

  async function post(
    headers: Record<string, string>,
    query = JOB_QUERY,
    target: RunningServer = server,
  ): Promise<Reply> {
    const response = await fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables: { a: job.appId, b: job.branchName, j: job.jobId } }),
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Reply['body'],
    };
  }

  function expectUnauthenticated(reply: Reply, message: RegExp) {
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="amplify-jobs-graphql"');
    expect(reply.body.data).toBeUndefined();
    expect(reply.body.errors?.[0]?.extensions).toEqual({
      code: 'UNAUTHENTICATED',
      retryable: false,
    });
    expect(reply.body.errors?.[0]?.message).toMatch(message);
    expect(stack.la.stats.calls()).toBe(0);
  }

  function expectJob(reply: Reply) {
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toEqual({ job: { jobId: job.jobId } });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  }

  describe('API keys', () => {
    it('answers 401 UNAUTHENTICATED, naming what to send, when no credentials come', async () => {
      expectUnauthenticated(
        await post({}),
        /Missing credentials: send an API key \(x-api-key: <key> or Authorization: Bearer <key>\) or a JWT/,
      );
    });

    it('answers 401 for a wrong key, in either header', async () => {
      expectUnauthenticated(await post({ 'x-api-key': `${READ_KEY}x` }), /^Unknown API key\.$/);
      expectUnauthenticated(
        await post({ authorization: `Bearer ${READ_KEY.slice(0, -1)}` }),
        /^Unknown API key\.$/,
      );
    });

    it('serves a read key sent as x-api-key or as a bearer token', async () => {
      expectJob(await post({ 'x-api-key': READ_KEY }));
      stack.la.stats.reset();
      expectJob(await post({ authorization: `Bearer ${READ_KEY}` }));
    });

    it('answers 403 FORBIDDEN to a read key on a write operation, before validation and any call', async () => {
      const reply = await post({ 'x-api-key': READ_KEY }, 'mutation Start { startJob }');

      expect(reply.status).toBe(403);
      // Validation also says the schema has no mutation; the scope refusal sets the status.
      expect(reply.body.errors?.find((e) => e.extensions?.code === 'FORBIDDEN')).toMatchObject({
        message: 'This mutation needs the "write" scope, which these credentials do not have.',
        extensions: { code: 'FORBIDDEN', retryable: false, requiredScope: 'write' },
      });
      expect(stack.la.stats.calls()).toBe(0);
    });

    it('lets a read+write key past the scope check on a mutation', async () => {
      // Past the scope check, the mutation itself answers: start/stop are off unless
      // CONTROL_MUTATIONS is on (test/live/control.test.ts), and nothing is sent.
      const reply = await post(
        { 'x-api-key': WRITE_KEY },
        'mutation Stop { stopJob(appId: "d1abc", branchName: "main", jobId: "1") { jobId } }',
      );

      expect(reply.body.errors).toMatchObject([
        { path: ['stopJob'], extensions: { code: 'FORBIDDEN' } },
      ]);
      expect(reply.body.errors?.[0]?.message).toContain('CONTROL_MUTATIONS');
      expect(stack.la.stats.calls('StopJob')).toBe(0);
    });
  });

  describe('JWTs', () => {
    it('serves a valid token with the read scope, fetching the key set once', async () => {
      const fetchesBefore = jwks.state.fetches;
      expectJob(await post({ authorization: `Bearer ${await token(keyA)}` }));
      stack.la.stats.reset();
      expectJob(await post({ authorization: `Bearer ${await token(keyA, { sub: 'other' })}` }));
      expect(jwks.state.fetches - fetchesBefore).toBeLessThanOrEqual(1);
    });

    it('answers 403 FORBIDDEN to a valid token whose scope claim lacks read', async () => {
      const reply = await post({
        authorization: `Bearer ${await token(keyA, { scope: 'profile email' })}`,
      });

      expect(reply.status).toBe(403);
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(stack.la.stats.calls()).toBe(0);
    });

    it('refuses an expired token', async () => {
      expectUnauthenticated(
        await post({ authorization: `Bearer ${await token(keyA, { expiresIn: -60 })}` }),
        /has expired/,
      );
    });

    it('refuses a token for another audience', async () => {
      expectUnauthenticated(
        await post({ authorization: `Bearer ${await token(keyA, { aud: 'another-api' })}` }),
        /meant for another API: its audience \(aud\) is wrong/,
      );
    });

    it('refuses a token from another issuer', async () => {
      expectUnauthenticated(
        await post({
          authorization: `Bearer ${await token(keyA, { iss: 'https://evil.example.test/' })}`,
        }),
        /issuer \(iss\) this API does not trust/,
      );
    });

    it('refuses a token signed with a key id the key set does not have', async () => {
      const unknown = { ...stranger, kid: 'key-zzz' };
      expectUnauthenticated(
        await post({ authorization: `Bearer ${await token(unknown)}` }),
        /signed with a key \(kid\) that is not in the identity provider's key set/,
      );
    });

    it('refuses a token whose signature does not match the key of its kid', async () => {
      // `stranger` claims kid key-a but holds another private key.
      expectUnauthenticated(
        await post({ authorization: `Bearer ${await token(stranger)}` }),
        /signature does not verify/,
      );
    });

    // Both are refused by the algorithm allow-list, before any key is looked at; without it,
    // jose would refuse them later, as "malformed", and a key set holding a symmetric key would
    // verify an HS256 token.
    it('refuses an unsigned token (alg none) by its algorithm', async () => {
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const payload = Buffer.from(
        JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'x', scope: 'read write', exp: 9e9 }),
      ).toString('base64url');
      expectUnauthenticated(
        await post({ authorization: `Bearer ${header}.${payload}.c2ln` }),
        /^The token's signature algorithm is not accepted\.$/,
      );
    });

    it('refuses an HS256 token signed with the public key (algorithm confusion) by its algorithm', async () => {
      const publicJwk = JSON.stringify(keyA.jwk);
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ scope: 'read write' })
        .setProtectedHeader({ alg: 'HS256', kid: keyA.kid })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('attacker')
        .setExpirationTime(now + 300)
        .sign(new TextEncoder().encode(publicJwk));
      expectUnauthenticated(
        await post({ authorization: `Bearer ${forged}` }),
        /^The token's signature algorithm is not accepted\.$/,
      );
    });

    it("keeps the fast path's answers per scope: a token of the same subject without read gets 403, never the stored answer", async () => {
      const gateway = await stack.gateway({
        JWT_JWKS_URL: jwks.url,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024),
      });
      const target = await gateway.listen();
      const finished = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
      if (finished === undefined) throw new Error('no finished job');
      const ask = async (scope: string) => {
        const response = await fetch(`${target.url}/graphql`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${await token(keyA, { sub: 'same-user', scope })}`,
          },
          body: JSON.stringify({
            query: JOB_QUERY,
            variables: { a: finished.appId, b: finished.branchName, j: finished.jobId },
          }),
        });
        return { status: response.status, body: await response.text() };
      };

      const first = await ask('read');
      expect(first.status).toBe(200);
      expect(await ask('read')).toEqual(first);
      // Answered from the fast path the second time: one call in all.
      expect(stack.la.stats.calls('GetJob')).toBe(1);

      const unscoped = await ask('');
      expect(unscoped.status).toBe(403);
      expect(unscoped.body).toContain('FORBIDDEN');
      expect(stack.la.stats.calls('GetJob')).toBe(1);
    });

    it('follows a key rotation: the new key is fetched on its first token, the retired one refused', async () => {
      expectJob(await post({ authorization: `Bearer ${await token(keyA)}` }));
      jwks.state.keys = [keyB];
      const fetchesBefore = jwks.state.fetches;

      stack.la.stats.reset();
      expectJob(await post({ authorization: `Bearer ${await token(keyB)}` }));
      expect(jwks.state.fetches - fetchesBefore).toBe(1);
      stack.la.stats.reset();
      expectUnauthenticated(
        await post({ authorization: `Bearer ${await token(keyA)}` }),
        /key \(kid\) that is not in the identity provider's key set/,
      );
      jwks.state.keys = [keyA];
    });

    it('answers 503, retryable, when the key set cannot be fetched', async () => {
      const down = await startJwks([keyA]);
      down.state.failing = true;
      const gateway = await stack.gateway({
        JWT_JWKS_URL: down.url,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
      });
      try {
        const reply = await post(
          { authorization: `Bearer ${await token(keyA)}` },
          JOB_QUERY,
          await gateway.listen(),
        );
        expect(reply.status).toBe(503);
        expect(reply.body.errors?.[0]?.extensions).toEqual({
          code: 'UNAUTHENTICATED',
          retryable: true,
        });
        expect(reply.body.errors?.[0]?.message).not.toContain('127.0.0.1');
        expect(stack.la.stats.calls()).toBe(0);
      } finally {
        await down.close();
      }
    });
  });

  it('requires the router secret as well when one is set, then the API key', async () => {
    const secret = 'router-secret-0123456789abcdef';
    const gateway = await stack.gateway({ API_KEYS, ROUTER_SECRET: secret });
    const target = await gateway.listen();

    expectUnauthenticated(
      await post({ 'x-api-key': READ_KEY }, JOB_QUERY, target),
      /x-router-secret/,
    );
    expectUnauthenticated(await post({ 'x-router-secret': secret }, JOB_QUERY, target), /Missing/);
    expectJob(await post({ 'x-router-secret': secret, 'x-api-key': READ_KEY }, JOB_QUERY, target));
  });

  it('keeps /health, /ready and /metrics open without credentials', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
    }
  });

  it("answers a browser's CORS preflight without credentials, allowing the credential headers", async () => {
    const origin = 'https://dashboard.example.com';
    const gateway = await stack.gateway({ API_KEYS, CORS_ORIGINS: origin });
    const target = await gateway.listen();
    const preflight = await fetch(`${target.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key,authorization',
      },
    });

    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-api-key/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('serves the GraphiQL page without credentials, but runs nothing without them', async () => {
    const gateway = await stack.gateway({ API_KEYS, GRAPHIQL: 'true' });
    const target = await gateway.listen();
    const page = await fetch(`${target.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);

    const query = encodeURIComponent('{ __typename }');
    const run = await fetch(`${target.url}/graphql?query=${query}`, {
      headers: { accept: 'application/json' },
    });
    expect(run.status).toBe(401);
  });

  it("logs who each request came from: the key id or the token's issuer and subject", async () => {
    logLines.length = 0;
    await post({ 'x-api-key': READ_KEY });
    await post({ authorization: `Bearer ${await token(keyA, { sub: 'user-7' })}` });

    const callers = logLines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => (JSON.parse(line) as { caller?: string }).caller);
    expect(callers).toEqual(['key:dashboard', `jwt:${ISSUER} user-7`]);
  });

  it('never writes a key or a token into the log', async () => {
    const jwt = await token(keyA);
    await post({ authorization: `Bearer ${jwt}` });
    await post({ 'x-api-key': READ_KEY });
    await post({ 'x-api-key': `${WRITE_KEY}-wrong` });

    const log = logLines.join('');
    expect(log).toMatch(/request refused/);
    for (const secret of [READ_KEY, WRITE_KEY, jwt, jwt.split('.')[2] ?? '']) {
      expect(log).not.toContain(secret);
    }
  });
});
