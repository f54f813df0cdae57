/**
 * Cache-Control, ETag and 304 on GraphQL answers, over real HTTP: what browsers, CDNs and the
 * Apollo Router's response cache see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentifyCaller } from '../../src/http/response-cache.js';
import type { RunningServer } from '../../src/http/server.js';
import type { JobKeyInfo } from '../../src/local-amplify/index.js';
import { type Stack, startStack } from '../support/stack.js';

const QUERY =
  'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId summary { status } } }';
const TWO_JOBS =
  'query($a: ID!, $b: String!, $j: ID!, $c: ID!, $d: String!, $k: ID!) { x: job(appId: $a, branchName: $b, jobId: $j) { jobId } y: job(appId: $c, branchName: $d, jobId: $k) { jobId } }';

const vars = (job: JobKeyInfo) => ({ a: job.appId, b: job.branchName, j: job.jobId });

/** `authorization: Bearer <name>` names an authenticated caller; no header is anonymous. */
const byBearer: IdentifyCaller = (req) => {
  const token = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '')?.[1];
  return token === undefined
    ? { principal: 'anonymous', authenticated: false }
    : { principal: `user:${token}`, authenticated: true };
};

describe('HTTP caching headers', () => {
  let stack: Stack;
  let server: RunningServer;
  let finished: JobKeyInfo;
  let running: JobKeyInfo;

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const get = (query: string, variables: unknown, headers: Record<string, string> = {}) =>
    fetch(
      `${server.url}/graphql?${new URLSearchParams({ query, variables: JSON.stringify(variables) })}`,
      // A GET needs a CSRF header (browser-access.ts).
      { headers: { accept: 'application/json', 'graphql-require-preflight': '1', ...headers } },
    );

  beforeAll(async () => {
    stack = await startStack({
      env: { CACHE_MAX_ENTRIES: '1000', RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024) },
      identify: byBearer,
    });
    server = await stack.listen();
    const succeeded = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    const going = stack.la.world.listJobKeys({ status: 'RUNNING' })[0];
    if (!succeeded || !going) throw new Error('the demo world lacks a SUCCEED or RUNNING job');
    finished = succeeded;
    running = going;
  });
  afterAll(() => stack.close());

  it('marks an answer read only from finished jobs public and long-lived', async () => {
    const response = await post({ query: QUERY, variables: vars(finished) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    expect(response.headers.get('vary')).toMatch(/accept/i);
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
  });

  it('marks the same answer private when the caller is authenticated', async () => {
    const response = await post(
      { query: QUERY, variables: vars(finished) },
      { authorization: 'Bearer alice' },
    );
    expect(response.headers.get('cache-control')).toBe('private, max-age=86400, immutable');
  });

  it('says no-store when a job is still going, alone or beside a finished one', async () => {
    const alone = await post({ query: QUERY, variables: vars(running) });
    expect(alone.headers.get('cache-control')).toBe('no-store');
    const mixed = await post({
      query: TWO_JOBS,
      variables: { ...vars(finished), c: running.appId, d: running.branchName, k: running.jobId },
    });
    expect(((await mixed.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(mixed.headers.get('cache-control')).toBe('no-store');
  });

  it('says no-store on errors: NOT_FOUND, a bad argument, an invalid query', async () => {
    const notFound = await post({ query: QUERY, variables: { ...vars(finished), j: '999999' } });
    expect(((await notFound.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    expect(notFound.headers.get('cache-control')).toBe('no-store');
    const badInput = await post({
      query: QUERY,
      variables: { ...vars(finished), a: 'NOT-AN-APP' },
    });
    expect(badInput.headers.get('cache-control')).toBe('no-store');
    const invalid = await post({ query: '{ job { nope } }' });
    expect(invalid.headers.get('cache-control')).toBe('no-store');
    // A finished job beside a failed field: the answer holds an error, so it is not kept.
    const partial = await post({
      query: TWO_JOBS,
      variables: { ...vars(finished), c: finished.appId, d: finished.branchName, k: '999999' },
    });
    expect(partial.status).toBe(200);
    expect(partial.headers.get('cache-control')).toBe('no-store');
  });

  it("keeps a finished job's step logs cacheable, and says no-store on apps, branches and lists", async () => {
    const logs =
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { steps { log(tailLines: 2) { text } } } }';
    const withLogs = await post({ query: logs, variables: vars(finished) });
    expect(((await withLogs.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(withLogs.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    const runningLogs = await post({ query: logs, variables: vars(running) });
    expect(runningLogs.headers.get('cache-control')).toBe('no-store');

    const app = await post({
      query: 'query($a: ID!) { app(appId: $a) { name } }',
      variables: { a: finished.appId },
    });
    expect(((await app.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(app.headers.get('cache-control')).toBe('no-store');
    const page = await post({
      query:
        'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { jobId } branch(appId: $a, branchName: $b) { jobs(first: 2) { nodes { jobId } } } }',
      variables: vars(finished),
    });
    expect(((await page.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('says no-store on an answer that read nothing from Amplify', async () => {
    const response = await post({ query: '{ __typename }' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('gives GET answers an ETag and answers a matching If-None-Match with 304', async () => {
    const first = await get(QUERY, vars(finished));
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const body = await first.text();

    const again = await get(QUERY, vars(finished), { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toBe('public, max-age=86400, immutable');

    const weakList = await get(QUERY, vars(finished), { 'if-none-match': `"other", W/${etag}` });
    expect(weakList.status).toBe(304);
    const stale = await get(QUERY, vars(finished), { 'if-none-match': '"something-else"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(body);
    expect(stale.headers.get('etag')).toBe(etag);
  });

  it('gives a running job over GET an ETag too, with no-store, and a different one when it changes', async () => {
    const first = await get(QUERY, vars(running));
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const etag = first.headers.get('etag');
    expect(etag).not.toBeNull();
    const unchanged = await get(QUERY, vars(running), { 'if-none-match': etag! });
    expect(unchanged.status).toBe(304);
    // Another job's answer has another tag.
    const other = stack.la.world.listJobKeys({ status: 'RUNNING' })[1];
    if (other === undefined) throw new Error('the demo world has only one RUNNING job');
    const changed = await get(QUERY, vars(other), { 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('gives POST answers no ETag', async () => {
    const response = await post({ query: QUERY, variables: vars(finished) });
    expect(response.headers.get('etag')).toBeNull();
  });

  it('keeps durations of a finished job cacheable, and says no-store on one still counting', async () => {
    const withDurations =
      'query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { durationSeconds steps { stepName durationSeconds } } }';
    const done = await post({ query: withDurations, variables: vars(finished) });
    const body = (await done.json()) as { data: { job: { durationSeconds: number } } };
    expect(body.data.job.durationSeconds).toBeGreaterThan(0);
    expect(done.headers.get('cache-control')).toBe('public, max-age=86400, immutable');

    // A finished job whose step Amplify left running without an end (the local Amplify has no
    // such job: this gateway's upstream changes one answer): that step's duration counts up.
    const odd = await stack.gateway(
      { CACHE_MAX_ENTRIES: '1000', RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024) },
      {
        wrap: (upstream) => ({
          ...upstream,
          getJob: async (key) => {
            const job = await upstream.getJob(key);
            const [first, ...rest] = job.steps;
            if (first === undefined) return job;
            return { ...job, steps: [{ ...first, status: 'RUNNING', endTime: null }, ...rest] };
          },
        }),
      },
    );
    const reply = await odd.post({ query: withDurations, variables: vars(finished) });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const unchanged = await odd.post({ query: QUERY, variables: vars(finished) });
    expect(unchanged.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
  });

  it('says no-store on everything with CACHE_CONTROL_MAX_AGE_S=0', async () => {
    const quiet = await stack.gateway({ CACHE_CONTROL_MAX_AGE_S: '0' });
    const reply = await quiet.post({ query: QUERY, variables: vars(finished) });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.headers.get('cache-control')).toBe('no-store');
  });
});
