/**
 * Optional SigV4 verification (spec §4.5). The canonical request is rebuilt from what arrived on
 * the wire: the raw path re-encoded segment by segment (the SDK signs with `uriEscapePath`, so an
 * already-encoded `%2F` is encoded again as `%252F`), the query decoded and re-encoded, and exactly
 * the headers the client says it signed. Signatures are compared in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AmplifyErrorType } from './errors.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it in `x-amz-security-token`. */
  readonly sessionToken?: string;
}

export interface SignedRequest {
  readonly method: string;
  /** Raw path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type VerifyResult =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly errorType: AmplifyErrorType; readonly message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const RFC3986_EXTRA = /[!'()*]/g;
const WHITESPACE_RUN = /\s+/g;
/** AWS accepts requests whose x-amz-date is within 15 minutes of its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/** encodeURIComponent plus the characters RFC 3986 reserves that it leaves alone. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    RFC3986_EXTRA,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function fail(errorType: AmplifyErrorType, message: string): VerifyResult {
  return { ok: false, errorType, message };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function canonicalUri(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${segments.map(rfc3986).join('/')}${trailing}`;
}

export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([rfc3986(safeDecode(key)), rfc3986(safeDecode(value))]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | undefined {
  if (!header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    return undefined;
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') return undefined;
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

export class SigV4Verifier {
  readonly #secrets = new Map<string, Credentials>();
  readonly #region: string;
  readonly #service: string;
  readonly #now: () => number;
  /** Derived signing keys per (key id, date): four HMACs saved per request. */
  readonly #keyCache = new Map<string, Buffer>();

  constructor(
    credentials: readonly Credentials[],
    region: string,
    service = 'amplify',
    now: () => number = Date.now,
  ) {
    for (const c of credentials) this.#secrets.set(c.accessKeyId, c);
    this.#region = region;
    this.#service = service;
    this.#now = now;
  }

  #signingKey(credentials: Credentials, date: string, region: string, service: string): Buffer {
    const cacheKey = `${credentials.accessKeyId}\u0000${date}\u0000${region}\u0000${service}`;
    let key = this.#keyCache.get(cacheKey);
    if (key === undefined) {
      const kDate = hmac(`AWS4${credentials.secretAccessKey}`, date);
      key = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
      if (this.#keyCache.size > 1000) this.#keyCache.clear();
      this.#keyCache.set(cacheKey, key);
    }
    return key;
  }

  verify(request: SignedRequest): VerifyResult {
    const authorization = headerValue(request.headers, 'authorization');
    if (authorization === undefined || authorization === '') {
      return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const auth = parseAuthorization(authorization);
    if (auth === undefined) {
      return fail(
        'IncompleteSignatureException',
        `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters and the ${ALGORITHM} algorithm.`,
      );
    }
    const amzDate = headerValue(request.headers, 'x-amz-date');
    const parts = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
    if (amzDate === undefined || parts === null) {
      return fail(
        'IncompleteSignatureException',
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      );
    }
    if (!HEX_SIGNATURE.test(auth.signature)) {
      return fail('IncompleteSignatureException', 'The signature must be 64 lowercase hex digits.');
    }
    const credentials = this.#secrets.get(auth.accessKeyId);
    if (credentials === undefined) {
      return fail(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    if (credentials.sessionToken !== undefined) {
      if (headerValue(request.headers, 'x-amz-security-token') !== credentials.sessionToken) {
        return fail(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      }
    }
    if (auth.service !== this.#service) {
      return fail(
        'InvalidSignatureException',
        `Credential should be scoped to correct service: '${this.#service}'.`,
      );
    }
    if (auth.region !== this.#region) {
      return fail(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region, not '${auth.region}'. Expected '${this.#region}'.`,
      );
    }
    if (auth.date !== amzDate.slice(0, 8)) {
      return fail(
        'InvalidSignatureException',
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}'.`,
      );
    }
    const [, y, mo, d, h, mi, s] = parts.map(Number) as number[];
    const signedAt = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
    const now = this.#now();
    if (signedAt < now - MAX_SKEW_MS) {
      // "Signature expired" is the wording the SDK treats as a transient, retryable error.
      return fail(
        'InvalidSignatureException',
        `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
      );
    }
    if (signedAt > now + MAX_SKEW_MS) {
      return fail(
        'InvalidSignatureException',
        `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
      );
    }
    const payloadHash = sha256Hex(request.body);
    const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
    if (
      declaredHash !== undefined &&
      declaredHash !== 'UNSIGNED-PAYLOAD' &&
      declaredHash !== payloadHash
    ) {
      return fail(
        'InvalidSignatureException',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    const signedNames = auth.signedHeaders.split(';');
    if (!signedNames.includes('host')) {
      return fail('InvalidSignatureException', "'Host' must be a signed header.");
    }
    let canonicalHeaders = '';
    for (const name of signedNames) {
      const value = headerValue(request.headers, name) ?? '';
      canonicalHeaders += `${name}:${value.trim().replace(WHITESPACE_RUN, ' ')}\n`;
    }
    const q = request.url.indexOf('?');
    const rawPath = q < 0 ? request.url : request.url.slice(0, q);
    const rawQuery = q < 0 ? '' : request.url.slice(q + 1);
    const canonicalRequest = [
      request.method,
      canonicalUri(rawPath),
      canonicalQuery(rawQuery),
      canonicalHeaders,
      auth.signedHeaders,
      declaredHash ?? payloadHash,
    ].join('\n');
    const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const key = this.#signingKey(credentials, auth.date, auth.region, auth.service);
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    const given = Buffer.from(auth.signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return { ok: true, accessKeyId: auth.accessKeyId };
  }
}
