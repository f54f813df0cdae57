/**
 * The GraphQL server for /graphql: Yoga over the subgraph schema, with its plugins in the order
 * they run. Transport checks that must happen before any GraphQL work (body size, credentials)
 * and the immutable-response fast path are the HTTP edge's (app.ts); what needs the document
 * (trusted documents, operation limits, the upstream-call budget, scopes) is checked here, before
 * execution; HTTP caching headers are set by the last plugin here (http-caching.ts).
 */
import { useApolloInlineTrace } from '@graphql-yoga/plugin-apollo-inline-trace';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { type ContextDeps, createGatewayContext, type GatewayContext } from '../schema/context.js';
import { type CallerIdentity, UNIDENTIFIED_CALLER } from '../schema/identity.js';
import { buildSchema, buildSchemaCopy } from '../schema/index.js';
import { createUpstreamCosts } from '../schema/upstream-costs.js';
import { useScopeCheck } from './auth.js';
import {
  corsSetting,
  useCsrfPrevention,
  usePreflightWithoutCors,
  useVaryOrigin,
} from './browser-access.js';
import { useGraphQLConformance } from './graphql-conformance.js';
import { maskError, useErrorLog, yogaLogger } from './graphql-errors.js';
import type { HttpCaching } from './http-caching.js';
import { useOperationLimits } from './operation-limits.js';
import type { CallerKey } from './response-cache.js';
import { type createSseStreams, useSseStreams } from './sse.js';
import { usePersistedQueryNotSupported, useTrustedDocuments } from './trusted-documents.js';

/** What the HTTP edge hands to Yoga with each request. */
export interface ServerContext {
  requestId: string;
  log: Logger;
  /** Established by the HTTP edge from the request's credentials (auth.ts). */
  caller: CallerIdentity;
  /** How the caches name the caller (its principal and scopes); absent: never cached. */
  cacheCaller?: CallerKey;
  /** The fast path's key for this request, when its answer may be stored for replay. */
  responseCacheKey?: string;
  /** The request's client (`clientAddressOf`), for the per-client subscription limit. */
  clientAddress?: string | undefined;
}

export type GraphQLServer = YogaServerInstance<ServerContext, GatewayContext>;

export interface GraphQLServerOptions {
  config: Config;
  deps: ContextDeps;
  log: Logger;
  httpCaching: HttpCaching;
  metrics: GatewayMetrics;
  tracing: Tracing | null;
  /** The trusted documents by hash; `null`: any operation may run. */
  trustedDocuments: ReadonlyMap<string, string> | null;
  /** The app's open SSE streams (closed on shutdown). */
  sseStreams: ReturnType<typeof createSseStreams>;
  /**
   * Whether this server answers with Apollo's inline trace (`extensions.ftv1`), for the requests a
   * router sends with `apollo-federation-include-trace: ftv1` (the HTTP edge routes them here). Such
   * a server runs on a copy of the schema: the trace plugin wraps the resolver of every field, which
   * cost the other requests a fifth of a job-history page's CPU while it shared their schema.
   */
  federatedTracing?: boolean;
}

export function createGraphQLServer(options: GraphQLServerOptions): GraphQLServer {
  const { config, deps, log, httpCaching, metrics } = options;
  const federatedTracing = options.federatedTracing === true;
  const schema = federatedTracing ? buildSchemaCopy() : buildSchema();
  return createYoga<ServerContext, GatewayContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Checked from the Content-Length header by the HTTP edge: Yoga's streaming limit costs a
    // quarter of its CPU per request (stack notes).
    maxRequestBodySize: false,
    context: ({ request, requestId, log: requestLog, caller, clientAddress }) => {
      const context = createGatewayContext(deps, {
        requestId,
        log: requestLog,
        caller: caller ?? UNIDENTIFIED_CALLER,
        clientAddress,
        signal: request.signal,
      });
      httpCaching.track(request, context.reads);
      return context;
    },
    maskedErrors: { maskError },
    // Browser-origin safety: CORS_ORIGINS only, Vary: Origin, CSRF prevention (browser-access.ts).
    cors: corsSetting(config.corsOrigins),
    // GraphiQL's page is the HTTP edge's (graphiql.ts: rendered once, served as shared bytes).
    graphiql: false,
    logging: yogaLogger(log),
    plugins: [
      // First, so the operation's span covers everything after it.
      ...(options.tracing ? [options.tracing.graphqlPlugin()] : []),
      useCsrfPrevention(),
      useVaryOrigin(config.corsOrigins),
      usePreflightWithoutCors(),
      // Trusted documents, or else the standard refusal of operations sent by hash only (APQ).
      options.trustedDocuments
        ? useTrustedDocuments(options.trustedDocuments, metrics)
        : usePersistedQueryNotSupported(),
      // Answers exactly as the GraphQL spec and GraphQL-over-HTTP say (graphql-conformance.ts).
      useGraphQLConformance(schema),
      useScopeCheck(),
      ...useOperationLimits({
        limits: config.limits,
        introspection: config.introspection,
        costs: createUpstreamCosts({ stepLogMaxBytes: config.upstream.stepLogMaxBytes }),
      }),
      // Federated tracing: a router sending `apollo-federation-include-trace: ftv1` gets an
      // inline trace in `extensions.ftv1`, from the server made for it (see `federatedTracing`).
      ...(federatedTracing ? [useApolloInlineTrace()] : []),
      metrics.graphqlPlugin(),
      useErrorLog(),
      // Subscriptions over SSE: keep-alives, freeing on disconnect, closing on shutdown.
      useSseStreams({ keepAliveMs: config.live.keepAliveMs }, options.sseStreams),
      // Last, so the headers it sets are final: Cache-Control, ETag, 304, the fast path's store.
      httpCaching.plugin,
    ],
  });
}
