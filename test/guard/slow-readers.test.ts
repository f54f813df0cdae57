/**
 * GraphiQL's page and clients that do not read, over real HTTP. The page is about 9 MB: it is
 * rendered once and every request gets the same bytes, so connections that never read it hold no
 * copy each (a handful of them exhausted the container's 128 MiB heap when each request rendered
 * its own); and a connection whose response has not been read within RESPONSE_DRAIN_TIMEOUT_MS
 * is closed.
 *
 * Memory is measured in this process (the server's), after a full garbage collection, as heap
 * plus external memory (Buffers): bounded by one page, not one page per connection.
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { type Stack, startStack } from '../support/stack.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function memory(): number {
  collectGarbage();
  collectGarbage();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

const MB = 1024 * 1024;

/** Sends a browser's GET for the page (no compression, so the most bytes) and never reads. */
function stalledBrowser(server: RunningServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      socket.pause();
      socket.write(
        'GET /graphql HTTP/1.1\r\nHost: gateway.test\r\nAccept: text/html\r\nAccept-Encoding: identity\r\n\r\n',
      );
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

/** Resolves once the server has written `count` more responses in full (not necessarily read). */
function written(server: RunningServer, count: number): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    const onRequest = (_req: unknown, res: NodeJS.EventEmitter) => {
      res.once('prefinish', () => {
        left -= 1;
        if (left === 0) {
          server.server.off('request', onRequest);
          resolve();
        }
      });
    };
    server.server.on('request', onRequest);
  });
}

/** Resolves once `count` more requests have arrived and each has begun its answer. */
async function answering(server: RunningServer, count: number, act: () => Promise<void>) {
  const responses: Array<{ headersSent: boolean }> = [];
  const onRequest = (_req: unknown, res: { headersSent: boolean }) => responses.push(res);
  server.server.on('request', onRequest);
  try {
    await act();
    await vi.waitFor(
      () => {
        expect(responses).toHaveLength(count);
        expect(responses.every((res) => res.headersSent)).toBe(true);
      },
      { timeout: 20_000, interval: 20 },
    );
  } finally {
    server.server.off('request', onRequest);
  }
}

function connections(server: RunningServer): Promise<number> {
  return new Promise((resolve, reject) =>
    server.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

describe("GraphiQL's page", () => {
  let stack: Stack;
  let server: RunningServer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack({
      // No drain timeout here: the connections stay open while memory is measured.
      env: { GRAPHIQL: 'true', API_KEYS: '', RESPONSE_DRAIN_TIMEOUT_MS: '0' },
    });
    server = await stack.listen();
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
  });
  afterAll(() => stack?.close());

  it('is cacheable, compressed for browsers that accept it, and answers 304 to its ETag', async () => {
    const plain = await fetch(`${server.url}/graphql`, {
      headers: { accept: 'text/html', 'accept-encoding': 'identity' },
    });
    const html = await plain.text();
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(plain.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(Number(plain.headers.get('content-length'))).toBeGreaterThan(5 * MB);
    expect(html).toContain('query Explore {\\n  apps(first: 3) {');
    const etag = plain.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);

    const compressed = await fetch(`${server.url}/graphql`, {
      headers: { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(compressed.headers.get('content-encoding')).toBe('gzip');
    expect(Number(compressed.headers.get('content-length'))).toBeLessThan(html.length / 2);
    expect(await compressed.text()).toBe(html);

    const revalidated = await fetch(`${server.url}/graphql`, {
      headers: { accept: 'text/html', 'if-none-match': etag ?? '' },
    });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');
  });

  it('costs one page of memory however many connections ask for it and never read it', async () => {
    // Rendered (and compressed) by a first, complete read.
    await (
      await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } })
    ).arrayBuffer();
    const before = memory();

    await answering(server, 4, async () => {
      for (let i = 0; i < 4; i += 1) sockets.push(await stalledBrowser(server));
    });
    const grown = memory() - before;

    // All four are still open, their responses not taken: each would hold a 9 MB page of its
    // own if it had been rendered per request (36 MB in all).
    expect(await connections(server)).toBeGreaterThanOrEqual(4);
    expect(grown).toBeLessThan(4 * MB);
  });
});

describe('a client that stops reading', () => {
  let stack: Stack;
  let server: RunningServer;

  beforeAll(async () => {
    stack = await startStack({
      env: { GRAPHIQL: 'true', RESPONSE_DRAIN_TIMEOUT_MS: '300' },
    });
    server = await stack.listen();
  });
  afterAll(() => stack?.close());

  it('has its connection closed once its response has waited RESPONSE_DRAIN_TIMEOUT_MS', async () => {
    const stalled = written(server, 1);
    const socket = await stalledBrowser(server);
    try {
      await stalled;
      // Nine megabytes do not fit in the loopback's socket buffers: the response is pending.
      expect(await connections(server)).toBe(1);
      await vi.waitFor(async () => expect(await connections(server)).toBe(0), {
        timeout: 10_000,
        interval: 50,
      });
    } finally {
      socket.destroy();
    }
  });

  it('leaves a client that reads alone: the whole page arrives', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      headers: { accept: 'text/html', 'accept-encoding': 'identity' },
    });
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(Number(response.headers.get('content-length')));
    expect(body.toString('utf8')).toMatch(/<\/html>\s*$/);
  });
});
