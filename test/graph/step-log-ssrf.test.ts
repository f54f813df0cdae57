/**
 * The step-log fetcher refuses every place an Amplify log cannot live (SSRF), and honours its byte
 * cap and time limit. Real HTTP against small stand-in servers on 127.0.0.1; DNS answers are
 * injected where a test needs a host name to resolve somewhere it must not go.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  checkLogSource,
  createStepLogFetcher,
  isPublicAddress,
  type Resolver,
  type StepLogFetcher,
} from '../../src/upstream/step-log.js';

interface StandIn {
  origin: string;
  requests: Array<{ url: string; range: string | undefined }>;
  connections: number;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function standIn(): Promise<StandIn> {
  const state: StandIn = {
    origin: '',
    requests: [],
    connections: 0,
    handle: (_req, res) => res.end('ok\n'),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    state.requests.push({ url: req.url ?? '', range: req.headers.range });
    state.handle(req, res);
  });
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A log of `lines` numbered lines, e.g. `line 000001 ...\n`. */
function logText(lines: number): string {
  let text = '';
  for (let i = 1; i <= lines; i++) text += `line ${String(i).padStart(6, '0')} of the build log\n`;
  return text;
}

/** Serves `body` honouring a suffix Range the way S3 does. */
function rangeServer(body: Buffer) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const suffix = /^bytes=-(\d+)$/.exec(req.headers.range ?? '');
    if (suffix === null) {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
      return;
    }
    const start = Math.max(0, body.length - Number(suffix[1]));
    const part = body.subarray(start);
    res.writeHead(206, {
      'content-length': part.length,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
    });
    res.end(part);
  };
}

const REQUEST = {
  job: { appId: 'd1', branchName: 'main', jobId: '1' },
  stepName: 'BUILD',
  final: true,
};

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the fetch to fail');
}

describe('which log URLs the gateway may fetch', () => {
  const policy = { region: 'eu-west-1', localOrigin: 'http://127.0.0.1:4566' };

  it('accepts Amazon S3 hosts of its own Region over HTTPS on the default port', () => {
    for (const url of [
      'https://aws-amplify-prod-eu-west-1-artifacts.s3.eu-west-1.amazonaws.com/d1/main/1/BUILD.log?X-Amz-Signature=abc',
      'https://bucket.s3-eu-west-1.amazonaws.com/key',
      'https://s3.eu-west-1.amazonaws.com/bucket/key',
      'https://bucket.s3.dualstack.eu-west-1.amazonaws.com/key',
      'https://bucket.s3.amazonaws.com/key',
    ]) {
      expect(checkLogSource(url, policy), url).toEqual({ ok: true, local: false });
    }
  });

  it('refuses other Regions, other hosts, look-alikes, IP literals, other schemes and ports', () => {
    const refused: Array<[string, string]> = [
      ['https://bucket.s3.us-east-1.amazonaws.com/key', 'host'],
      ['https://s3.eu-west-1.amazonaws.com.evil.example/key', 'host'],
      ['https://evil.example/s3.eu-west-1.amazonaws.com', 'host'],
      ['https://bucket.s3.eu-west-1.amazonaws.co/key', 'host'],
      ['https://52.218.1.1/key', 'host'],
      ['https://[::1]/key', 'host'],
      ['http://bucket.s3.eu-west-1.amazonaws.com/key', 'scheme'],
      ['ftp://bucket.s3.eu-west-1.amazonaws.com/key', 'scheme'],
      ['file:///etc/passwd', 'scheme'],
      ['https://bucket.s3.eu-west-1.amazonaws.com:8443/key', 'port'],
      ['https://user:pw@bucket.s3.eu-west-1.amazonaws.com/key', 'credentials'],
      ['not a url', 'not a URL'],
    ];
    for (const [url, reason] of refused) {
      expect(checkLogSource(url, policy), url).toEqual({ ok: false, reason });
    }
  });

  it('accepts the configured Amplify endpoint only at its exact origin, under /_files/', () => {
    expect(checkLogSource('http://127.0.0.1:4566/_files/logs/d1/main/1/BUILD.log', policy)).toEqual(
      {
        ok: true,
        local: true,
      },
    );
    expect(checkLogSource('http://127.0.0.1:4566/_local/faults', policy)).toEqual({
      ok: false,
      reason: 'path',
    });
    for (const other of [
      'http://127.0.0.1:4567/_files/logs/x.log',
      'http://localhost:4566/_files/logs/x.log',
      'https://127.0.0.1:4566/_files/logs/x.log',
      'http://127.0.0.2:4566/_files/logs/x.log',
    ]) {
      expect(checkLogSource(other, policy).ok, other).toBe(false);
    }
    // Without a configured endpoint, no loopback URL is allowed at all.
    expect(
      checkLogSource('http://127.0.0.1:4566/_files/logs/x.log', { ...policy, localOrigin: null })
        .ok,
    ).toBe(false);
  });

  it('calls only public internet addresses public', () => {
    for (const address of ['52.216.8.1', '3.5.140.2', '2600:1f18::1', '2a05:d018::5']) {
      expect(isPublicAddress(address), address).toBe(true);
    }
    for (const address of [
      '127.0.0.1',
      '127.8.9.10',
      '10.0.0.5',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
      'ff02::1',
      'not-an-ip',
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });
});

describe('fetching a step log', () => {
  let local: StandIn;
  let elsewhere: StandIn;
  const fetchers: StepLogFetcher[] = [];

  function fetcher(options: { maxBytes?: number; timeoutMs?: number; resolve?: Resolver } = {}) {
    const created = createStepLogFetcher({
      maxBytes: options.maxBytes ?? 64 * 1024,
      timeoutMs: options.timeoutMs ?? 5_000,
      policy: async () => ({ region: 'us-east-1', localOrigin: local.origin }),
      ...(options.resolve ? { resolve: options.resolve } : {}),
    });
    fetchers.push(created);
    return created;
  }

  beforeAll(async () => {
    local = await standIn();
    elsewhere = await standIn();
  });
  afterAll(async () => {
    for (const f of fetchers) f.destroy();
    await local.close();
    await elsewhere.close();
  });
  beforeEach(() => {
    local.requests.length = 0;
    elsewhere.requests.length = 0;
    elsewhere.connections = 0;
    local.handle = rangeServer(Buffer.from(logText(10)));
  });

  it('reads a whole small log from the configured Amplify endpoint', async () => {
    const log = await fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/a.log` });
    expect(log).toEqual({
      text: logText(10),
      textBytes: Buffer.byteLength(logText(10)),
      totalBytes: Buffer.byteLength(logText(10)),
      truncated: false,
    });
    expect(local.requests[0]?.range).toBe('bytes=-65536');
  });

  it('refuses a URL on another host, without connecting to it', async () => {
    const error = await refusal(
      fetcher().fetch({ ...REQUEST, url: `${elsewhere.origin}/_files/logs/a.log` }),
    );
    expect(error.code).toBe('UPSTREAM_URL_REFUSED');
    expect(error.retryable).toBe(false);
    // The caller's message does not name the host it refused.
    expect(error.message).not.toContain('127.0.0.1');
    expect(elsewhere.connections).toBe(0);
  });

  it('never follows a redirect to another host', async () => {
    local.handle = (_req, res) => {
      res.writeHead(302, { location: `${elsewhere.origin}/_files/logs/a.log` });
      res.end();
    };
    const error = await refusal(
      fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/a.log` }),
    );
    expect(error.code).toBe('UPSTREAM_URL_REFUSED');
    expect(elsewhere.connections).toBe(0);
    for (const location of [
      'http://169.254.169.254/latest/meta-data/',
      'https://bucket.s3.us-west-2.amazonaws.com/key',
      `${local.origin}/_local/faults`,
    ]) {
      local.handle = (_req, res) => {
        res.writeHead(307, { location });
        res.end();
      };
      const refused = await refusal(
        fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/a.log` }),
      );
      expect(refused.code, location).toBe('UPSTREAM_URL_REFUSED');
    }
  });

  it('follows a redirect that stays where logs may live, a bounded number of times', async () => {
    const body = Buffer.from(logText(3));
    local.handle = (req, res) => {
      if (req.url === '/_files/logs/moved.log') {
        res.writeHead(301, { location: '/_files/logs/here.log' });
        res.end();
      } else if (req.url === '/_files/logs/loop.log') {
        res.writeHead(302, { location: '/_files/logs/loop.log' });
        res.end();
      } else rangeServer(body)(req, res);
    };
    const log = await fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/moved.log` });
    expect(log.text).toBe(logText(3));
    local.requests.length = 0;
    const error = await refusal(
      fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/loop.log` }),
    );
    expect(error.code).toBe('UPSTREAM_UNEXPECTED_STATUS');
    expect(local.requests).toHaveLength(4);
  });

  it('refuses an S3 host name that resolves to a loopback, private, link-local or mixed address', async () => {
    for (const addresses of [
      [{ address: '127.0.0.1', family: 4 }],
      [{ address: '10.1.2.3', family: 4 }],
      [{ address: '169.254.169.254', family: 4 }],
      [{ address: '::1', family: 6 }],
      [{ address: 'fd12:3456::1', family: 6 }],
      [
        { address: '52.216.8.1', family: 4 },
        { address: '192.168.0.10', family: 4 },
      ],
      [],
    ]) {
      const asked: string[] = [];
      const resolve: Resolver = async (hostname) => {
        asked.push(hostname);
        return addresses;
      };
      const error = await refusal(
        fetcher({ resolve }).fetch({
          ...REQUEST,
          url: 'https://aws-amplify-prod-us-east-1-artifacts.s3.us-east-1.amazonaws.com/d1/BUILD.log?X-Amz-Signature=x',
        }),
      );
      // Refused at the DNS step: connecting to 127.0.0.1:443 would have failed differently.
      expect(error.code, JSON.stringify(addresses)).toBe('UPSTREAM_URL_REFUSED');
      expect(asked).toEqual(['aws-amplify-prod-us-east-1-artifacts.s3.us-east-1.amazonaws.com']);
    }
  });

  it('reads only the last maxBytes of a big log when the server honours Range', async () => {
    const body = Buffer.from(logText(40_000));
    local.handle = rangeServer(body);
    const log = await fetcher({ maxBytes: 1000 }).fetch({
      ...REQUEST,
      url: `${local.origin}/_files/logs/big.log`,
    });
    expect(local.requests[0]?.range).toBe('bytes=-1000');
    expect(log.totalBytes).toBe(body.length);
    expect(log.truncated).toBe(true);
    expect(log.textBytes).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(log.text)).toBe(log.textBytes);
    // Whole lines only, and exactly the end of the log.
    expect(log.text.startsWith('line ')).toBe(true);
    expect(body.toString('utf8').endsWith(log.text)).toBe(true);
    expect(log.text.endsWith(`line 040000 of the build log\n`)).toBe(true);
  });

  it('keeps only the last maxBytes when the server ignores Range and sends it all', async () => {
    const body = Buffer.from(logText(10_000));
    local.handle = (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    };
    const log = await fetcher({ maxBytes: 2048 }).fetch({
      ...REQUEST,
      url: `${local.origin}/_files/logs/big.log`,
    });
    expect(log.totalBytes).toBe(body.length);
    expect(log.truncated).toBe(true);
    expect(log.textBytes).toBeLessThanOrEqual(2048);
    expect(body.toString('utf8').endsWith(log.text)).toBe(true);
  });

  it('stops reading at maxBytes when a server sends more than the range it was asked for', async () => {
    local.handle = (_req, res) => {
      res.writeHead(206, { 'content-range': 'bytes 100-99999999/100000000' });
      const chunk = Buffer.from(logText(1000));
      const write = () => {
        while (res.write(chunk)) {
          if (res.destroyed) return;
        }
        res.once('drain', write);
      };
      write();
    };
    const log = await fetcher({ maxBytes: 4096, timeoutMs: 10_000 }).fetch({
      ...REQUEST,
      url: `${local.origin}/_files/logs/endless.log`,
    });
    expect(log.textBytes).toBeLessThanOrEqual(4096);
    expect(log.truncated).toBe(true);
    expect(log.totalBytes).toBe(100_000_000);
  });

  it('keeps whole UTF-8 characters when a cut lands inside one and there is no newline', async () => {
    const body = Buffer.from('日本語'.repeat(1000));
    local.handle = rangeServer(body);
    const log = await fetcher({ maxBytes: 256 }).fetch({
      ...REQUEST,
      url: `${local.origin}/_files/logs/cjk.log`,
    });
    expect(log.text).not.toContain('\uFFFD');
    expect(body.toString('utf8').endsWith(log.text)).toBe(true);
  });

  it('gives up after its time limit with a retryable UPSTREAM_TIMEOUT', async () => {
    local.handle = () => {
      // Never answers.
    };
    const error = await refusal(
      fetcher({ timeoutMs: 200 }).fetch({
        ...REQUEST,
        url: `${local.origin}/_files/logs/slow.log`,
      }),
    );
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('200 ms');
  });

  it('gives up on a body that stalls half way, within the same time limit', async () => {
    local.handle = (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(logText(10));
      // ...and never the rest.
    };
    const error = await refusal(
      fetcher({ timeoutMs: 300 }).fetch({
        ...REQUEST,
        url: `${local.origin}/_files/logs/stall.log`,
      }),
    );
    expect(error.code).toBe('UPSTREAM_TIMEOUT');
    expect(error.message).toContain('300 ms');
  });

  it('says a connection broke mid-log, or could not be opened, with the codes used for Amplify', async () => {
    local.handle = (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(logText(10), () => res.socket?.destroy());
    };
    const broken = await refusal(
      fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/broken.log` }),
    );
    expect(broken.code).toBe('UPSTREAM_CONNECTION_RESET');
    expect(broken.retryable).toBe(true);
    // A port nothing listens on, as the configured endpoint.
    const closed = await standIn();
    await closed.close();
    const refusedFetcher = createStepLogFetcher({
      maxBytes: 1024,
      timeoutMs: 5_000,
      policy: async () => ({ region: 'us-east-1', localOrigin: closed.origin }),
    });
    fetchers.push(refusedFetcher);
    const refused = await refusal(
      refusedFetcher.fetch({ ...REQUEST, url: `${closed.origin}/_files/logs/x.log` }),
    );
    expect(refused.code).toBe('UPSTREAM_CONNECTION_REFUSED');
  });

  it('maps 404, 403, 5xx and other statuses onto the error catalog, and an empty log onto empty text', async () => {
    const cases: Array<[number, string]> = [
      [404, 'NOT_FOUND'],
      [403, 'UPSTREAM_UNAUTHORIZED'],
      [500, 'UPSTREAM_UNAVAILABLE'],
      [503, 'UPSTREAM_UNAVAILABLE'],
      [418, 'UPSTREAM_UNEXPECTED_STATUS'],
    ];
    for (const [status, code] of cases) {
      local.handle = (_req, res) => {
        res.writeHead(status);
        res.end('<Error/>');
      };
      const error = await refusal(
        fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/x.log` }),
      );
      expect(error.code, String(status)).toBe(code);
      expect(error.upstream?.httpStatus).toBe(status);
    }
    local.handle = (_req, res) => {
      res.writeHead(416, { 'content-range': 'bytes */0' });
      res.end();
    };
    expect(
      await fetcher().fetch({ ...REQUEST, url: `${local.origin}/_files/logs/empty.log` }),
    ).toEqual({ text: '', textBytes: 0, totalBytes: 0, truncated: false });
  });
});
