/**
 * HTTP caching of GraphQL answers, as browsers, CDNs and the Apollo Router's response cache
 * understand it:
 *
 * - An answer to a query that read only finished jobs (every read immutable, see
 *   src/loaders/reads.ts) and has no errors carries `Cache-Control: public, max-age=N, immutable`
 *   (`private` when the caller is authenticated). Anything else carries `no-store`: a job still
 *   going, an app, branch or list page, an error, a mutation, an answer that read nothing, a
 *   request GraphQL refused before executing.
 * - An answer holding presigned URLs (the answer's text is scanned: presigned.ts) is kept, here
 *   and in the fast path, only until its earliest URL expires less a margin: its `max-age` is
 *   capped to that (`no-store` when less than a second is left), and it is always `private`, never
 *   `public`: a URL is a bearer credential, which no shared cache (a CDN, a router's response
 *   cache) may hand to another client, even behind a router secret or without access control.
 * - A GET answer (200) carries a strong `ETag`; `If-None-Match` with it gets 304.
 * - An immutable answer whose request the edge keyed for the fast path is stored in the response
 *   cache (response-cache.ts), to be replayed without running GraphQL.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ReadLog } from '../loaders/reads.js';
import type { GatewayContext } from '../schema/context.js';
import { earliestExpiryInText, presignedLifetimeMs } from '../upstream/presigned.js';
import {
  ANONYMOUS_CACHE_KEY,
  entityTag,
  matchesIfNoneMatch,
  notModifiedHeaders,
  type ResponseCache,
  type ResponseCacheEvent,
} from './response-cache.js';
import type { ServerContext } from './yoga.js';

export interface HttpCachingOptions {
  /** max-age of immutable answers, in seconds; 0: `no-store` on every answer. */
  maxAgeS: number;
  /** Where the fast path's answers are kept; `null`: the fast path is off. */
  responseCache: ResponseCache | null;
  onEvent?: ((event: ResponseCacheEvent) => void) | undefined;
  /** Now, in epoch ms, for the expiry of presigned URLs; default Date.now. */
  clock?: (() => number) | undefined;
}

/** What is known about one request's GraphQL execution. */
interface Outcome {
  reads: ReadLog;
  /** A query executed to a single result without errors. */
  cleanQuery: boolean;
}

export interface HttpCaching {
  /** Links a request to its context's read log; the context factory calls it. */
  track(request: Request, reads: ReadLog): void;
  plugin: Plugin<GatewayContext, ServerContext>;
}

function headerList(headers: Headers): Array<[string, string]> {
  const list: Array<[string, string]> = [];
  headers.forEach((value, name) => {
    list.push([name, value]);
  });
  return list;
}

export function createHttpCaching(options: HttpCachingOptions): HttpCaching {
  const byRequest = new WeakMap<Request, Outcome>();
  const byReads = new WeakMap<ReadLog, Outcome>();
  const { responseCache } = options;
  const clock = options.clock ?? Date.now;

  return {
    track(request, reads) {
      const outcome: Outcome = { reads, cleanQuery: false };
      byRequest.set(request, outcome);
      byReads.set(reads, outcome);
    },
    plugin: {
      onExecute({ args }) {
        const outcome = byReads.get(args.contextValue.reads);
        if (outcome === undefined) return;
        const operation = getOperationAST(args.document, args.operationName)?.operation;
        return {
          onExecuteDone({ result }) {
            // A stream of results (defer, stream, subscriptions) is never cached.
            outcome.cleanQuery =
              operation === 'query' &&
              !(Symbol.asyncIterator in result) &&
              (result.errors === undefined || result.errors.length === 0);
          },
        };
      },
      async onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
        const outcome = byRequest.get(request);
        const immutable =
          outcome?.cleanQuery === true && outcome.reads.immutableOnly && response.status === 200;
        const caller = serverContext.cacheCaller ?? ANONYMOUS_CACHE_KEY;
        if (outcome === undefined && response.headers.has('cache-control')) return;
        const isGet = request.method === 'GET';
        const json = (response.headers.get('content-type') ?? '').includes('json');
        // The body decides how long an immutable answer lasts (its presigned URLs), and a GET's
        // ETag; nothing else is read.
        const body =
          response.status === 200 && json && (immutable || isGet) ? await response.text() : null;
        const expiresAt = immutable && body !== null ? earliestExpiryInText(body) : null;
        const freshForMs = presignedLifetimeMs(expiresAt, clock());
        const cacheable = immutable && body !== null && freshForMs >= 1000;
        const maxAgeS = Math.min(options.maxAgeS, Math.floor(freshForMs / 1000));
        // A presigned URL is a bearer credential: no shared cache may keep it for others.
        const scope = caller.authenticated || expiresAt !== null ? 'private' : 'public';
        const cacheControl =
          cacheable && maxAgeS > 0 ? `${scope}, max-age=${maxAgeS}, immutable` : 'no-store';
        // Set on Yoga's response before copying its headers: a copy of headers never changed lost
        // the content type (seen with Yoga's Node adapter).
        response.headers.set('cache-control', cacheControl);
        if (body === null) return;
        if (cacheable) response.headers.append('vary', 'Accept');
        const headers = new fetchAPI.Headers(response.headers);

        const key = serverContext.responseCacheKey;
        const etag = isGet ? entityTag(body) : null;
        if (etag !== null) headers.set('etag', etag);
        const list = headerList(headers);
        if (cacheable && responseCache !== null && key !== undefined) {
          responseCache.set(
            key,
            {
              status: 200,
              headers: list,
              body: Buffer.from(body),
              etag,
              freshUntil: expiresAt === null ? null : clock() + freshForMs,
            },
            freshForMs,
          );
          options.onEvent?.({ cache: 'response', outcome: 'store' });
        }
        if (etag !== null && matchesIfNoneMatch(request.headers.get('if-none-match'), etag)) {
          setResponse(
            new fetchAPI.Response(null, { status: 304, headers: notModifiedHeaders(list) }),
          );
          return;
        }
        setResponse(new fetchAPI.Response(body, { status: 200, headers }));
      },
    },
  };
}
