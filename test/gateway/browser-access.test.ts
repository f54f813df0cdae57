/**
 * Browser-origin safety over real HTTP: CORS answers only the origins in CORS_ORIGINS (never
 * `Origin: null`), says `Vary: Origin`, and requests a page could send without a preflight do not
 * execute operations unless they carry a CSRF header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { type Gateway, type Stack, startStack } from '../support/stack.js';

const A = 'https://a.example';
const B = 'https://b.example';
const QUERY = '{ __typename }';

/** Every `Access-Control-Allow-*` header of a response. */
function allowHeaders(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name.startsWith('access-control-allow-')) found[name] = value;
  });
  return found;
}

function varyOrigin(response: Response): boolean {
  return (response.headers.get('vary') ?? '').split(',').some((v) => v.trim() === 'Origin');
}

describe('CORS with a list of origins', () => {
  let stack: Stack;
  let server: RunningServer;
  let single: RunningServer;

  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ORIGINS: `${A},${B}` } });
    server = await stack.listen();
    single = await (await stack.gateway({ CORS_ORIGINS: A })).listen();
  });
  afterAll(() => stack?.close());

  const post = (target: RunningServer, headers: Record<string, string>) =>
    fetch(`${target.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: QUERY }),
    });
  const preflight = (target: RunningServer, origin: string) =>
    fetch(`${target.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it.each([A, B])('names a listed origin (%s) and varies on Origin', async (origin) => {
    const response = await post(server, { origin });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(varyOrigin(response)).toBe(true);
  });

  it.each([
    ['Origin: null (a sandboxed iframe)', 'null'],
    ['an unlisted origin', 'https://evil.example'],
    ['a listed origin with another scheme', 'http://a.example'],
    ['a listed origin with a path-like suffix', `${A}.evil.example`],
  ])(
    'sends no Access-Control-Allow-* header at all for %s, and still varies on Origin',
    async (_name, origin) => {
      const response = await post(server, { origin });
      expect(allowHeaders(response)).toEqual({});
      expect(varyOrigin(response)).toBe(true);
    },
  );

  it('varies on Origin when the request has none', async () => {
    const response = await post(server, {});
    expect(allowHeaders(response)).toEqual({});
    expect(varyOrigin(response)).toBe(true);
  });

  it('answers a preflight from a listed origin with the methods and headers a page may use', async () => {
    const response = await preflight(server, A);
    expect(response.status).toBe(204);
    expect(allowHeaders(response)).toMatchObject({
      'access-control-allow-origin': A,
      'access-control-allow-methods': 'GET, POST',
    });
    const headers = (response.headers.get('access-control-allow-headers') ?? '').split(', ');
    expect(headers).toEqual(expect.arrayContaining(['content-type', 'graphql-require-preflight']));
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(varyOrigin(response)).toBe(true);
  });

  it.each(['null', 'https://evil.example'])(
    'answers a preflight from %s without any Access-Control-Allow-* header',
    async (origin) => {
      const response = await preflight(server, origin);
      expect(allowHeaders(response)).toEqual({});
      expect(varyOrigin(response)).toBe(true);
    },
  );

  it('with one listed origin, names it only to that origin', async () => {
    const listed = await post(single, { origin: A });
    expect(listed.headers.get('access-control-allow-origin')).toBe(A);
    const other = await post(single, { origin: B });
    expect(allowHeaders(other)).toEqual({});
    const sandboxed = await post(single, { origin: 'null' });
    expect(allowHeaders(sandboxed)).toEqual({});
    expect(varyOrigin(other)).toBe(true);
  });
});

describe('CORS off and CORS for any origin', () => {
  let stack: Stack;
  let any: Gateway;

  beforeAll(async () => {
    stack = await startStack();
    any = await stack.gateway({ CORS_ORIGINS: '*' });
  });
  afterAll(() => stack?.close());

  it('sends no CORS headers when CORS_ORIGINS is empty', async () => {
    const server = await stack.listen();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: A },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(response.status).toBe(200);
    expect(allowHeaders(response)).toEqual({});
  });

  it('answers a cross-origin preflight with 204 and no Access-Control-Allow-* header when CORS is off', async () => {
    const server = await stack.listen();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: A,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(allowHeaders(response)).toEqual({});
    expect(await response.text()).toBe('');
  });

  it('allows any origin with *, and varies on Origin', async () => {
    const server = await any.listen();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://anyone.example' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://anyone.example');
    expect(varyOrigin(response)).toBe(true);
  });
});

describe('CSRF prevention', () => {
  let stack: Stack;
  let server: RunningServer;
  let jobQuery: string;

  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ORIGINS: A, GRAPHIQL: 'true' } });
    server = await stack.listen();
    const [job] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
    if (!job) throw new Error('no job');
    jobQuery = `{ job(appId: "${job.appId}", branchName: "${job.branchName}", jobId: "${job.jobId}") { jobId } }`;
  });
  afterAll(() => stack?.close());

  it.each([
    [
      'an urlencoded form',
      'application/x-www-form-urlencoded',
      () => `query=${encodeURIComponent(jobQuery)}`,
    ],
    [
      'a multipart form',
      'multipart/form-data; boundary=x',
      () =>
        `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: jobQuery })}\r\n--x--\r\n`,
    ],
    ['a text/plain body', 'text/plain', () => JSON.stringify({ query: jobQuery })],
    [
      'a text/plain body with a charset',
      'text/plain;charset=UTF-8',
      () => JSON.stringify({ query: jobQuery }),
    ],
  ])('refuses %s sent without a preflight, before any upstream call', async (_name, type, body) => {
    stack.la.stats.reset();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': type, origin: 'https://evil.example', accept: 'application/json' },
      body: body(),
    });
    expect(response.status).toBe(403);
    const reply = (await response.json()) as {
      data?: unknown;
      errors: Array<{ extensions: { code: string } }>;
    };
    expect(reply.data).toBeUndefined();
    expect(reply.errors[0]?.extensions.code).toBe('CSRF_PREVENTED');
    expect(stack.la.stats.calls()).toBe(0);
  });

  it('refuses a GET without a CSRF header, and serves it with one', async () => {
    const url = `${server.url}/graphql?query=${encodeURIComponent(QUERY)}`;
    const bare = await fetch(url, { headers: { accept: 'application/json' } });
    expect(bare.status).toBe(403);
    const marked = await fetch(url, {
      headers: { accept: 'application/json', 'graphql-require-preflight': '1' },
    });
    expect(marked.status).toBe(200);
    expect(await marked.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('serves a form-like POST that carries a CSRF header (a page can only set it after a preflight)', async () => {
    const form = new URLSearchParams({ query: QUERY });
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'apollo-require-preflight': 'true',
        accept: 'application/json',
      },
      body: form.toString(),
    });
    expect(response.status).toBe(200);
  });

  it('serves JSON POSTs as before, and GraphiQL to browsers', async () => {
    const json = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: jobQuery }),
    });
    expect(json.status).toBe(200);
    expect(((await json.json()) as { errors?: unknown }).errors).toBeUndefined();
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
