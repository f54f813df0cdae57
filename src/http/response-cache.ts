/**
 * The immutable-response fast path: a repeated request whose previous answer can never change (it
 * read only finished jobs, without errors) is answered from memory with the bytes Yoga produced the
 * first time, without parsing, validating or executing anything. It runs at the HTTP edge (app.ts)
 * after every check that must still run (body size, router secret) and after the caller is
 * identified; the caller's `principal` is part of every key, so an answer stored for one caller is
 * never given to another.
 *
 * What a key holds: the caller's principal, the method, the URL (GET) or the exact body bytes
 * (POST), and the request headers that can change the answer or a check's outcome
 * ({@link VARY_HEADERS}). A request carrying `apollo-federation-include-trace` wants a trace of a
 * real execution and never takes the fast path. Entries are stored only by the HTTP caching plugin
 * (http-caching.ts) when it marks an answer immutable; memory is bounded in bytes (LRU).
 */
import { hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import { CSRF_HEADERS } from './browser-access.js';

/**
 * Who is asking, as far as caching is concerned. The edge establishes it after the credentials
 * (auth.ts; `cacheKeyOf` in app.ts: the caller's principal and scopes), before the fast path:
 * answers are stored and replayed per `principal`, and marked `private` in Cache-Control when
 * `authenticated`.
 */
export interface CallerKey {
  /** A stable, non-secret name for whose view of the data this is, e.g. `key:ci-dashboard`. */
  principal: string;
  /** Whether the answer may depend on who asked (Cache-Control `private`, not `public`). */
  authenticated: boolean;
}

/**
 * Identifies the caller of a request that has passed the edge's checks. `null`: do not cache
 * this request's answer at all (no fast path, no store). It must be cheap; it may be async.
 */
export type IdentifyCaller = (req: IncomingMessage) => CallerKey | null | Promise<CallerKey | null>;

/** The caches' key for a request whose caller nobody identified (no credentials at all). */
export const ANONYMOUS_CACHE_KEY: CallerKey = Object.freeze({
  principal: 'anonymous',
  authenticated: false,
});

/** Request headers that can change an answer or a check: each is part of the key. */
export const VARY_HEADERS = [
  // Content negotiation: application/json or application/graphql-response+json.
  'accept',
  // Yoga refuses some content types; CSRF prevention looks at it.
  'content-type',
  // CORS: the allowed origin is echoed in the answer.
  'origin',
  // CSRF prevention lets a GET or a form-like POST through only with one of these.
  ...CSRF_HEADERS,
] as const;

/** A request header that asks for a trace of this very execution. */
export const TRACE_HEADER = 'apollo-federation-include-trace';
/** {@link TRACE_HEADER}'s value for Apollo's inline trace (`extensions.ftv1`), the one routers send. */
export const INCLUDE_INLINE_TRACE = 'ftv1';

export interface StoredResponse {
  status: number;
  /** The answer's headers, Cache-Control and ETag included; no length or connection headers. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Strong entity tag of the body (GET answers), else `null`. */
  etag: string | null;
  /**
   * For an answer holding presigned URLs: when (epoch ms) its `max-age` runs out, so a replay says
   * how long is left; `null` when the stored `max-age` holds as it is.
   */
  freshUntil?: number | null;
}

/** A stored answer with its header lists ready for writeHead, built once when stored. */
interface ReadyResponse extends StoredResponse {
  /** `[name, value, name, value...]` with Content-Length. */
  flatHeaders: string[];
  /** The same for a 304: without Content-Type and Content-Length. */
  notModifiedHeaders: string[];
}

export interface ResponseCacheEvent {
  cache: 'response';
  /** `hit`: answered from memory (200 or 304); `miss`: went to GraphQL; `store`: kept. */
  outcome: 'hit' | 'miss' | 'store';
}

export interface ResponseCacheOptions {
  /** Most bytes kept: bodies, keys and headers. */
  maxBytes: number;
  /**
   * How long an entry is kept (its answer never changes; this only bounds a deleted job). An
   * entry stored with a shorter time (an answer holding presigned URLs) keeps that.
   */
  ttlMs: number;
  /** Now, in epoch ms; default Date.now. */
  clock?: (() => number) | undefined;
}

export interface ResponseCache {
  /** The key of a request; `body` is the exact POST body (`null` for GET). */
  keyOf(req: IncomingMessage, body: Buffer | null, caller: CallerKey): string;
  get(key: string): ReadyResponse | undefined;
  /** Keeps an answer for `ttlMs` (at most the cache's own time; default that time). */
  set(key: string, response: StoredResponse, ttlMs?: number): void;
  /** Entries held now. */
  readonly size: number;
}

/** Headers never replayed: they describe one connection or one transfer. */
const HOP_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'date',
  'x-request-id',
]);

/** `length:text`, so no two different part lists make the same key. */
function part(text: string): string {
  return `${text.length}:${text}`;
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The headers with Cache-Control's `max-age` set to `seconds`. */
function withMaxAge(headers: Array<[string, string]>, seconds: number): Array<[string, string]> {
  return headers.map(([name, value]) =>
    name.toLowerCase() === 'cache-control'
      ? [name, value.replace(/max-age=\d+/, `max-age=${seconds}`)]
      : [name, value],
  );
}

/** Header lists ready for writeHead, for a 200 and a 304. */
function flatten(headers: Array<[string, string]>, bodyLength: number) {
  return {
    flatHeaders: [...headers.flat(), 'content-length', String(bodyLength)],
    notModifiedHeaders: notModifiedHeaders(headers).flat(),
  };
}

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const clock = options.clock ?? Date.now;
  const entries = new LRUCache<string, ReadyResponse>({
    maxSize: options.maxBytes,
    ttl: options.ttlMs,
    // A clock of the caller's (tests) is asked every time (see cache.ts).
    ...(options.clock === undefined ? {} : { perf: { now: options.clock }, ttlResolution: 0 }),
    sizeCalculation: (value, key) =>
      // Bodies and keys, plus a rough allowance for the headers and the entry itself.
      value.body.length + key.length + 64 * (value.headers.length + 2),
  });
  return {
    keyOf(req, body, caller) {
      let key = part(caller.principal) + part(req.method ?? '');
      // Bodies are compared byte for byte; latin1 maps each byte to one character, losslessly.
      key += body === null ? part(req.url ?? '') : part(body.toString('latin1'));
      for (const name of VARY_HEADERS) key += part(header(req, name));
      return key;
    },
    get(key) {
      const stored = entries.get(key);
      if (stored === undefined || stored.freshUntil === null || stored.freshUntil === undefined) {
        return stored;
      }
      // Its max-age counts down to the expiry of its presigned URLs (the entry goes before).
      const left = Math.max(0, Math.floor((stored.freshUntil - clock()) / 1000));
      return { ...stored, ...flatten(withMaxAge(stored.headers, left), stored.body.length) };
    },
    set(key, response, ttlMs) {
      const headers = response.headers.filter(([name]) => !HOP_HEADERS.has(name.toLowerCase()));
      const ttl = Math.floor(Math.min(options.ttlMs, ttlMs ?? options.ttlMs));
      if (ttl <= 0) return;
      entries.set(
        key,
        { ...response, headers, ...flatten(headers, response.body.length) },
        { ttl },
      );
    },
    get size() {
      return entries.size;
    },
  };
}

/** A strong entity tag for a body: its SHA-1, base64url (RFC 9110 §8.8.3). */
export function entityTag(body: string | Buffer): string {
  return `"${hash('sha1', body, 'base64url')}"`;
}

/**
 * If-None-Match against our tag, with the weak comparison RFC 9110 §13.1.2 asks for: `*`, or any
 * listed tag equal to ours once a `W/` prefix is ignored.
 */
export function matchesIfNoneMatch(value: string | null | undefined, etag: string): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (value.trim() === '*') return true;
  const ours = etag.startsWith('W/') ? etag.slice(2) : etag;
  return value.split(',').some((tag) => {
    const trimmed = tag.trim();
    return (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === ours;
  });
}

/** Headers a 304 keeps: all but those describing the body that is not sent. */
export function notModifiedHeaders(headers: Array<[string, string]>): Array<[string, string]> {
  return headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== 'content-type' && lower !== 'content-length';
  });
}

/**
 * `headers` after this request's own, in the order the edge used to set them: its id, then
 * `connection: close` from a draining replica.
 */
function withRequestHeaders(headers: string[], requestId: string, closing: boolean): string[] {
  return closing
    ? ['x-request-id', requestId, 'connection', 'close', ...headers]
    : ['x-request-id', requestId, ...headers];
}

/**
 * Writes a stored answer, or 304 when a GET's If-None-Match matches it, with the request's id
 * (and `connection: close` when `closing`) first, all in one writeHead: `res` must have no
 * headers set yet (Node takes a slower path when writeHead's headers meet earlier setHeader
 * calls). Returns the status.
 */
export function sendStored(
  req: IncomingMessage,
  res: ServerResponse,
  stored: ReadyResponse,
  requestId: string,
  closing: boolean,
): number {
  if (
    stored.etag !== null &&
    req.method === 'GET' &&
    matchesIfNoneMatch(header(req, 'if-none-match'), stored.etag)
  ) {
    res.writeHead(304, withRequestHeaders(stored.notModifiedHeaders, requestId, closing));
    res.end();
    return 304;
  }
  res.writeHead(stored.status, withRequestHeaders(stored.flatHeaders, requestId, closing));
  res.end(stored.body);
  return stored.status;
}
