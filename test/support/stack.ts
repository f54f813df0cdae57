/**
 * The one test harness: a local Amplify, one or more gateway apps reaching it through the real AWS
 * SDK over HTTP, optionally served over real HTTP, and optionally the releases subgraph beside
 * them for federation tests. Everything listens on 127.0.0.1, on ephemeral ports, and `close()`
 * stops all of it in reverse order.
 *
 * Gateways here default to AUTH=none (no access control), like the demo: `post` and `graphql` go
 * through `yoga.fetch`, past the HTTP edge where credentials are checked, as the anonymous caller.
 * Access control is tested over real HTTP (`listen()`), with API_KEYS, JWT_* or ROUTER_SECRET in
 * `env`.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { type Config, loadConfig } from '../../src/config.js';
import { type CacheEventListener, createGatewayApp, type GatewayApp } from '../../src/http/app.js';
import { loadGraphiQLRenderer } from '../../src/http/graphiql.js';
import type { IdentifyCaller } from '../../src/http/response-cache.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import {
  type LocalAmplify,
  type LocalAmplifyOptions,
  startLocalAmplify,
} from '../../src/local-amplify/index.js';
import { createObservability, type Observability } from '../../src/observability/index.js';
import { ANONYMOUS_CALLER } from '../../src/schema/identity.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';
import type { AmplifyUpstream } from '../../src/upstream/upstream.js';
import type { WireProblem } from '../../src/upstream/wire-check.js';
import {
  planReleases,
  type ReleaseRecord,
  type RunningReleasesSubgraph,
  startReleasesSubgraph,
} from './releases-subgraph.js';
import { jobsFromDistinctBranches } from './world.js';

export const silentLog = pino({ level: 'silent' });

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{
    message: string;
    path?: Array<string | number>;
    locations?: Array<{ line: number; column: number }>;
    extensions?: Record<string, unknown> & { code?: string };
  }>;
  extensions?: Record<string, unknown>;
}

export interface GraphQLReply {
  status: number;
  headers: Headers;
  body: GraphQLBody;
}

export interface GraphQLRequest {
  /** Absent when a trusted document is named by `extensions.persistedQuery` or `documentId`. */
  query?: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
  documentId?: string;
}

/**
 * The gateway's config as environment `env` would give it, with test defaults: no /ready probe,
 * no logs, no GraphiQL, no access control (AUTH=none), and no caches across requests (most tests
 * count the Amplify calls each request makes; the cache tests turn them on with CACHE_MAX_ENTRIES
 * and RESPONSE_CACHE_MAX_BYTES).
 */
export function testConfig(env: Record<string, string> = {}): Config {
  const loaded = loadConfig(
    {},
    {
      READINESS_PROBE: 'off',
      LOG_LEVEL: 'silent',
      GRAPHIQL: 'false',
      AUTH: 'none',
      CACHE_MAX_ENTRIES: '0',
      RESPONSE_CACHE_MAX_BYTES: '0',
      ...env,
    },
  );
  if (!loaded.ok) throw new Error(`bad test config: ${loaded.problems.join('; ')}`);
  return loaded.config;
}

/** For tests that must never reach Amplify: any call fails the request loudly. */
const refuse = () => Promise.reject(new Error('this test must not call Amplify'));
export const noUpstream: AmplifyUpstream = {
  getJob: refuse,
  getApp: refuse,
  getBranch: refuse,
  listApps: refuse,
  listBranches: refuse,
  listJobs: refuse,
  getStepLog: refuse,
  checkReady: refuse,
  startJob: refuse,
  stopJob: refuse,
  region: () => Promise.resolve('us-east-1'),
  destroy: () => {},
};

export interface Gateway {
  app: GatewayApp;
  config: Config;
  /** Its metrics registry and, when OTEL_* is set in `env`, its tracing. */
  observability: Observability;
  /** Unknown enum values the gateway reported, in order. */
  unknownValues: Array<[string, string]>;
  /** Malformed members and entries of Amplify answers the shape check reported, in order. */
  wireProblems: WireProblem[];
  /** POSTs one operation through `yoga.fetch` (no socket) and returns status, headers, body. */
  post(request: GraphQLRequest, headers?: Record<string, string>): Promise<GraphQLReply>;
  /** The same, returning only the parsed body. */
  graphql(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLBody>;
  /** Serves this gateway over real HTTP (once; later calls return the same server). */
  listen(): Promise<RunningServer>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** The gateway's environment on top of the test defaults. */
  env?: Record<string, string>;
  /** Where Amplify calls go: a local Amplify (through the real SDK), or a hand-made upstream. */
  upstream: LocalAmplify | AmplifyUpstream;
  log?: Logger;
  /** Who is asking, for the caches (default: everyone is anonymous). */
  identify?: IdentifyCaller;
  /** Told about cache hits, misses and Redis availability. */
  onCacheEvent?: CacheEventListener;
  /**
   * Wraps the upstream the gateway gets (the SDK upstream on a local Amplify), e.g. to count calls
   * per read method or to change one answer the local Amplify cannot give.
   */
  wrap?: (upstream: AmplifyUpstream) => AmplifyUpstream;
  /** The gateway's clock (epoch ms), e.g. to reach a presigned URL's expiry; default Date.now. */
  clock?: () => number;
}

let requestCounter = 0;

/** A gateway app; with a local Amplify, tests default to one attempt and a 2 s request timeout. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const target = options.upstream;
  const la = 'world' in target ? target : null;
  // Tests must not wait seconds on SDK backoff unless they ask for retries.
  const config = testConfig({
    ...(la ? { UPSTREAM_MAX_ATTEMPTS: '1', UPSTREAM_REQUEST_TIMEOUT_MS: '2000' } : {}),
    ...options.env,
  });
  const log = options.log ?? silentLog;
  const observability = await createObservability(config);
  const unknownValues: Array<[string, string]> = [];
  const wireProblems: WireProblem[] = [];
  const inner =
    la === null
      ? (target as AmplifyUpstream)
      : createSdkUpstream({
          config: config.upstream,
          ...la.clientConfig(),
          onUnknownValue: (enumName, value) => unknownValues.push([enumName, value]),
          onWireProblem: (problem) => wireProblems.push(problem),
          observers: observability.upstreamObservers,
        });
  const upstream = options.wrap ? options.wrap(inner) : inner;
  const app = createGatewayApp({
    config,
    upstream,
    log,
    renderGraphiQL: await loadGraphiQLRenderer(config),
    observability,
    ...(options.identify ? { identify: options.identify } : {}),
    ...(options.onCacheEvent ? { onCacheEvent: options.onCacheEvent } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let server: Promise<RunningServer> | null = null;

  const post = async (request: GraphQLRequest, headers: Record<string, string> = {}) => {
    requestCounter += 1;
    const response = await app.yoga.fetch(
      'http://gateway.test/graphql',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(request),
      },
      { requestId: `test-${requestCounter}`, log, caller: ANONYMOUS_CALLER },
    );
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as GraphQLBody,
    };
  };

  return {
    app,
    config,
    observability,
    unknownValues,
    wireProblems,
    post,
    async graphql(query, variables, headers) {
      return (await post({ query, ...(variables ? { variables } : {}) }, headers)).body;
    },
    listen() {
      server ??= listen(
        app,
        {
          port: 0,
          host: '127.0.0.1',
          shutdownTimeoutMs: 1000,
          responseDrainTimeoutMs: config.responseDrainTimeoutMs,
          requestTimeoutMs: config.requestTimeoutMs,
          maxConnections: config.maxConnections,
        },
        log,
      );
      return server;
    },
    async close() {
      if (server !== null) await (await server).close();
      await app.yoga.dispose();
      await app.close();
      // A wrapper passes destroy() on to what it wraps.
      upstream.destroy();
      await observability.shutdown();
    },
  };
}

export interface StackOptions {
  /** The first gateway's environment on top of the test defaults. */
  env?: Record<string, string>;
  /** Local Amplify options; by default seed 1 with a frozen clock, so data holds still. */
  amplify?: Partial<LocalAmplifyOptions>;
  log?: Logger;
  /** Also start the releases subgraph, over one job from each of this many distinct branches. */
  releases?: number;
  /** The first gateway's caller identification and cache listener. */
  identify?: IdentifyCaller;
  onCacheEvent?: CacheEventListener;
  /** The first gateway's clock. */
  clock?: () => number;
}

/** What else a gateway of a stack may be given besides its environment. */
export type StackGatewayOptions = Pick<
  GatewayOptions,
  'identify' | 'onCacheEvent' | 'wrap' | 'clock'
>;

export interface Stack extends Gateway {
  la: LocalAmplify;
  /** Another gateway app on the same local Amplify, closed with the stack. */
  gateway(env?: Record<string, string>, options?: StackGatewayOptions): Promise<Gateway>;
  /** The releases subgraph and what it serves, when asked for. */
  releases: (RunningReleasesSubgraph & { records: ReleaseRecord[] }) | null;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const la = await startLocalAmplify({
    port: 0,
    host: '127.0.0.1',
    seed: 1,
    speed: 0,
    ...options.amplify,
  });
  const gateways: Gateway[] = [];
  const gateway = async (env: Record<string, string> = {}, extra: StackGatewayOptions = {}) => {
    const created = await createGateway({
      upstream: la,
      env,
      ...(options.log ? { log: options.log } : {}),
      ...extra,
    });
    gateways.push(created);
    return created;
  };
  const first = await gateway(options.env, {
    ...(options.identify ? { identify: options.identify } : {}),
    ...(options.onCacheEvent ? { onCacheEvent: options.onCacheEvent } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let releases: Stack['releases'] = null;
  if (options.releases !== undefined) {
    const records = planReleases(jobsFromDistinctBranches(la, options.releases));
    releases = { ...(await startReleasesSubgraph(records)), records };
  }
  return {
    ...first,
    la,
    gateway,
    releases,
    async close() {
      await releases?.close();
      for (const created of gateways.reverse()) await created.close();
      await la.close();
    },
  };
}
