/**
 * Reads the end of a step's log from the URL Amplify names in `Step.logUrl`, safely: the URL comes
 * from upstream data, so the gateway fetches it only where an Amplify log can live, and never lets
 * it reach into the gateway's own network (SSRF).
 *
 * - Hosts: Amazon S3 endpoints of the Region the gateway's AWS client is configured for (HTTPS,
 *   port 443), or the origin of an explicitly configured Amplify endpoint (AWS_ENDPOINT_URL_AMPLIFY,
 *   a local Amplify) under its `/_files/` path. Anything else is refused before any connection.
 * - Addresses: an S3 host name is resolved and every address it resolves to must be public
 *   (no loopback, private, link-local, unique-local, CGNAT, multicast or reserved ranges); the
 *   connection goes to the checked address, so DNS cannot change its answer in between. The
 *   configured Amplify endpoint is the only host allowed on a non-public address.
 * - Redirects: followed (at most {@link MAX_REDIRECTS}) only to a URL that passes the same checks.
 * - Size and time: the gateway asks for the last `maxBytes` bytes (an HTTP suffix Range, which S3
 *   honours) and keeps at most that many; the whole fetch, redirects included, must finish within
 *   `timeoutMs`. A server that ignores Range is read to its end within that time, keeping only the
 *   last `maxBytes`.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ErrorCode, GatewayError, type UpstreamDetails } from '../errors.js';
import { CONNECTION_RESET_CODES } from './errors.js';
import type { JobKey } from './shapes.js';

/** What to fetch, and what a cache needs to know about it. */
export interface StepLogRequest {
  /** The step's `logUrl` as Amplify sent it (presigned on AWS: it differs on every GetJob). */
  url: string;
  /** The job the step belongs to, and the step's name: the log's identity for a cache. */
  job: JobKey;
  stepName: string | null;
  /** The step has finished (SUCCEED, FAILED, CANCELLED): its log can no longer change. */
  final: boolean;
}

/** The end of one log. */
export interface StepLogRecord {
  /** The last bytes of the log as UTF-8 text; when cut, it starts at a line boundary. */
  text: string;
  /** UTF-8 size of `text`. */
  textBytes: number;
  /** Size of the whole log in bytes, as stored. */
  totalBytes: number;
  /** `text` is not the whole log. */
  truncated: boolean;
}

/** Where logs may come from. */
export interface LogSourcePolicy {
  /** The AWS Region of the gateway's Amplify client, e.g. `eu-west-1`. */
  region: string;
  /** Origin of the explicitly configured Amplify endpoint (e.g. a local Amplify), or null. */
  localOrigin: string | null;
}

/** Resolves a host name to its addresses (all of them). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface StepLogFetcherOptions {
  /** Most bytes of a log kept and returned (its end). */
  maxBytes: number;
  /** Milliseconds the whole fetch may take, redirects included. */
  timeoutMs: number;
  /** The allowed sources, resolved once on first use (the Region comes from the SDK's chain). */
  policy: () => Promise<LogSourcePolicy>;
  /** DNS resolution; tests replace it to prove the address check. */
  resolve?: Resolver;
}

export interface StepLogFetcher {
  fetch(request: StepLogRequest): Promise<StepLogRecord>;
  /** Closes kept-alive sockets. */
  destroy(): void;
}

export const MAX_REDIRECTS = 3;

const REGION = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;

const NON_PUBLIC = (() => {
  const list = new BlockList();
  const v4: Array<[string, number]> = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];
  for (const [net, prefix] of v4) list.addSubnet(net, prefix, 'ipv4');
  const v6: Array<[string, number]> = [
    ['::', 128],
    ['::1', 128],
    // IPv4-mapped addresses (::ffff:a.b.c.d) are checked against the IPv4 ranges above by
    // BlockList itself. NAT64 and 6to4 addresses embed an IPv4 address that could be private;
    // Amazon S3 never needs them.
    ['64:ff9b::', 96],
    ['64:ff9b:1::', 48],
    ['2002::', 16],
    ['100::', 64],
    ['2001::', 23],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['fec0::', 10],
    ['ff00::', 8],
  ];
  for (const [net, prefix] of v6) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/** Whether an IP address is on the public internet (not loopback, private, link-local...). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The Amazon S3 host names of one Region (virtual-hosted and path style, dual-stack, FIPS). */
export function s3HostPattern(region: string): RegExp | null {
  if (!REGION.test(region)) return null;
  const r = escapeRegExp(region);
  const domain = region.startsWith('cn-') ? 'amazonaws\\.com\\.cn' : 'amazonaws\\.com';
  const bucket = '(?:[a-z0-9][a-z0-9.-]*\\.)?';
  const regional = `s3(?:-fips)?(?:\\.dualstack)?[.-]${r}`;
  // The legacy global endpoint (s3.amazonaws.com) serves us-east-1 and answers for every Region.
  const global = region.startsWith('cn-') ? '' : '|s3|s3-external-1';
  return new RegExp(`^${bucket}(?:${regional}${global})\\.${domain}$`);
}

export type LogSourceCheck =
  | { ok: true; local: boolean }
  | { ok: false; reason: 'not a URL' | 'scheme' | 'host' | 'port' | 'path' | 'credentials' };

/** Whether a log URL points where an Amplify log can live, before any DNS or connection. */
export function checkLogSource(target: string, policy: LogSourcePolicy): LogSourceCheck {
  if (!URL.canParse(target)) return { ok: false, reason: 'not a URL' };
  const url = new URL(target);
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials' };
  if (policy.localOrigin !== null && url.origin === policy.localOrigin) {
    // The local Amplify serves step logs (and every other file) under /_files/.
    return url.pathname.startsWith('/_files/')
      ? { ok: true, local: true }
      : { ok: false, reason: 'path' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: 'scheme' };
  const pattern = s3HostPattern(policy.region);
  if (pattern === null || isIP(url.hostname) !== 0 || !pattern.test(url.hostname)) {
    return { ok: false, reason: 'host' };
  }
  if (url.port !== '') return { ok: false, reason: 'port' };
  return { ok: true, local: false };
}

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

class Refused extends GatewayError {
  constructor(message: string, detail: string) {
    super(ErrorCode.UPSTREAM_URL_REFUSED, message, { cause: new Error(detail) });
  }
}

/** A DNS lookup for node:http that hands the socket only addresses it has checked. */
function checkedLookup(resolve: Resolver, hostname: string): LookupFunction {
  return (host, options, callback) => {
    resolve(host).then(
      (addresses) => {
        const blocked = addresses.filter((a) => !isPublicAddress(a.address));
        if (addresses.length === 0 || blocked.length > 0) {
          const error = new Refused(
            "The step's log URL resolves to an address the gateway does not fetch from.",
            `log host ${hostname} resolves to ${addresses.map((a) => a.address).join(', ') || 'nothing'}`,
          );
          callback(error as unknown as NodeJS.ErrnoException, '', 0);
          return;
        }
        const first = addresses[0]!;
        if (options.all) callback(null, addresses);
        else callback(null, first.address, first.family);
      },
      (error: unknown) =>
        callback(
          (error instanceof Error ? error : new Error(String(error))) as NodeJS.ErrnoException,
          '',
          0,
        ),
    );
  };
}

/** Keeps the last `limit` bytes of a stream of chunks. */
class Tail {
  #chunks: Buffer[] = [];
  #kept = 0;
  total = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    while (this.#chunks.length > 1 && this.#kept - this.#chunks[0]!.length >= this.limit) {
      this.#kept -= this.#chunks.shift()!.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.#chunks, this.#kept);
    return all.length > this.limit ? all.subarray(all.length - this.limit) : all;
  }
}

const decoder = new TextDecoder('utf-8');

/**
 * Text of the log's end. When the bytes do not start at the log's beginning, the first, partial
 * line is dropped (or, in one endless line, the bytes of a cut UTF-8 character).
 */
export function decodeLogEnd(bytes: Buffer, cut: boolean): { text: string; textBytes: number } {
  let start = 0;
  if (cut) {
    const newline = bytes.indexOf(0x0a);
    if (newline >= 0) start = newline + 1;
    else while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  }
  const kept = bytes.subarray(start);
  return { text: decoder.decode(kept), textBytes: kept.length };
}

/** A URL that passed {@link checkLogSource}, and whether it is the configured Amplify endpoint. */
interface Source {
  url: URL;
  local: boolean;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function details(status: number | null, response?: IncomingMessage): UpstreamDetails {
  const requestId = response?.headers['x-amz-request-id'];
  return {
    errorName: status === null ? 'LogFetchError' : `HTTP ${status}`,
    httpStatus: status,
    requestId: typeof requestId === 'string' ? requestId : null,
    attempts: 1,
  };
}

function statusError(status: number, response: IncomingMessage): GatewayError {
  const upstream = details(status, response);
  if (status === 404) {
    return new GatewayError(
      ErrorCode.NOT_FOUND,
      "The step's log does not exist (yet): the log store answered 404.",
      { upstream },
    );
  }
  if (status === 401 || status === 403) {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAUTHORIZED,
      `The log store refused the step's log URL (HTTP ${status}); presigned log URLs expire, so read the job again.`,
      { upstream },
    );
  }
  if (status >= 500) {
    return new GatewayError(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      `The log store answered HTTP ${status} for the step's log; try again later.`,
      { upstream },
    );
  }
  return new GatewayError(
    ErrorCode.UPSTREAM_UNEXPECTED_STATUS,
    `The log store answered HTTP ${status} for the step's log, which the gateway does not expect; retrying will not help.`,
    { upstream },
  );
}

/** Node's codes of a connection that could not be opened, broke, or failed its TLS handshake. */
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
const TLS =
  /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

/** A failure of the connection itself, mapped as the SDK's are (errors.ts), in the log's words. */
function connectionError(error: unknown, timedOut: boolean, timeoutMs: number): GatewayError {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const upstream = { ...details(null), errorName: code || 'LogFetchError' };
  const make = (errorCode: ErrorCode, message: string, retryable?: boolean) =>
    new GatewayError(errorCode, message, {
      cause: error,
      upstream,
      ...(retryable === undefined ? {} : { retryable }),
    });
  if (timedOut) {
    return make(
      ErrorCode.UPSTREAM_TIMEOUT,
      `The step's log took longer than ${timeoutMs} ms to read; try again later.`,
    );
  }
  if (REFUSED.has(code)) {
    return make(
      ErrorCode.UPSTREAM_CONNECTION_REFUSED,
      `The log store could not be reached (${code}); try again later.`,
    );
  }
  if (DNS.has(code)) {
    return make(
      ErrorCode.UPSTREAM_DNS_FAILURE,
      `The log store's host name does not resolve (${code}).`,
      code === 'EAI_AGAIN',
    );
  }
  if (TLS.test(code)) {
    return make(
      ErrorCode.UPSTREAM_TLS_FAILURE,
      `The TLS handshake with the log store failed (${code}); retrying will not help.`,
    );
  }
  return make(
    ErrorCode.UPSTREAM_CONNECTION_RESET,
    `The connection to the log store broke before the end of the step's log${CONNECTION_RESET_CODES.has(code) ? ` (${code})` : ''}; try again later.`,
  );
}

export function createStepLogFetcher(options: StepLogFetcherOptions): StepLogFetcher {
  const { maxBytes, timeoutMs } = options;
  const resolve = options.resolve ?? defaultResolver;
  const agentOptions = { keepAlive: true, maxSockets: 20 };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  let policy: Promise<LogSourcePolicy> | null = null;

  function check(target: string, resolved: LogSourcePolicy, redirected: boolean): Source {
    const verdict = checkLogSource(target, resolved);
    if (!verdict.ok) {
      throw new Refused(
        redirected
          ? "The step's log URL redirects to a place the gateway does not fetch logs from."
          : "The step's log URL is not on a host the gateway fetches logs from (Amazon S3 in the gateway's Region, or the configured Amplify endpoint).",
        `log URL refused (${verdict.reason}): ${URL.canParse(target) ? new URL(target).host : 'unparseable'}`,
      );
    }
    return { url: new URL(target), local: verdict.local };
  }

  /** One GET; resolves with the response (redirects are the caller's business). */
  function get({ url, local }: Source, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolveResponse, reject) => {
      const secure = url.protocol === 'https:';
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'GET',
          agent: secure ? httpsAgent : httpAgent,
          headers: {
            range: `bytes=-${maxBytes}`,
            'accept-encoding': 'identity',
            'user-agent': 'amplify-jobs-graphql',
          },
          // The configured Amplify endpoint is trusted as configured; S3 hosts get checked.
          ...(local ? {} : { lookup: checkedLookup(resolve, url.hostname) }),
          signal,
        },
        resolveResponse,
      );
      request.once('error', reject);
      request.end();
    });
  }

  /** Reads the body: at most `limit` bytes when `strict`, else all of it keeping the last `limit`. */
  function read(response: IncomingMessage, strict: boolean): Promise<Tail> {
    return new Promise((resolveTail, reject) => {
      const tail = new Tail(maxBytes);
      response.on('data', (chunk: Buffer) => {
        tail.push(chunk);
        // A server that sends more than the range asked for gets cut off at the cap.
        if (strict && tail.total >= maxBytes) {
          response.destroy();
          resolveTail(tail);
        }
      });
      response.once('end', () => resolveTail(tail));
      response.once('error', reject);
      response.once('close', () => {
        if (!response.complete && !(strict && tail.total >= maxBytes)) {
          reject(new Error('the log store closed the connection before the end of the log'));
        }
      });
    });
  }

  async function fetchLog(target: string, signal: AbortSignal): Promise<StepLogRecord> {
    policy ??= options.policy().catch((error: unknown) => {
      policy = null;
      throw error;
    });
    const resolved = await policy;
    let source = check(target, resolved, false);
    for (let hop = 0; ; hop++) {
      const response = await get(source, signal);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        response.resume();
        const location = response.headers.location;
        if (hop >= MAX_REDIRECTS || typeof location !== 'string') {
          throw new GatewayError(
            ErrorCode.UPSTREAM_UNEXPECTED_STATUS,
            `The log store redirected the step's log ${hop >= MAX_REDIRECTS ? 'too many times' : 'without a Location'}.`,
            { upstream: details(status, response) },
          );
        }
        source = check(new URL(location, source.url).href, resolved, true);
        continue;
      }
      if (status === 416) {
        // Range not satisfiable: S3's answer for a suffix range on an empty object.
        response.resume();
        const range = /^bytes \*\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''));
        if (range?.[1] === '0') return { text: '', textBytes: 0, totalBytes: 0, truncated: false };
        throw statusError(status, response);
      }
      if (status === 206) {
        const range = CONTENT_RANGE.exec(String(response.headers['content-range'] ?? ''));
        if (range === null) {
          response.resume();
          throw new GatewayError(
            ErrorCode.UPSTREAM_INVALID_RESPONSE,
            "The log store sent part of the step's log without saying which part.",
            { upstream: details(status, response) },
          );
        }
        const start = Number(range[1]);
        const tail = await read(response, true);
        const bytes = tail.bytes();
        const total = range[3] === '*' ? start + tail.total : Number(range[3]);
        const decoded = decodeLogEnd(bytes, start > 0 || tail.total > maxBytes);
        return {
          ...decoded,
          totalBytes: total,
          truncated: start > 0 || decoded.textBytes < total,
        };
      }
      if (status === 200) {
        const tail = await read(response, false);
        const decoded = decodeLogEnd(tail.bytes(), tail.total > maxBytes);
        return {
          ...decoded,
          totalBytes: tail.total,
          truncated: decoded.textBytes < tail.total,
        };
      }
      response.resume();
      throw statusError(status, response);
    }
  }

  return {
    async fetch(request) {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        return await fetchLog(request.url, signal);
      } catch (error) {
        // Refusals (the lookup's included: node:http emits the lookup's error as it is) and
        // mapped statuses pass; anything else is the connection, or the time limit.
        if (error instanceof GatewayError) throw error;
        throw connectionError(error, signal.aborted, timeoutMs);
      }
    },
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
