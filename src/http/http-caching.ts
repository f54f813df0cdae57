/**
 * HTTP caching of GraphQL answers, as browsers, CDNs and the Apollo Router's response cache
 * understand it:
 *
 * - An answer to a query that read only finished jobs (every read immutable, see
 *   src/loaders/reads.ts) and has no errors carries `Cache-Control: public, max-age=N, immutable`
 *   (`private` when the caller is authenticated). Anything else carries `no-store`: a job still
 *   going, an app, branch or list page, an error, a mutation, an answer that read nothing, a
 *   request GraphQL refused before executing.
 * - A GET answer (200) carries a strong `ETag`; `If-None-Match` with it gets 304.
 * - An immutable answer whose request the edge keyed for the fast path is stored in the response
 *   cache (response-cache.ts), to be replayed without running GraphQL.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ReadLog } from '../loaders/reads.js';
import type { GatewayContext } from '../schema/context.js';
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
        response.headers.set(
          'cache-control',
          immutable && options.maxAgeS > 0
            ? `${caller.authenticated ? 'private' : 'public'}, max-age=${options.maxAgeS}, immutable`
            : 'no-store',
        );
        if (immutable) response.headers.append('vary', 'Accept');

        const key = serverContext.responseCacheKey;
        const store = immutable && responseCache !== null && key !== undefined;
        const isGet = request.method === 'GET';
        if (response.status !== 200 || (!isGet && !store)) return;
        if (!(response.headers.get('content-type') ?? '').includes('json')) return;

        const body = await response.text();
        const etag = isGet ? entityTag(body) : null;
        const headers = new fetchAPI.Headers(response.headers);
        if (etag !== null) headers.set('etag', etag);
        const list = headerList(headers);
        if (store && responseCache !== null && key !== undefined) {
          responseCache.set(key, { status: 200, headers: list, body: Buffer.from(body), etag });
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
