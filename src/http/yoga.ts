/**
 * The GraphQL server for /graphql: Yoga over the subgraph schema, with its plugins in the order
 * they run. Transport checks that must happen before any GraphQL work (body size, router secret)
 * and the immutable-response fast path are the HTTP edge's (app.ts); HTTP caching headers are set
 * by the last plugin here (http-caching.ts).
 */
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { type ContextDeps, createGatewayContext, type GatewayContext } from '../schema/context.js';
import type { CallerIdentity } from '../schema/identity.js';
import { buildSchema } from '../schema/index.js';
import { corsSetting, useCsrfPrevention, useVaryOrigin } from './browser-access.js';
import type { GraphiQLExample, GraphiQLRenderer } from './graphiql.js';
import { useGraphQLConformance } from './graphql-conformance.js';
import { maskError, useErrorLog, yogaLogger } from './graphql-errors.js';
import type { HttpCaching } from './http-caching.js';
import type { CallerKey } from './response-cache.js';
import { type createSseStreams, useSseStreams } from './sse.js';

/** What the HTTP edge hands to Yoga with each request. */
export interface ServerContext {
  requestId: string;
  log: Logger;
  /** Who is asking, as the edge identified them for the caches; absent: anonymous. */
  caller?: CallerKey;
  /** The fast path's key for this request, when its answer may be stored for replay. */
  responseCacheKey?: string;
  /** Who is calling and what they may do; absent: no access control (anonymous, every scope). */
  identity?: CallerIdentity;
  /** The peer's address, for the per-client subscription limit of anonymous callers. */
  clientAddress?: string | undefined;
}

export type GraphQLServer = YogaServerInstance<ServerContext, GatewayContext>;

export interface GraphQLServerOptions {
  config: Config;
  deps: ContextDeps;
  log: Logger;
  renderGraphiQL: GraphiQLRenderer | undefined;
  example: GraphiQLExample;
  httpCaching: HttpCaching;
  /** The app's open SSE streams (closed on shutdown). */
  sseStreams: ReturnType<typeof createSseStreams>;
}

export function createGraphQLServer(options: GraphQLServerOptions): GraphQLServer {
  const { config, deps, log, example, httpCaching } = options;
  const schema = buildSchema();
  return createYoga<ServerContext, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Checked from the Content-Length header by the HTTP edge: Yoga's streaming limit costs a
    // quarter of its CPU per request (stack notes).
    maxRequestBodySize: false,
    context: ({ request, requestId, log: requestLog, caller, identity, clientAddress }) => {
      const context = createGatewayContext(deps, {
        requestId,
        log: requestLog,
        identity,
        clientAddress,
        principal: caller?.authenticated === true ? caller.principal : undefined,
      });
      httpCaching.track(request, context.reads);
      return context;
    },
    maskedErrors: { maskError },
    // Browser-origin safety: CORS_ORIGINS only, Vary: Origin, CSRF prevention (browser-access.ts).
    cors: corsSetting(config.corsOrigins),
    ...(options.renderGraphiQL ? { renderGraphiQL: options.renderGraphiQL } : {}),
    graphiql: config.graphiql
      ? {
          title: 'Amplify jobs GraphQL',
          defaultQuery: example.query,
          ...(example.variables ? { variables: JSON.stringify(example.variables, null, 2) } : {}),
        }
      : false,
    logging: yogaLogger(log),
    plugins: [
      useCsrfPrevention(),
      useVaryOrigin(config.corsOrigins),
      // Answers exactly as the GraphQL spec and GraphQL-over-HTTP say (graphql-conformance.ts).
      useGraphQLConformance(schema),
      // Federated tracing: a router sending `apollo-federation-include-trace: ftv1` gets an
      // inline trace in `extensions.ftv1`; others pay nothing.
      useApolloInlineTrace(),
      useErrorLog(),
      // Subscriptions over SSE: keep-alives, freeing on disconnect, closing on shutdown.
      useSseStreams({ keepAliveMs: config.live.keepAliveMs }, options.sseStreams),
      // Last, so the headers it sets are final: Cache-Control, ETag, 304, the fast path's store.
      httpCaching.plugin,
    ],
  });
}
