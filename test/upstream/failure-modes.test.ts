/**
 * Every way an Amplify call can fail below or around HTTP gets its own code, a `retryable` flag
 * that is true only where retrying can help, and a message naming the cause. Each mode is produced
 * for real: a closed port, a `.invalid` host name (the resolver's answer fixed), a TLS server with
 * an untrusted certificate, a stand-in that stalls, cuts its body short or answers statuses Amplify
 * never sends. The local Amplify's own faults (reset, hang, malformed, 5xx) are in
 * test/gateway/errors.test.ts.
 */

import dns from 'node:dns';
import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayError } from '../../src/errors.js';
import { toGatewayError } from '../../src/upstream/errors.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import { createGateway, testConfig } from '../support/stack.js';
import { type StandIn, type StandInAnswer, startStandIn } from '../support/stand-in.js';

const KEY = { appId: 'd1abc', branchName: 'main', jobId: '7' };
const SUBJECT = /job 7 of branch "main" in app d1abc/;

/** The GatewayError a getJob rejects with. */
async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected the call to fail');
}

function upstreamAt(endpoint: string, env: Record<string, string> = {}) {
  const config = testConfig({ UPSTREAM_MAX_ATTEMPTS: '1', ...env });
  return createSdkUpstream({
    config: config.upstream,
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' },
    onUnknownValue: () => undefined,
    onWireProblem: () => undefined,
  });
}

describe('failures below HTTP', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('names a refused connection, retryable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const upstream = upstreamAt(`http://127.0.0.1:${port}`, { UPSTREAM_MAX_ATTEMPTS: '2' });
    closers.push(() => upstream.destroy());

    const error = await failure(upstream.getJob(KEY));
    expect(error.code).toBe('UPSTREAM_CONNECTION_REFUSED');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/refused the connection/);
    expect(error.message).toMatch(SUBJECT);
    expect(error.message).not.toContain(String(port));
    expect(error.upstream).toMatchObject({ errorName: 'ECONNREFUSED', attempts: 2 });
  });

  // What the machine's resolver says about a name that does not exist varies (ENOTFOUND, or
  // EAI_AGAIN without a reachable DNS server), so the resolver is told what to answer for this one
  // host name; everything else (the SDK, the agent, the socket's own lookup call) is real.
  it.each([
    ['ENOTFOUND', 'a name that does not exist', false, /does not resolve \(ENOTFOUND\)/],
    [
      'EAI_AGAIN',
      'a resolver failing for now',
      true,
      /could not be resolved for now \(EAI_AGAIN\)/,
    ],
  ] as const)(
    'names %s (%s) as a DNS failure, retryable: %s',
    async (code, _what, retryable, message) => {
      const host = 'amplify.gateway-test.invalid';
      const realLookup = dns.lookup;
      const lookup = vi.spyOn(dns, 'lookup').mockImplementation(((
        hostname: string,
        options: unknown,
        callback: (error: NodeJS.ErrnoException | null, ...rest: unknown[]) => void,
      ) => {
        if (hostname !== host) {
          return (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
        }
        const error: NodeJS.ErrnoException = Object.assign(
          new Error(`getaddrinfo ${code} ${hostname}`),
          { code, syscall: 'getaddrinfo', hostname },
        );
        process.nextTick(() => callback(error));
      }) as unknown as typeof dns.lookup);
      closers.push(() => lookup.mockRestore());
      const upstream = upstreamAt(`http://${host}`);
      closers.push(() => upstream.destroy());

      const error = await failure(upstream.getJob(KEY));
      expect(lookup).toHaveBeenCalled();
      expect(error.code).toBe('UPSTREAM_DNS_FAILURE');
      expect(error.upstream?.errorName).toBe(code);
      expect(error.retryable).toBe(retryable);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('gateway-test.invalid');
    },
  );

  it('names a TLS handshake with an untrusted certificate, not retryable', async () => {
    const standIn = await startStandIn(() => ({ json: {} }), { tls: true });
    closers.push(() => standIn.close());

    const error = await failure(standIn.upstream().getJob(KEY));
    expect(error.code).toBe('UPSTREAM_TLS_FAILURE');
    expect(error.retryable).toBe(false);
    expect(error.upstream?.errorName).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(error.message).toMatch(/TLS handshake with Amplify's endpoint failed/);
    // The handshake failed, so the stand-in never saw a request.
    expect(standIn.requests).toEqual([]);
  });

  it('names a TLS handshake with a server that does not speak TLS, not retryable', async () => {
    const plain = createServer((socket: Socket) => {
      socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    const { port } = plain.address() as AddressInfo;
    const upstream = upstreamAt(`https://127.0.0.1:${port}`);
    closers.push(() => upstream.destroy());

    const error = await failure(upstream.getJob(KEY));
    expect(error.code).toBe('UPSTREAM_TLS_FAILURE');
    expect(error.retryable).toBe(false);
    expect(error.upstream?.errorName).toMatch(/EPROTO|ERR_SSL/);
  });

  it('names an answer that stalls after its headers as a timeout, retryable', async () => {
    const standIn = await startStandIn(() => (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"job":{"summary":');
    });
    closers.push(() => standIn.close());

    const error = await failure(
      standIn.upstream({ UPSTREAM_REQUEST_TIMEOUT_MS: '300' }).getJob(KEY),
    );
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/stopped sending its answer midway/);
  });

  it('names a connection closed in the middle of the body as a reset, retryable', async () => {
    const standIn = await startStandIn(() => (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"job":{"summary":', () => res.socket?.destroy());
    });
    closers.push(() => standIn.close());

    const error = await failure(standIn.upstream().getJob(KEY));
    expect(error.code).toBe('UPSTREAM_CONNECTION_RESET');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/reset before the answer .* was complete/);
  });
});

describe('answers Amplify never sends', () => {
  let answer: StandInAnswer = { json: {} };
  let standIn: StandIn;
  const gateways: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    await standIn?.close();
  });

  async function getJob(next: StandInAnswer, env: Record<string, string> = {}) {
    answer = next;
    standIn ??= await startStandIn(() => answer);
    return failure(standIn.upstream(env).getJob(KEY));
  }

  const html = (status: number): StandInAnswer => ({
    status,
    body: `<html><body><h1>${status}</h1></body></html>`,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  });

  it('names a 502 page that is not JSON by its status, retryable, after retrying it', async () => {
    const error = await getJob(html(502), { UPSTREAM_MAX_ATTEMPTS: '2' });
    expect(error.code).toBe('UPSTREAM_UNREADABLE_RESPONSE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/HTTP 502 with a non-JSON body \(text\/html\)/);
    expect(error.upstream).toMatchObject({ httpStatus: 502, attempts: 2 });
  });

  it.each([200, 403, 404])(
    'names a %i page that is not JSON by its status, not retryable',
    async (status) => {
      const error = await getJob(html(status));
      expect(error.code).toBe('UPSTREAM_UNREADABLE_RESPONSE');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(new RegExp(`HTTP ${status} with a non-JSON body`));
    },
  );

  it.each([
    ['a redirect', { status: 302, body: '', headers: { location: '/elsewhere' } }, 302],
    [
      "a 418 with Amplify's JSON but no error type",
      { status: 418, json: { message: 'teapot' } },
      418,
    ],
    ['a 404 without an AWS error type', { status: 404, json: { message: 'no route' } }, 404],
    [
      'a 409 ConflictException',
      {
        status: 409,
        json: { message: 'busy' },
        headers: { 'x-amzn-errortype': 'ConflictException' },
      },
      409,
    ],
  ] as const)('names %s as an unexpected status, not retryable', async (_name, reply, status) => {
    const error = await getJob(reply);
    expect(error.code).toBe('UPSTREAM_UNEXPECTED_STATUS');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(new RegExp(`HTTP ${status}`));
    expect(error.message).toMatch(/does not expect/);
    expect(error.upstream?.httpStatus).toBe(status);
  });

  it('names a 500 with an empty body as Amplify failing, retryable', async () => {
    const error = await getJob({ status: 500, body: '' });
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/Amplify failed \(HTTP 500\)/);
  });

  it('answers a client each of these as its code, with HTTP 200 and the field null', async () => {
    answer = html(502);
    standIn ??= await startStandIn(() => answer);
    const gateway = await createGateway({ upstream: standIn.upstream() });
    gateways.push(gateway);
    const reply = await gateway.post({
      query: '{ job(appId: "d1abc", branchName: "main", jobId: "7") { jobId } }',
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual({ job: null });
    expect(reply.body.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNREADABLE_RESPONSE',
      retryable: true,
      upstream: { httpStatus: 502 },
    });
  });
});

describe('failure modes no local server can produce', () => {
  // Errors shaped exactly as @smithy/node-http-handler and Node build them; each case's source
  // is named. A connect timeout needs a host that drops SYNs, a resolver failure a broken DNS.
  it.each([
    [
      'a connect timeout (node-http-handler setConnectionTimeout)',
      Object.assign(
        new Error(
          '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 1000 ms.',
        ),
        { name: 'TimeoutError', $metadata: { attempts: 3 } },
      ),
      'UPSTREAM_TIMEOUT',
      true,
      /did not accept a connection in time/,
    ],
    [
      'a temporary resolver failure (getaddrinfo EAI_AGAIN)',
      Object.assign(new Error('getaddrinfo EAI_AGAIN amplify.us-east-1.amazonaws.com'), {
        code: 'EAI_AGAIN',
      }),
      'UPSTREAM_DNS_FAILURE',
      true,
      /could not be resolved for now/,
    ],
    [
      'no route to the host (EHOSTUNREACH)',
      Object.assign(new Error('connect EHOSTUNREACH 10.0.0.1:443'), { code: 'EHOSTUNREACH' }),
      'UPSTREAM_CONNECTION_REFUSED',
      true,
      /no route to host/,
    ],
    [
      'a certificate for another host (ERR_TLS_CERT_ALTNAME_INVALID)',
      Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      }),
      'UPSTREAM_TLS_FAILURE',
      false,
      /TLS handshake/,
    ],
    [
      'an HTTP 408 from a proxy',
      Object.assign(new Error('UnknownError'), {
        name: 'Unknown',
        $fault: 'client',
        $metadata: { httpStatusCode: 408 },
      }),
      'UPSTREAM_TIMEOUT',
      true,
      /did not answer in time/,
    ],
    [
      'a bug in the gateway (a plain TypeError)',
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      'INTERNAL_SERVER_ERROR',
      false,
      /Unexpected error/,
    ],
  ] as const)('names %s', (_name, error, code, retryable, message) => {
    const mapped = toGatewayError(error, 'job 7 of branch "main" in app d1abc');
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.message).toMatch(message);
    expect(mapped.cause).toBe(error);
  });
});
