/**
 * The HTTP edge in front of Yoga, over real sockets: only /graphql (and the EventBridge receiver)
 * go further; a Host or target that makes no URL is a 400, never a 500 with a stack trace; a slow
 * sender is cut at REQUEST_TIMEOUT_MS; media types ignore case; edge errors come in the media type
 * the client accepts; request errors are logged at debug; a client leaving mid-upload is no
 * warning; and out-of-range arguments anywhere in an operation are refused before any call.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { edgeAnswersJson } from '../../src/http/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { until } from '../support/live.js';
import { type Stack, startStack } from '../support/stack.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** Sends raw bytes and collects what comes back until the server closes or `ms` pass. */
function raw(
  port: number,
  request: string,
  options: { ms?: number; destroyAfterWrite?: boolean } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
    }, options.ms ?? 5_000);
    socket.on('data', (chunk) => {
      text += chunk.toString();
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(request, () => {
      if (options.destroyAfterWrite) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closedByServer: false });
      }
    });
  });
}

function lineSink(lines: Array<Record<string, unknown>>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

const JOB = `query($a: ID!, $b: String!, $j: ID!) { job(appId: $a, branchName: $b, jobId: $j) { summary { status } } }`;

describe('the HTTP edge', () => {
  it('answers a Host or target that makes no URL with 400 (no stack trace), unknown paths with 404, and keeps serving', async () => {
    stack = await startStack();
    const { port, url } = await stack.listen();
    const before = stack.la.stats.calls('GetJob');

    const badHost = await raw(
      port,
      'POST /graphql HTTP/1.1\r\nHost: [bad\r\ncontent-type: application/json\r\ncontent-length: 24\r\n\r\n{"query":"{ __typename }"}',
    );
    expect(badHost.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(badHost.text).toContain('BAD_USER_INPUT');
    expect(badHost.text).not.toMatch(/at |node_modules|TypeError/);

    const preflightBadHost = await raw(
      port,
      'OPTIONS /graphql HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
    );
    expect(preflightBadHost.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(preflightBadHost.text).not.toContain('node_modules');

    const asterisk = await raw(
      port,
      'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(asterisk.text).toMatch(/^HTTP\/1\.1 404 /);
    const absolute = await raw(
      port,
      'GET http://evil.example/graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(absolute.text).toMatch(/^HTTP\/1\.1 404 /);

    expect(stack.la.stats.calls('GetJob')).toBe(before);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('never replays a stored answer on another path: it is not found there', async () => {
    stack = await startStack({ env: { RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024) } });
    const { url } = await stack.listen();
    const finished = stack.la.world.listJobKeys({ status: 'SUCCEED' })[0];
    if (finished === undefined) throw new Error('no finished job');
    const body = JSON.stringify({
      query: JOB,
      variables: { a: finished.appId, b: finished.branchName, j: finished.jobId },
    });
    const post = (path: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });

    expect((await post('/graphql')).status).toBe(200);
    expect((await post('/graphql')).headers.get('cache-control')).toContain('immutable');
    for (const path of ['/nope', '/graphql/', '/GRAPHQL', '//graphql', '/events/amplifyX']) {
      const answer = await post(path);
      expect({ path, status: answer.status }).toEqual({ path, status: 404 });
      expect(answer.headers.get('cache-control')).toBe('no-store');
    }
    expect(stack.la.stats.calls('GetJob')).toBe(1);
  });

  it('reads a Content-Type in any letter case', async () => {
    stack = await startStack();
    const { url } = await stack.listen();
    const answer = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'Application/JSON; charset=UTF-8' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it("answers the edge's own errors (401, 413) in the media type the client accepts", async () => {
    stack = await startStack({
      env: { API_KEYS: `k:read:${'0'.repeat(64)}`, MAX_BODY_BYTES: '1024' },
    });
    const { url } = await stack.listen();
    const ask = (accept: string | null, body = '{"query":"{ __typename }"}') =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
        body,
      });
    const modern = await ask('application/graphql-response+json, application/json;q=0.9');
    expect(modern.status).toBe(401);
    expect(modern.headers.get('content-type')).toBe(
      'application/graphql-response+json; charset=utf-8',
    );
    expect((await modern.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const legacy = await ask('application/json');
    expect(legacy.status).toBe(401);
    expect(legacy.headers.get('content-type')).toBe('application/json; charset=utf-8');
    // No Accept header: the GraphQL-over-HTTP media type, as Yoga answers its own errors.
    const bare = await ask(null);
    expect(bare.headers.get('content-type')).toBe(
      'application/graphql-response+json; charset=utf-8',
    );
    const large = await ask('application/graphql-response+json', `{"query":"${'x'.repeat(2000)}"}`);
    expect(large.status).toBe(413);
    expect(large.headers.get('content-type')).toBe(
      'application/graphql-response+json; charset=utf-8',
    );
  });

  it('picks the media type of an edge error as Yoga picks its own, and skips what q=0 refuses', async () => {
    stack = await startStack();
    const yoga = stack;
    const edge = await stack.gateway({ API_KEYS: `k:read:${'0'.repeat(64)}` });
    const [yogaUrl, edgeUrl] = [(await yoga.listen()).url, (await edge.listen()).url];
    const typeOf = async (url: string, accept: string) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        // Not valid against the schema: Yoga answers an error too (the edge refuses first).
        body: '{"query":"{ nope }"}',
      });
      return response.headers.get('content-type');
    };
    for (const accept of [
      'application/json, application/graphql-response+json',
      'application/graphql-response+json, application/json',
      'application/graphql-response+json;q=0.5, application/json',
      'application/*',
      '*/*',
      'text/html;q=0.9, application/json',
      'APPLICATION/JSON',
    ]) {
      expect(await typeOf(edgeUrl, accept), accept).toBe(await typeOf(yogaUrl, accept));
    }
    expect(edgeAnswersJson('application/json;q=0, application/graphql-response+json')).toBe(false);
    expect(edgeAnswersJson('application/graphql-response+json;q=0, application/json')).toBe(true);
    expect(edgeAnswersJson('text/html')).toBe(false);
    expect(edgeAnswersJson(undefined)).toBe(false);
  });

  it('cuts a client that sends its body too slowly at REQUEST_TIMEOUT_MS, with 408', async () => {
    stack = await startStack({ env: { REQUEST_TIMEOUT_MS: '1000' } });
    const { port, url } = await stack.listen();
    const slow = await raw(
      port,
      'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"q',
      { ms: 10_000 },
    );
    expect(slow.closedByServer).toBe(true);
    expect(slow.text).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('logs request errors at debug with the request id, and a client leaving mid-upload at debug only', async () => {
    const lines: Array<Record<string, unknown>> = [];
    // The fast path reads the body itself (the cache on): an upload cut short ends there.
    stack = await startStack({
      env: { RESPONSE_CACHE_MAX_BYTES: String(1024 * 1024) },
      log: createLogger('debug', lineSink(lines)),
    });
    const { port, url } = await stack.listen();
    const post = (query: string) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `req-${query.length}` },
        body: JSON.stringify({ query }),
      });
    expect((await post('{ ')).status).toBe(400);
    expect((await post('{ nope }')).status).toBe(400);
    const codes = lines.filter((l) => l.level === 20 && typeof l.code === 'string');
    expect(codes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED', reqId: 'req-2' }),
        expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED', reqId: 'req-8' }),
      ]),
    );

    await raw(
      port,
      'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"q',
      { destroyAfterWrite: true },
    );
    await until(() => lines.some((l) => l.msg === 'client went away'), 'the debug line');
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('refuses out-of-range tailLines and first anywhere in an operation before any Amplify call', async () => {
    stack = await startStack();
    const [job] = stack.la.world.listJobKeys({ status: 'SUCCEED' });
    if (job === undefined) throw new Error('no finished job');
    const calls = () => stack!.la.stats.calls('GetJob') + stack!.la.stats.calls('ListJobs');
    const before = calls();
    const nestedTail = await stack.graphql(
      `query($a: ID!, $b: String!) { branch(appId: $a, branchName: $b) { jobs(first: 1) { nodes { steps { log(tailLines: 200000) { text } } } } } }`,
      { a: job.appId, b: job.branchName },
    );
    expect(nestedTail.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^tailLines must be from 1 to 100000 \(got 200000\)\./),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(nestedTail.data).toBeUndefined();
    const nestedFirst = await stack.graphql(
      `query($a: ID!, $b: String!) { branch(appId: $a, branchName: $b) { jobs(first: 101) { nodes { jobId } } } }`,
      { a: job.appId, b: job.branchName },
    );
    expect(nestedFirst.errors?.[0]?.message).toMatch(
      /^first must be from 1 to \d+ for Branch\.jobs/,
    );
    expect(calls()).toBe(before);
  });
});
