/**
 * A stand-in for Amplify where the local Amplify cannot produce the case: a tiny HTTP (or HTTPS)
 * server on 127.0.0.1 that answers each request with whatever the test's `answer` function
 * returns, and a gateway upstream (the real AWS SDK) pointed at it. Used for payloads and failures
 * the emulator has no fault for: a TLS handshake with an untrusted certificate, a body cut short,
 * hand-written JSON.
 */
import { generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import type { WireProblem } from '../../src/upstream/wire-check.js';
import { testConfig } from './stack.js';

/** What the stand-in does with one request. */
export type StandInAnswer =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; body: string; headers?: Record<string, string> }
  | ((req: IncomingMessage, res: ServerResponse) => void);

export interface StandIn {
  url: string;
  /** Requests received, as `METHOD /path`. */
  requests: string[];
  /** The real SDK upstream pointed at this stand-in, with one attempt unless `env` says more. */
  upstream(env?: Record<string, string>): StandInUpstream;
  close(): Promise<void>;
}

export interface StandInUpstream extends AmplifyUpstream {
  unknownValues: Array<[string, string]>;
  wireProblems: WireProblem[];
}

export interface StandInOptions {
  /** Serve HTTPS with a freshly made self-signed certificate the SDK does not trust. */
  tls?: boolean;
}

/** Starts a stand-in; `answer` decides each response (it may change between requests). */
export async function startStandIn(
  answer: (req: IncomingMessage) => StandInAnswer,
  options: StandInOptions = {},
): Promise<StandIn> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const upstreams: AmplifyUpstream[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    const reply = answer(req);
    if (typeof reply === 'function') {
      reply(req, res);
      return;
    }
    const body = 'json' in reply ? JSON.stringify(reply.json) : reply.body;
    res.writeHead(reply.status ?? 200, {
      'content-type': 'json' in reply ? 'application/json' : 'text/plain',
      'x-amzn-requestid': 'stand-in-request',
      ...reply.headers,
    });
    res.end(body);
  };
  const server: Server = options.tls
    ? createHttpsServer(selfSignedCertificate(), handler)
    : createHttpServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url,
    requests,
    upstream(env = {}) {
      const config = testConfig({
        UPSTREAM_MAX_ATTEMPTS: '1',
        UPSTREAM_REQUEST_TIMEOUT_MS: '2000',
        ...env,
      });
      const unknownValues: Array<[string, string]> = [];
      const wireProblems: WireProblem[] = [];
      const upstream = createSdkUpstream({
        config: config.upstream,
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDSTANDIN', secretAccessKey: 'stand-in-secret' },
        onUnknownValue: (enumName, value) => unknownValues.push([enumName, value]),
        onWireProblem: (problem) => wireProblems.push(problem),
      });
      upstreams.push(upstream);
      return Object.assign(upstream, { unknownValues, wireProblems });
    },
    async close() {
      for (const upstream of upstreams) upstream.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A self-signed certificate for 127.0.0.1, made now with node:crypto (an EC P-256 key; the X.509
 * DER is assembled by hand, since node:crypto can read certificates but not issue them).
 */
export function selfSignedCertificate(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = issueSelfSigned(privateKey, publicKey);
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert };
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const length =
    body.length < 0x80
      ? Buffer.from([body.length])
      : body.length < 0x100
        ? Buffer.from([0x81, body.length])
        : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...parts: Buffer[]) => der(0x30, ...parts);
const oid = (bytes: number[]) => der(0x06, Buffer.from(bytes));
const utf8 = (text: string) => der(0x0c, Buffer.from(text));
const utcTime = (date: Date) =>
  der(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));

function issueSelfSigned(privateKey: KeyObject, publicKey: KeyObject): string {
  const ecdsaWithSha256 = seq(oid([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
  const commonName = seq(der(0x31, seq(oid([0x55, 0x04, 0x03]), utf8('stand-in.amplify.test'))));
  const now = Date.now();
  const subjectAltName = seq(
    oid([0x55, 0x1d, 0x11]),
    der(0x04, seq(der(0x87, Buffer.from([127, 0, 0, 1])))),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // version 3
    der(
      0x02,
      Buffer.from([0x01, ...Array.from({ length: 8 }, () => Math.floor(Math.random() * 256))]),
    ),
    ecdsaWithSha256,
    commonName,
    seq(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000))),
    commonName,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(subjectAltName)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(
    tbs,
    ecdsaWithSha256,
    der(0x03, Buffer.concat([Buffer.from([0]), signature])),
  );
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
  // Parsing it back proves the DER is well formed before any TLS handshake depends on it.
  new X509Certificate(pem);
  return pem;
}
