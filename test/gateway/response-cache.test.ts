/**
 * The immutable-response fast path at the HTTP edge, over real HTTP. The cache of Amplify answers
 * is off here (CACHE_MAX_ENTRIES=0), so a request that does reach GraphQL costs a GetJob: zero
 * calls means the answer came from the fast path.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CacheEvent } from '../../src/http/app.js';
import type { IdentifyCaller } from '../../src/http/response-cache.js';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';
const SECRET = 'router-secret-for-the-fast-path-0001';

const vars = (job: JobKeyInfo) => ({ a: job.appId, b: job.branchName, j: job.jobId });

/** `authorization: Bearer <name>` names a caller; `Bearer nobody` keeps the request uncached. */
const byBearer: IdentifyCaller = async (req) => {
  const token = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (token === 'nobody') return null;
  return token === undefined
    ? { principal: 'anonymous', authenticated: false }
    : { principal: `user:${token}`, authenticated: true };
};

describe('the immutable-response fast path', () => {
  let stack: Stack;
  let server: RunningServer;
  let finished: JobKeyInfo[];
  let running: JobKeyInfo;
  const events: CacheEvent[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const responseEvents = (outcome: string) =>
    events.filter((e) => e.cache === 'response' && e.outcome === outcome).length;

  const post = (
    body: unknown,
    headers: Record<string, string> = {},
    target: RunningServer = server,
  ) =>
    fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-router-secret': SECRET, ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    stack = await startStack({
      log: pino({ level: 'info' }, sink),
      env: {
        CACHE_MAX_ENTRIES: '0',
        RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024),
        ROUTER_SECRET: SECRET,
      },
      identify: byBearer,
      onCacheEvent: (event) => events.push(event),
    });
    server = await stack.listen();
    finished = stack.la.world.listJobKeys({ status: 'SUCCEED' }).slice(0, 5);
    const going = stack.la.world.listJobKeys({ status: 'RUNNING' })[0];
    if (finished.length < 5 || going === undefined) throw new Error('the demo world lacks jobs');
    running = going;
  });
  afterEach(() => {
    stack.la.stats.reset();
    events.length = 0;
  });
  afterAll(() => stack.close());

  it('replays a finished job answer without running GraphQL, byte for byte', async () => {
    const job = finished[0]!;
    const first = await post({ query: QUERY, variables: vars(job) });
    const firstBody = await first.text();
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(responseEvents('store')).toBe(1);

    const second = await post({ query: QUERY, variables: vars(job) });
    expect(await second.text()).toBe(firstBody);
    expect(second.status).toBe(200);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(second.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    // Each answer keeps its own request id.
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(responseEvents('hit')).toBe(1);
    // The answer from memory is logged like any other request, and marked.
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        reqId: second.headers.get('x-request-id'),
        method: 'POST',
        path: '/graphql',
        status: 200,
        cache: 'hit',
      }),
    );
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('never serves a running job from it, nor an answer that read one', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await post({ query: QUERY, variables: vars(running) });
      expect(((await response.json()) as { data: unknown }).data).toEqual({
        job: { jobId: running.jobId, summary: { status: 'RUNNING' } },
      });
    }
    expect(stack.la.stats.calls('GetJob')).toBe(3);
    expect(responseEvents('hit')).toBe(0);
    expect(responseEvents('store')).toBe(0);

    const both =
      'query($a: ID!, $b: String!, $j: ID!, $c: ID!, $d: String!, $k: ID!) { x: job(appId: $a, branchName: $b, jobId: $j) { jobId } y: job(appId: $c, branchName: $d, jobId: $k) { jobId } }';
    const variables = {
      ...vars(finished[1]!),
      c: running.appId,
      d: running.branchName,
      k: running.jobId,
    };
    await post({ query: both, variables });
    await post({ query: both, variables });
    expect(stack.la.stats.calls('GetJob')).toBe(3 + 4);
    expect(responseEvents('hit')).toBe(0);
  });

  it('never gives one caller an entry stored for another', async () => {
    const job = finished[2]!;
    const asAlice = { authorization: 'Bearer alice' };
    const asBob = { authorization: 'Bearer bob' };
    await post({ query: QUERY, variables: vars(job) }, asAlice);
    const alice = await post({ query: QUERY, variables: vars(job) }, asAlice);
    expect(alice.headers.get('cache-control')).toBe('private, max-age=86400, immutable');
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(responseEvents('hit')).toBe(1);

    // Same request, another caller: Bob's first request runs GraphQL; then Bob has his own entry.
    await post({ query: QUERY, variables: vars(job) }, asBob);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(responseEvents('hit')).toBe(1);
    await post({ query: QUERY, variables: vars(job) }, asBob);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(responseEvents('hit')).toBe(2);

    // An anonymous caller shares neither.
    const anonymous = await post({ query: QUERY, variables: vars(job) });
    expect(anonymous.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    expect(stack.la.stats.calls('GetJob')).toBe(3);
  });

  it('keeps a request out of it when the caller cannot be keyed', async () => {
    const job = finished[3]!;
    const nobody = { authorization: 'Bearer nobody' };
    await post({ query: QUERY, variables: vars(job) }, nobody);
    await post({ query: QUERY, variables: vars(job) }, nobody);
    expect(stack.la.stats.calls('GetJob')).toBe(2);
    expect(responseEvents('store')).toBe(0);
  });

  it('runs after the router secret and body-size checks', async () => {
    const job = finished[4]!;
    await post({ query: QUERY, variables: vars(job) });
    const wrongSecret = await post(
      { query: QUERY, variables: vars(job) },
      { 'x-router-secret': 'not-the-router-secret-000000' },
    );
    expect(wrongSecret.status).toBe(401);
    const tooBig = await post({ query: QUERY, variables: vars(job), pad: 'x'.repeat(200_000) });
    expect(tooBig.status).toBe(413);
    expect(responseEvents('hit')).toBe(0);
  });

  it('keys by the headers that change the answer: another Accept is another entry', async () => {
    const job = finished[0]!;
    const asJson = await post({ query: QUERY, variables: vars(job) });
    await asJson.text();
    stack.la.stats.reset();
    const accept = 'application/graphql-response+json';
    const negotiated = await post({ query: QUERY, variables: vars(job) }, { accept });
    expect(negotiated.headers.get('content-type')).toContain(accept);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    const again = await post({ query: QUERY, variables: vars(job) }, { accept });
    expect(again.headers.get('content-type')).toContain(accept);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('replays GET answers with their ETag, and 304 for a matching If-None-Match', async () => {
    const job = finished[1]!;
    const url = `${server.url}/graphql?${new URLSearchParams({ query: QUERY, variables: JSON.stringify(vars(job)) })}`;
    const headers = {
      accept: 'application/json',
      'x-router-secret': SECRET,
      'graphql-require-preflight': '1',
    };
    const first = await fetch(url, { headers });
    const etag = first.headers.get('etag');
    expect(etag).not.toBeNull();
    const replayed = await fetch(url, { headers });
    expect(replayed.headers.get('etag')).toBe(etag);
    expect(await replayed.text()).toBe(await first.text());
    const notModified = await fetch(url, { headers: { ...headers, 'if-none-match': etag! } });
    expect(notModified.status).toBe(304);
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(responseEvents('hit')).toBe(2);
    // The stored answer is keyed by the CSRF header too: without one, CSRF prevention still runs.
    const { 'graphql-require-preflight': _csrf, ...withoutCsrf } = headers;
    const refused = await fetch(url, { headers: withoutCsrf });
    expect(refused.status).toBe(403);
    expect(responseEvents('hit')).toBe(2);
  });

  it('lets a request that asks for a federated trace run GraphQL', async () => {
    const job = finished[0]!;
    const traced = await post(
      { query: QUERY, variables: vars(job) },
      { 'apollo-federation-include-trace': 'ftv1' },
    );
    const body = (await traced.json()) as { extensions?: { ftv1?: string } };
    expect(typeof body.extensions?.ftv1).toBe('string');
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(responseEvents('hit')).toBe(0);
  });

  it('stays within RESPONSE_CACHE_MAX_BYTES', async () => {
    const small: Gateway = await stack.gateway(
      {
        CACHE_MAX_ENTRIES: '0',
        RESPONSE_CACHE_MAX_BYTES: '4096',
        ROUTER_SECRET: SECRET,
      },
      { identify: byBearer },
    );
    const smallServer = await small.listen();
    // Each distinct caller stores its own entry of a few hundred bytes.
    for (let i = 0; i < 40; i++) {
      await post(
        { query: QUERY, variables: vars(finished[0]!) },
        { authorization: `Bearer u${i}` },
        smallServer,
      );
    }
    const cache = small.app.responseCache;
    expect(cache).not.toBeNull();
    expect(cache!.size).toBeGreaterThan(0);
    expect(cache!.size).toBeLessThan(40);
  });
  it('replays with the headers of the first answer and its own request id, closing when draining', async () => {
    // The default identification (the authenticated caller's principal and scopes), no `identify`.
    const other: Gateway = await stack.gateway({
      CACHE_MAX_ENTRIES: '0',
      RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024),
      ROUTER_SECRET: SECRET,
    });
    const otherServer = await other.listen();
    const body = JSON.stringify({ query: QUERY, variables: vars(finished[3]!) });
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: string[]; body: string }>((resolve, reject) => {
        const req = request(
          `${otherServer.url}/graphql`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-router-secret': SECRET, ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.rawHeaders,
                body: Buffer.concat(chunks).toString(),
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    /** `name: value` lines without Date (it moves), names lowercased. */
    const lines = (headers: string[]) => {
      const out: string[] = [];
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i]!.toLowerCase();
        if (name !== 'date') out.push(`${name}: ${headers[i + 1]}`);
      }
      return out;
    };
    const first = await raw({ 'x-request-id': 'first-1' });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    const second = await raw({ 'x-request-id': 'second-2' });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(second.status).toBe(200);
    expect(second.body).toBe(first.body);
    // The request id comes first, as the edge sets it before anything else.
    expect(lines(first.headers)[0]).toBe('x-request-id: first-1');
    expect(lines(second.headers)[0]).toBe('x-request-id: second-2');
    expect(lines(second.headers).slice(1).sort()).toEqual(lines(first.headers).slice(1).sort());
    expect(lines(second.headers)).toContain('connection: keep-alive');

    other.app.startDraining();
    const third = await raw({ 'x-request-id': 'third-3' });
    expect(stack.la.stats.calls('GetJob')).toBe(1);
    expect(third.body).toBe(first.body);
    expect(lines(third.headers).slice(0, 2)).toEqual([
      'x-request-id: third-3',
      'connection: close',
    ]);
    expect(lines(third.headers)).not.toContain('connection: keep-alive');
  });
});
