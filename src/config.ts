/**
 * The gateway's configuration, declared once: the only module that reads `process.env`. Each
 * variable below has its schema (type, range), default and description; parsing, the start-up
 * report (every problem at once), the nested `Config` object and the README's configuration table
 * (`npm run docs:config`) all come from these declarations. A disabled feature is `null`.
 */
import type { z } from 'zod';
import {
  apiKeys,
  bool,
  decimal,
  declare,
  type Env,
  foreign,
  httpsUrl,
  httpUrl,
  int,
  keyPrefix,
  nonEmpty,
  oneOf,
  optionalText,
  origins,
  redisUrl,
  secret,
  trustedProxies,
  type Variable,
} from './config-kinds.js';

export type { ApiKeyEntry } from './config-kinds.js';

const MIB = 1024 * 1024;

/** ACCESS_LOG's choices: a line for every request, for answers of 400 or more, or for none. */
export const ACCESS_LOG_MODES = ['all', 'errors', 'off'] as const;
const DAY_MS = 86_400_000;

const sdk = (description: string) => foreign('AWS SDK', description);
const otelSdk = (description: string) => foreign('OpenTelemetry SDK', description);

// biome-ignore format: one variable per line, read as a table
export const GATEWAY_VARIABLES = {
  PORT: declare(int(0, 65535), '4000', 'TCP port to listen on (0 picks a free port).'),
  HOST: declare(nonEmpty, '0.0.0.0', 'Interface to listen on (the demo defaults to 127.0.0.1).'),
  LOG_LEVEL: declare(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info', 'fatal, error, warn, info, debug, trace or silent.'),
  ACCESS_LOG: declare(oneOf(ACCESS_LOG_MODES), 'all', 'The access log, one `request` line per GraphQL request at level info (request id, method, path, status, caller, milliseconds, fast-path hits marked `cache: hit`). `all`; `errors`: only answers with an HTTP status of 400 or more; `off`: none. Other logs and the metrics (`gateway_http_responses_total`) are not affected. Lines are most of what a repeated finished-job answer costs beyond HTTP itself: with `off`, such an answer took a quarter less CPU on the bench machine (docs/performance.md). Turn it down where a load balancer, an ingress or the router already logs each request.'),
  LOG_BUFFER_BYTES: declare(int(0, 16 * 1024), '4096', 'Bytes of log lines gathered before one write to stdout, a second late at most; 0 writes each line as it comes. Buffered lines are written when the process exits, even on a crash; only SIGKILL (an out-of-memory kill) loses them.'),
  MEMORY_TRIM_IDLE_MS: declare(int(0, 3_600_000), '60000', 'After this many milliseconds without a new request to /graphql or /events/amplify (probes and scrapes do not count), if the resident set grew by MEMORY_TRIM_MIN_GROWTH_BYTES since the last trim, run one memory-reducing garbage collection so the memory a burst took goes back to the system. It pauses the event loop for about 100 ms and drops compiled code, so the next seconds of traffic run up to twice as slow: keep it well above the gaps of bursty traffic. 0: never. `npm start` and the image only, not the demo.'),
  MEMORY_TRIM_MIN_GROWTH_BYTES: declare(int(MIB, 1024 * MIB), String(16 * MIB), 'Growth of the resident set since the last trim (or the start) that makes a quiet spell worth a trim (MEMORY_TRIM_IDLE_MS).'),
  MEMORY_REDUCER_WAKE_MS: declare(int(0, 60_000).refine((ms) => ms === 0 || ms >= 1000, { error: 'must be 0 (off) or from 1000 to 60000: V8 looks every 8 s, so more often gains nothing' }), '0', 'Every this many milliseconds, allocate one tiny object on V8\'s C++ heap, so that V8\'s own memory reducer (which on Node 24 takes a process that never allocates there for a busy one) sees a quiet process as quiet and gives a burst\'s memory back 2-16 s after it ends, in short incremental steps (e.g. 5000; at least 1000). Off by default: after each of its collections the hot code is optimised again, so the next seconds of traffic cost up to a third more CPU. 0: off. `npm start` and the image only, not the demo.'),
  UPSTREAM_CONNECT_TIMEOUT_MS: declare(int(1, 60_000), '1000', 'Milliseconds to open a connection to Amplify before giving up on that attempt.'),
  UPSTREAM_REQUEST_TIMEOUT_MS: declare(int(1, 300_000), '5000', 'Milliseconds one attempt of one Amplify call may take.'),
  UPSTREAM_MAX_ATTEMPTS: declare(int(1, 10), '3', 'Attempts per Amplify call, the first included (standard retry mode, 1..10).'),
  UPSTREAM_MAX_CONCURRENCY: declare(int(1, 100), '10', 'Most Amplify calls one GraphQL request may have in flight at once (1..100).'),
  UPSTREAM_MAX_SOCKETS: declare(int(1, 1000), '50', 'Keep-alive connections the process keeps to Amplify at most.'),
  CORS_ORIGINS: declare(origins, '', 'Comma-separated browser origins allowed to call the API (`*` for any). Empty: same-origin only.'),
  GRAPHIQL: declare(bool, 'true', 'Serve GraphiQL to browsers at /graphql.'),
  MAX_BODY_BYTES: declare(int(1024, 10 * 1024 * 1024), '102400', 'Largest request body accepted; larger ones get HTTP 413.'),
  RESPONSE_DRAIN_TIMEOUT_MS: declare(int(0, 600_000), '30000', 'Milliseconds a client may take to read a response once the gateway has written it; then its connection is closed, so a client that stops reading holds no memory longer (0: no limit).'),
  MAX_CONNECTIONS: declare(int(0, 1_000_000), '0', 'Most HTTP connections open at once (SSE streams included); further ones are closed on arrival. 0: no cap.'),
  REQUEST_TIMEOUT_MS: declare(int(0, 600_000), '30000', 'Milliseconds a client may take to send a whole request (headers and body); then it gets 408 and its connection is closed, so a slow sender holds no connection longer (checked every few seconds; 0: no limit). Subscriptions are not affected: their request ends with its headers.'),
  SHUTDOWN_TIMEOUT_MS: declare(int(0, 600_000), '10000', 'On SIGTERM/SIGINT, how long in-flight requests may take to finish before connections are cut.'),
  ROUTER_SECRET: declare(secret, '', 'If set, every GraphQL request must carry it in the `x-router-secret` header (router-to-subgraph).'),
  ROUTER_SECRET_FALLBACK: declare(secret, '', 'A second router secret, also accepted in `x-router-secret` while a rotation runs (see Running in production). Needs ROUTER_SECRET; remove it once the router sends the new value.'),
  ROUTER_SCOPES: declare(oneOf(['read', 'read+write']), 'read', 'Scopes of a caller that shows the router secret alone (no API key or JWT configured): `read`, or `read+write` to trust the router\'s own authorization for `startJob` / `stopJob`.'),
  READINESS_PROBE: declare(oneOf(['upstream', 'off']), 'upstream', '`upstream`: /ready asks Amplify for one app (one attempt, at most every 5 s): not ready until that first succeeds or while Amplify refuses the credentials; an outage after that is reported in the body but keeps the replica ready. `off`: ready once listening.'),
  READINESS_TIMEOUT_MS: declare(int(100, 30_000), '1000', 'Milliseconds the /ready probe\'s one ListApps attempt may take; keep it well under the orchestrator\'s probe timeout (3 s in the Deployment).'),
  AUTH: declare(oneOf(['required', 'none']), 'required', '`required`: refuse to start unless API_KEYS, JWT_JWKS_URL or ROUTER_SECRET is set. `none`: serve without access control (the demo). Configured mechanisms are enforced either way.'),
  API_KEYS: declare(apiKeys, '', 'API keys as `id:scopes:sha256hex` entries separated by commas; scopes `read` or `read+write`. Only SHA-256 hashes are configured (see Running in production).'),
  JWT_JWKS_URL: declare(httpsUrl, '', 'JSON Web Key Set of the identity provider whose JWTs (`Authorization: Bearer`) are accepted; needs JWT_ISSUER and JWT_AUDIENCE.'),
  JWT_ISSUER: declare(optionalText, '', 'Required `iss` of accepted JWTs.'),
  JWT_AUDIENCE: declare(optionalText, '', 'Required `aud` of accepted JWTs (this API\'s identifier at the identity provider).'),
  JWT_JWKS_COOLDOWN_MS: declare(int(0, 3_600_000), '30000', 'Least milliseconds between two fetches of the key set (a token with an unknown `kid` causes one); keys are kept 10 minutes.'),
  INTROSPECTION: declare(bool, 'true', 'Answer introspection (`__schema`, `__type`). Off also hides every "Did you mean" suggestion (fields, arguments, types, enum values); `_service { sdl }` stays for routers and federation tooling.'),
  TRUSTED_DOCUMENTS: declare(optionalText, '', 'Path of a persisted-operations manifest: when set, only its operations run, sent by hash (trusted documents).'),
  RATE_LIMIT_REQUESTS: declare(int(0, 10_000_000), '0', 'GraphQL requests one caller may send per RATE_LIMIT_WINDOW_S; more answer HTTP 429 RATE_LIMITED with Retry-After, before any other work (fast path included). One caller: an API key, a JWT subject, or an address when anonymous; the router secret\'s caller is not limited. Counted in Redis across replicas when REDIS_URL is set (in each replica\'s memory while Redis is unusable), else per replica. 0: no limit.'),
  RATE_LIMIT_WINDOW_S: declare(int(1, 86_400), '60', 'Length in seconds of the fixed window RATE_LIMIT_REQUESTS counts in.'),
  TRUSTED_PROXIES: declare(trustedProxies, '', 'Load balancers and ingresses whose `X-Forwarded-For` header is believed: IP addresses, CIDR ranges (e.g. the ingress pods\' `10.0.0.0/8`) and `loopback`, `linklocal`, `uniquelocal`, comma-separated. A request from one of them is counted as the address it forwarded for (the nearest one not itself trusted), by the rate limit of anonymous callers and the per-client subscription limit. Empty: `X-Forwarded-For` is ignored and the TCP peer is the client. Never list addresses clients connect from directly: they could then name any address.'),
  MAX_ALIASES: declare(int(1, 100_000), '100', 'Most aliases in one operation (fragments included); aliases of `__typename`, which cost nothing, are not counted (MAX_TOKENS bounds them).'),
  MAX_DEPTH: declare(int(1, 1000), '16', 'Deepest field nesting in one operation, introspection included (fragments do not add depth).'),
  MAX_TOKENS: declare(int(1, 1_000_000), '8000', 'Most lexical tokens in one document; checked while parsing.'),
  MAX_DIRECTIVES: declare(int(1, 100_000), '50', 'Most directives in one operation.'),
  MAX_COST: declare(int(1, 100_000_000), '10000', 'Highest graphql-armor cost of one operation (objects 2, scalars 1, x1.5 per level; introspection excluded).'),
  MAX_UPSTREAM_CALLS_PER_OPERATION: declare(int(1, 10_000), '50', 'Most Amplify calls one operation may cause: estimated from the document and variables before execution (over: rejected, no call made) and enforced by the loaders while it runs.'),
  MAX_RESPONSE_BYTES: declare(int(64 * 1024, 1024 * MIB), String(8 * MIB), 'Largest answer one operation may give, in bytes: estimated before execution (each step log\'s `text` counted as STEP_LOG_MAX_BYTES, repeats included) and measured before the answer is written; over: OPERATION_LIMIT_EXCEEDED.'),
  MAX_ENTITY_REPRESENTATIONS: declare(int(1, 100_000), '100', 'Most federation representations `_entities` resolves in one operation (repeats included); a router that batches more raises it.'),
  CIRCUIT_BREAKER_FAILURES: declare(int(0, 1000), '5', 'Consecutive failed Amplify calls (5xx, timeouts, resets, unreadable answers; never 4xx) that open the circuit breaker; 0 turns it off.'),
  CIRCUIT_BREAKER_OPEN_MS: declare(int(100, 600_000), '10000', 'How long the open breaker answers UPSTREAM_UNAVAILABLE without calling Amplify before it lets one probe call through.'),
  THROTTLE_PAUSE_MS: declare(int(0, 60_000), '1000', 'After a call is still throttled once the SDK\'s retries are spent, new calls answer UPSTREAM_THROTTLED for this long without calling Amplify (doubling while throttling lasts, up to 30 s); 0 turns it off.'),
  METRICS: declare(bool, 'true', 'Serve Prometheus metrics at /metrics.'),
  METRICS_TOKEN: declare(secret, '', 'If set, /metrics requires `Authorization: Bearer <token>` (give the same to the scraper).'),
  OTEL_EXPORTER_OTLP_ENDPOINT: declare(httpUrl, '', 'OTLP/HTTP collector base URL (traces go to `<url>/v1/traces`); set to turn tracing on. Unset: no tracing code is even loaded.'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: declare(httpUrl, '', 'Full OTLP/HTTP traces URL; wins over OTEL_EXPORTER_OTLP_ENDPOINT.'),
  OTEL_SERVICE_NAME: declare(nonEmpty, 'amplify-jobs-graphql', '`service.name` of the spans.'),
  OTEL_SDK_DISABLED: declare(bool, 'false', '`true` turns tracing off even when an endpoint is set.'),
  CACHE_MAX_ENTRIES: declare(int(0, 1_000_000), '10000', 'Most Amplify answers kept in memory (finished jobs and their step logs, the rest briefly); 0 turns the cache off.'),
  CACHE_MAX_BYTES: declare(int(64 * 1024, 1024 * MIB), String(16 * MIB), 'Most bytes of Amplify answers kept in memory, counted as their JSON size (the heap holds about 2-3 times that).'),
  CACHE_TERMINAL_TTL_MS: declare(int(1000, 30 * DAY_MS), String(DAY_MS), 'How long a finished job (SUCCEED, FAILED, CANCELLED) and the log of a finished step are kept; they never change again. Never past the expiry of a presigned URL the job holds, less a minute.'),
  CACHE_ACTIVE_TTL_MS: declare(int(0, 60_000), '1000', 'How long a job that is still going is kept: the most a client sees it behind Amplify (0: never kept).'),
  CACHE_LIST_TTL_MS: declare(int(0, 600_000), '2000', 'How long an app, a branch or a page of a list is kept (they change as jobs start); 0: never kept.'),
  CACHE_NOT_FOUND_TTL_MS: declare(int(0, 600_000), '5000', 'How long a NOT_FOUND answer is kept (0: never kept). Errors are never kept.'),
  REDIS_URL: declare(redisUrl, '', 'Share the cache, the live pollers (one per job for the whole cluster) and the rate-limit counts between replicas through this Redis (`redis://` or `rediss://`, credentials allowed; an ACL must allow the keys and channels under REDIS_KEY_PREFIX and the commands the README lists). Empty: memory only.'),
  REDIS_KEY_PREFIX: declare(keyPrefix, 'amplify-jobs', 'Prefix of every key the gateway writes in Redis; give each deployment sharing one Redis its own.'),
  REDIS_TIMEOUT_MS: declare(int(1, 10_000), '250', 'Milliseconds one Redis command may take before the request goes on from memory (and Amplify) without it.'),
  RESPONSE_CACHE_MAX_BYTES: declare(int(0, 1024 * MIB), String(8 * MIB), 'Most bytes of finished answers the fast path keeps, to replay a repeated request without running GraphQL; 0 turns it off.'),
  CACHE_CONTROL_MAX_AGE_S: declare(int(0, 31_536_000), '86400', 'Cache-Control max-age (seconds) of answers read only from finished jobs, capped at the expiry of a presigned URL in the answer less a minute; 0 sends no-store on every answer.'),
  CURSOR_SECRET: declare(secret, '', 'Key that signs connection cursors (HMAC-SHA256). Give every replica the same value, or a cursor from one replica is refused by another; required with REDIS_URL. Empty: a random key per process (cursors then stop working after a restart; `npm start` warns).'),
  CURSOR_SECRET_FALLBACK: declare(secret, '', 'A second cursor key, used only to verify: cursors it signed are still accepted while a rotation runs, new ones are signed with CURSOR_SECRET. Needs CURSOR_SECRET.'),
  STEP_LOG_MAX_BYTES: declare(int(256, 16 * 1024 * 1024), '1048576', 'Most bytes of a step log `Step.log` reads and returns: its end, asked for with an HTTP Range.'),
  STEP_LOG_TIMEOUT_MS: declare(int(100, 120_000), '10000', 'Milliseconds one step-log read may take in all (connect, redirects, body) before it fails.'),
  CONTROL_MUTATIONS: declare(bool, 'false', 'Let `startJob` and `stopJob` run (the caller also needs the `write` scope). Off: they answer FORBIDDEN.'),
  LIVE_POLL_INTERVAL_MS: declare(int(100, 600_000), '5000', 'Milliseconds between two reads of a running job that has live subscribers: one poller per job for the whole cluster.'),
  LIVE_POLL_MAX_INTERVAL_MS: declare(int(100, 3_600_000), '60000', 'Longest poll interval while backing off (Amplify throttling, failing, or its circuit breaker open); at least LIVE_POLL_INTERVAL_MS.'),
  LIVE_MAX_SUBSCRIPTIONS: declare(int(1, 1_000_000), '500', 'Live subscriptions one process holds at most; more answer TOO_MANY_SUBSCRIPTIONS. Each costs about 50 KB of heap and up to 100 KB of RSS (measured on Node 24), so 500 fits the image\'s 128 MiB heap cap and a 256 MiB container with both caches full; per 1,000 more, raise `--max-old-space-size` by 50 MiB and the container\'s memory limit by 100 MiB.'),
  LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT: declare(int(1, 1_000_000), '100', 'Live subscriptions one client (its credentials and address, or its address when anonymous) holds at most in one process; the router secret\'s caller is held to LIVE_MAX_SUBSCRIPTIONS only.'),
  SSE_KEEPALIVE_MS: declare(int(1000, 300_000), '15000', 'Milliseconds between keep-alive comments on an open SSE stream, so idle proxies do not cut it.'),
  AMPLIFY_EVENTS_SECRET: declare(secret, '', 'Shared secret EventBridge sends in the `x-amplify-events-secret` header to POST /events/amplify. Empty: the route answers 404.'),
};

// biome-ignore format: one variable per line, read as a table
export const DEMO_VARIABLES = {
  DEMO_SEED: declare(nonEmpty, '1', '`npm run demo` only: seed of the local Amplify demo world (same seed, same world).', 'demo'),
  DEMO_SPEED: declare(decimal(0, 10_000), '1', '`npm run demo` only: virtual seconds per real second for running jobs (0 freezes time, 60 = a minute per second).', 'demo'),
  DEMO_AMPLIFY_PORT: declare(int(0, 65535), '0', '`npm run demo` only: port of the embedded local Amplify (0 picks a free one).', 'demo'),
};

/** Read by the AWS SDK itself, not by us; declared so docs and manifests can be checked. */
// biome-ignore format: one variable per line, read as a table
export const SDK_VARIABLES = {
  AWS_REGION: sdk('AWS Region of the Amplify apps (or `region` in the AWS profile). Required.'),
  AWS_PROFILE: sdk('Named profile from ~/.aws/config and ~/.aws/credentials.'),
  AWS_ACCESS_KEY_ID: sdk('Static credentials (prefer roles: IRSA, instance or task roles).'),
  AWS_SECRET_ACCESS_KEY: sdk('Static credentials, with the key id.'),
  AWS_SESSION_TOKEN: sdk('Session token for temporary credentials.'),
  AWS_ROLE_ARN: sdk('Role to assume with a web identity token (set by EKS for IRSA).'),
  AWS_WEB_IDENTITY_TOKEN_FILE: sdk('Web identity token file (set by EKS for IRSA).'),
  AWS_ENDPOINT_URL_AMPLIFY: sdk('Send Amplify calls to this URL instead of AWS, e.g. a local Amplify.'),
};

/** Read by the OpenTelemetry SDK itself once tracing is on; declared for docs and manifests. */
// biome-ignore format: one variable per line, read as a table
export const OTEL_SDK_VARIABLES = {
  OTEL_EXPORTER_OTLP_HEADERS: otelSdk('Headers sent to the collector, e.g. `authorization=Bearer abc` (W3C baggage format).'),
  OTEL_EXPORTER_OTLP_TIMEOUT: otelSdk('Milliseconds an export may take (default 10000).'),
  OTEL_TRACES_SAMPLER: otelSdk('Sampler, e.g. `parentbased_traceidratio` (default `parentbased_always_on`).'),
  OTEL_TRACES_SAMPLER_ARG: otelSdk('The sampler\'s argument, e.g. `0.1` to keep a tenth of the traces.'),
  OTEL_RESOURCE_ATTRIBUTES: otelSdk('Extra resource attributes, e.g. `deployment.environment=prod`.'),
  OTEL_BSP_SCHEDULE_DELAY: otelSdk('Milliseconds between two batches of spans (default 5000).'),
};

/** Read by Node itself; declared so the README and the manifests name them. */
// biome-ignore format: one variable per line, read as a table
export const NODE_VARIABLES = {
  NODE_OPTIONS: foreign('Node', 'Node flags. The image sets `--max-old-space-size=128 --max-semi-space-size=4` for its 256 MiB container (raise them with the memory limit) and `--expose-gc` for the idle memory trim (MEMORY_TRIM_IDLE_MS).'),
  LD_PRELOAD: foreign('Node', 'Libraries loaded before all others; the image sets `libjemalloc.so.2`, so Node allocates with jemalloc (Debian\'s libjemalloc2) rather than glibc\'s malloc, which kept 25-40 MB of freed memory after mixed load. Unset it to go back to glibc.'),
  MALLOC_CONF: foreign('Node', 'jemalloc\'s settings; the image sets `narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0`: two arenas whatever the host\'s CPU count, freed pages given back after a second.'),
  MALLOC_ARENA_MAX: foreign('Node', 'glibc malloc arenas, for when jemalloc is not preloaded; the image sets 2 (less memory than one per thread).'),
};

const VARIABLES: Record<string, Variable> = {
  ...GATEWAY_VARIABLES,
  ...DEMO_VARIABLES,
  ...SDK_VARIABLES,
  ...OTEL_SDK_VARIABLES,
  ...NODE_VARIABLES,
};

/** Every variable the gateway, the demo or the AWS SDK client reads, for docs and manifest checks. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(VARIABLES);

type Parsed<T extends Record<string, Variable>> = { [K in keyof T]: z.output<T[K]['schema']> };

interface Parsing<T extends Record<string, Variable>> {
  /** Each variable's trimmed text, as given or defaulted; `undefined` when unset and no default. */
  raw: Readonly<Record<string, string | undefined>>;
  /** The values of the variables that parsed. */
  values: Partial<Parsed<T>>;
  /** One line per problem, each naming its variable. */
  problems: string[];
}

/**
 * Parses each variable from env, then caller defaults, then declared defaults (trimmed), on its
 * own, so that one bad value neither hides another's problems nor the checks across variables.
 */
function parse<T extends Record<string, Variable>>(
  declared: T,
  env: Env,
  defaults: Env,
): Parsing<T> {
  const raw: Record<string, string | undefined> = {};
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, variable] of Object.entries(declared)) {
    const text = (env[name] ?? defaults[name] ?? variable.default)?.trim();
    raw[name] = text;
    const result = variable.schema.safeParse(text);
    if (result.success) values[name] = result.data;
    else problems.push(...result.error.issues.map((issue) => `${name} ${issue.message}`));
  }
  return { raw, values: values as Partial<Parsed<T>>, problems };
}

function toConfig(v: Parsed<typeof GATEWAY_VARIABLES>) {
  return {
    port: v.PORT,
    host: v.HOST,
    logLevel: v.LOG_LEVEL,
    /** Which requests get an access-log line (ACCESS_LOG). */
    accessLog: v.ACCESS_LOG,
    logBufferBytes: v.LOG_BUFFER_BYTES,
    /** The idle memory trim (src/observability/memory-trim.ts); `null`: off. */
    memoryTrim:
      v.MEMORY_TRIM_IDLE_MS === 0
        ? null
        : { idleMs: v.MEMORY_TRIM_IDLE_MS, minGrowthBytes: v.MEMORY_TRIM_MIN_GROWTH_BYTES },
    /** How often to wake V8's memory reducer (src/observability/memory-trim.ts); `null`: off. */
    memoryReducerWakeMs: v.MEMORY_REDUCER_WAKE_MS === 0 ? null : v.MEMORY_REDUCER_WAKE_MS,
    upstream: {
      connectTimeoutMs: v.UPSTREAM_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: v.UPSTREAM_REQUEST_TIMEOUT_MS,
      maxAttempts: v.UPSTREAM_MAX_ATTEMPTS,
      maxConcurrency: v.UPSTREAM_MAX_CONCURRENCY,
      maxSockets: v.UPSTREAM_MAX_SOCKETS,
      stepLogMaxBytes: v.STEP_LOG_MAX_BYTES,
      stepLogTimeoutMs: v.STEP_LOG_TIMEOUT_MS,
    },
    /** `null`: CORS off (same-origin only); `['*']`: any origin. */
    corsOrigins: v.CORS_ORIGINS,
    graphiql: v.GRAPHIQL,
    introspection: v.INTROSPECTION,
    maxBodyBytes: v.MAX_BODY_BYTES,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    /** Slow readers: see RESPONSE_DRAIN_TIMEOUT_MS (0: no limit). */
    responseDrainTimeoutMs: v.RESPONSE_DRAIN_TIMEOUT_MS,
    /** Slow senders: see REQUEST_TIMEOUT_MS (0: no limit). */
    requestTimeoutMs: v.REQUEST_TIMEOUT_MS,
    /** 0: no cap on open connections. */
    maxConnections: v.MAX_CONNECTIONS,
    /** `null`: no router secret required. */
    routerSecret: v.ROUTER_SECRET,
    /** A second accepted router secret during a rotation; `null`: none. */
    routerSecretFallback: v.ROUTER_SECRET_FALLBACK,
    /** `null`: /ready does not ask Amplify. */
    readinessProbe: v.READINESS_PROBE === 'upstream' ? { timeoutMs: v.READINESS_TIMEOUT_MS } : null,
    auth: {
      /** AUTH=none: serving with no access-control mechanism at all is allowed. */
      optional: v.AUTH === 'none',
      /** What a caller with the router secret alone may do (ROUTER_SCOPES). */
      routerScopes: (v.ROUTER_SCOPES === 'read+write'
        ? ['read', 'write']
        : ['read']) as ReadonlyArray<'read' | 'write'>,
      /** `null`: no API keys accepted. */
      apiKeys: v.API_KEYS,
      /** `null`: no JWTs accepted. */
      jwt:
        v.JWT_JWKS_URL === null || v.JWT_ISSUER === null || v.JWT_AUDIENCE === null
          ? null
          : {
              jwksUrl: v.JWT_JWKS_URL,
              issuer: v.JWT_ISSUER,
              audience: v.JWT_AUDIENCE,
              jwksCooldownMs: v.JWT_JWKS_COOLDOWN_MS,
            },
    },
    /** Proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES); `null`: none. */
    trustedProxies: v.TRUSTED_PROXIES,
    /** Requests per caller per window (RATE_LIMIT_*); `null`: no limit. */
    rateLimit:
      v.RATE_LIMIT_REQUESTS === 0
        ? null
        : { requests: v.RATE_LIMIT_REQUESTS, windowS: v.RATE_LIMIT_WINDOW_S },
    /** Path of the persisted-operations manifest; `null`: any operation may run. */
    trustedDocuments: v.TRUSTED_DOCUMENTS,
    limits: {
      maxAliases: v.MAX_ALIASES,
      maxDepth: v.MAX_DEPTH,
      maxTokens: v.MAX_TOKENS,
      maxDirectives: v.MAX_DIRECTIVES,
      maxCost: v.MAX_COST,
      maxUpstreamCalls: v.MAX_UPSTREAM_CALLS_PER_OPERATION,
      maxResponseBytes: v.MAX_RESPONSE_BYTES,
      maxEntityRepresentations: v.MAX_ENTITY_REPRESENTATIONS,
    },
    /** `null`: no circuit breaker. */
    circuitBreaker:
      v.CIRCUIT_BREAKER_FAILURES === 0
        ? null
        : { failures: v.CIRCUIT_BREAKER_FAILURES, openMs: v.CIRCUIT_BREAKER_OPEN_MS },
    /** `null`: throttled calls do not pause the following ones. */
    throttlePauseMs: v.THROTTLE_PAUSE_MS === 0 ? null : v.THROTTLE_PAUSE_MS,
    /** `null`: no /metrics route. */
    metrics: v.METRICS ? { token: v.METRICS_TOKEN } : null,
    /** `null`: no tracing (the OpenTelemetry SDK is not even loaded). */
    tracing:
      v.OTEL_SDK_DISABLED ||
      (v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === null && v.OTEL_EXPORTER_OTLP_ENDPOINT === null)
        ? null
        : {
            /** Where spans are POSTed (OTLP/HTTP, JSON). */
            tracesUrl:
              v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
              `${(v.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/+$/, '')}/v1/traces`,
            serviceName: v.OTEL_SERVICE_NAME,
          },
    /** The cache of Amplify answers; `null`: off (every read asks Amplify, single-flight still). */
    cache:
      v.CACHE_MAX_ENTRIES === 0
        ? null
        : {
            maxEntries: v.CACHE_MAX_ENTRIES,
            maxBytes: v.CACHE_MAX_BYTES,
            terminalTtlMs: v.CACHE_TERMINAL_TTL_MS,
            activeTtlMs: v.CACHE_ACTIVE_TTL_MS,
            listTtlMs: v.CACHE_LIST_TTL_MS,
            notFoundTtlMs: v.CACHE_NOT_FOUND_TTL_MS,
          },
    /** `null`: no Redis; the cache lives in this process only. */
    redis:
      v.REDIS_URL === null
        ? null
        : { url: v.REDIS_URL, keyPrefix: v.REDIS_KEY_PREFIX, timeoutMs: v.REDIS_TIMEOUT_MS },
    /** The immutable-response fast path; `null`: off. */
    responseCache:
      v.RESPONSE_CACHE_MAX_BYTES === 0
        ? null
        : { maxBytes: v.RESPONSE_CACHE_MAX_BYTES, ttlMs: v.CACHE_TERMINAL_TTL_MS },
    /** max-age of answers read only from finished jobs; 0: every answer is `no-store`. */
    cacheControlMaxAgeS: v.CACHE_CONTROL_MAX_AGE_S,
    /** `null`: cursors are signed with a random key made at start (one replica, until restart). */
    cursorSecret: v.CURSOR_SECRET,
    /** A second key cursors are verified with (never signed with) during a rotation. */
    cursorSecretFallback: v.CURSOR_SECRET_FALLBACK,
    /** Whether startJob/stopJob may run at all (the caller still needs the write scope). */
    controlMutations: v.CONTROL_MUTATIONS,
    live: {
      pollIntervalMs: v.LIVE_POLL_INTERVAL_MS,
      /** Never below the interval (combinationWarnings says so when it was set lower). */
      maxPollIntervalMs: Math.max(v.LIVE_POLL_MAX_INTERVAL_MS, v.LIVE_POLL_INTERVAL_MS),
      maxSubscriptions: v.LIVE_MAX_SUBSCRIPTIONS,
      maxSubscriptionsPerClient: v.LIVE_MAX_SUBSCRIPTIONS_PER_CLIENT,
      keepAliveMs: v.SSE_KEEPALIVE_MS,
      /** Pushed events read a job at most this often: a running job's cache time, or a second. */
      eventReadIntervalMs: Math.max(1_000, v.CACHE_ACTIVE_TTL_MS),
    },
    /** `null`: POST /events/amplify is off. */
    amplifyEvents: v.AMPLIFY_EVENTS_SECRET === null ? null : { secret: v.AMPLIFY_EVENTS_SECRET },
  };
}

/**
 * Problems that involve more than one variable, judged on what was set (the raw text), so they
 * are reported with the problems of single values, not on the next run.
 */
function crossProblems(raw: Parsing<typeof GATEWAY_VARIABLES>['raw']): string[] {
  const set = (name: keyof typeof GATEWAY_VARIABLES) => (raw[name] ?? '') !== '';
  const problems: string[] = [];
  const jwt = ['JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE'] as const;
  if (jwt.some(set) && !jwt.every(set)) {
    problems.push('JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must be set together');
  }
  // A fallback alone would be the only secret, accepted but never asked for by name: a mistake.
  for (const name of ['ROUTER_SECRET', 'CURSOR_SECRET'] as const) {
    if (set(`${name}_FALLBACK`) && !set(name)) {
      problems.push(
        `${name}_FALLBACK is set but ${name} is not: a fallback is accepted beside the secret, never instead of it`,
      );
    }
  }
  // Redis means replicas behind one address: a random key per replica would refuse every cursor
  // another replica gave out, at random, depending on where the next page lands.
  if (set('REDIS_URL') && !set('CURSOR_SECRET')) {
    problems.push(
      "REDIS_URL is set (replicas sharing Redis) but CURSOR_SECRET is not: each replica would sign cursors with a key of its own and refuse the others' cursors. Set the same CURSOR_SECRET on every replica.",
    );
  }
  return problems;
}

/** Combinations that work but that the README advises against: one line each, logged at warn. */
function combinationWarnings(v: Parsed<typeof GATEWAY_VARIABLES>, config: Config): string[] {
  const warnings: string[] = [];
  const cachesActiveJobs = v.CACHE_MAX_ENTRIES > 0 && v.CACHE_ACTIVE_TTL_MS > 0;
  if (cachesActiveJobs && v.LIVE_POLL_INTERVAL_MS <= v.CACHE_ACTIVE_TTL_MS) {
    warnings.push(
      `LIVE_POLL_INTERVAL_MS (${v.LIVE_POLL_INTERVAL_MS}) is not above CACHE_ACTIVE_TTL_MS (${v.CACHE_ACTIVE_TTL_MS}): live polls read through the cache, so a poll may get the previous one's answer and subscribers see changes an interval late. Keep the poll interval above the cache's.`,
    );
  }
  if (v.LIVE_POLL_MAX_INTERVAL_MS < v.LIVE_POLL_INTERVAL_MS) {
    warnings.push(
      `LIVE_POLL_MAX_INTERVAL_MS (${v.LIVE_POLL_MAX_INTERVAL_MS}) is below LIVE_POLL_INTERVAL_MS (${v.LIVE_POLL_INTERVAL_MS}): the live pollers use ${v.LIVE_POLL_INTERVAL_MS} ms as their longest interval too, so they do not back off while Amplify throttles or fails.`,
    );
  }
  // A fallback is for the length of a rotation: say so at every start until it is removed, and
  // say when it equals the secret (the new value was likely never put in).
  for (const [name, secret, fallback] of [
    ['ROUTER_SECRET', config.routerSecret, config.routerSecretFallback],
    ['CURSOR_SECRET', config.cursorSecret, config.cursorSecretFallback],
  ] as const) {
    if (fallback === null) continue;
    warnings.push(
      fallback === secret
        ? `${name}_FALLBACK equals ${name}: the rotation changes nothing. Put the new value in one of them (docs/deploy.md, "Rotating secrets without a gap").`
        : `${name}_FALLBACK is set: a rotation is under way. Remove it once every client sends the new value (docs/deploy.md, "Rotating secrets without a gap").`,
    );
  }
  if (config.rateLimit !== null && onlyTheRouterCalls(config)) {
    warnings.push(
      "RATE_LIMIT_REQUESTS has no effect: with ROUTER_SECRET alone every request comes as the router's caller, which is not rate-limited (one credential for a whole supergraph). Limit at the router, or configure API_KEYS or JWT_* for the callers behind it.",
    );
  }
  return warnings;
}

export type Config = ReturnType<typeof toConfig>;
export type LogLevel = Config['logLevel'];
export type AccessLogMode = Config['accessLog'];
export type ConfigResult =
  | { ok: true; config: Config; warnings: string[] }
  | { ok: false; problems: string[] };

/**
 * Reads and validates the gateway's configuration: every problem at once (each variable's own,
 * then those across variables), or the config with the warnings to log. `defaults` replace the
 * declared defaults (the demo uses them, e.g. HOST=127.0.0.1) and the environment still wins;
 * pass `env` in tests.
 */
export function loadConfig(defaults: Env = {}, env: Env = process.env): ConfigResult {
  const { raw, values, problems } = parse(GATEWAY_VARIABLES, env, defaults);
  problems.push(...crossProblems(raw));
  if (problems.length > 0) return { ok: false, problems };
  const parsed = values as Parsed<typeof GATEWAY_VARIABLES>;
  const config = toConfig(parsed);
  return { ok: true, config, warnings: combinationWarnings(parsed, config) };
}

/**
 * What `npm start` warns about besides {@link loadConfig}'s warnings: settings the demo and tests
 * choose on purpose but a deployment should not run with.
 */
export function productionWarnings(config: Config): string[] {
  return [
    ...(hasAccessControl(config)
      ? []
      : [
          `AUTH=none: serving without access control; anyone who can reach the port reads every job and the presigned URLs of its logs${config.controlMutations ? ', and can start and stop builds (CONTROL_MUTATIONS=true)' : ''}. Set API_KEYS, JWT_* or ROUTER_SECRET.`,
        ]),
    ...(config.cursorSecret !== null
      ? []
      : [
          'CURSOR_SECRET is not set: connection cursors are signed with a random key of this process, so they stop working after a restart and on other replicas behind the same address. Set the same CURSOR_SECRET on every replica.',
        ]),
  ];
}

/**
 * Whether every caller is the router secret's (ROUTER_SECRET without API keys or JWTs), which the
 * rate limit never counts.
 */
function onlyTheRouterCalls(config: Config): boolean {
  return config.routerSecret !== null && config.auth.apiKeys === null && config.auth.jwt === null;
}

/**
 * The rate limit as the start-up line states it: `off`, `off for the router's caller, the only one
 * (...)`, or what is counted, per caller, and where.
 */
export function rateLimitSummary(config: Config): string {
  const limit = config.rateLimit;
  if (limit === null) return 'off';
  if (onlyTheRouterCalls(config)) {
    return "off: with ROUTER_SECRET alone every request is the router's, which is not limited";
  }
  const requests = `${limit.requests} request${limit.requests === 1 ? '' : 's'}`;
  const where = config.redis === null ? 'per replica' : 'shared through Redis';
  return `${requests} per ${limit.windowS} s per caller, ${where}`;
}

/**
 * Secure by default: the one-line reason to refuse to start when no access-control mechanism is
 * configured and AUTH=none does not waive it; `null` when the gateway may serve.
 */
export function accessControlProblem(config: Config): string | null {
  const { auth } = config;
  if (auth.optional || auth.apiKeys !== null || auth.jwt !== null || config.routerSecret !== null) {
    return null;
  }
  return 'Refusing to start without access control: set API_KEYS, JWT_JWKS_URL (with JWT_ISSUER and JWT_AUDIENCE) or ROUTER_SECRET, or AUTH=none to serve anyone who can reach the port.';
}

/** Whether any access-control mechanism is configured (false with AUTH=none and nothing set). */
export function hasAccessControl(config: Config): boolean {
  const { auth } = config;
  return auth.apiKeys !== null || auth.jwt !== null || config.routerSecret !== null;
}

export interface DemoConfig {
  seed: string;
  speed: number;
  amplifyPort: number;
}
export type DemoConfigResult = { ok: true; demo: DemoConfig } | { ok: false; problems: string[] };

/** The demo's own settings (its embedded local Amplify). */
export function loadDemoConfig(env: Env = process.env): DemoConfigResult {
  const parsed = parse(DEMO_VARIABLES, env, {});
  if (parsed.problems.length > 0) return { ok: false, problems: parsed.problems };
  const v = parsed.values as Parsed<typeof DEMO_VARIABLES>;
  return {
    ok: true,
    demo: { seed: v.DEMO_SEED, speed: v.DEMO_SPEED, amplifyPort: v.DEMO_AMPLIFY_PORT },
  };
}

/** Where the generated table sits in the README. */
export const CONFIG_TABLE_MARKERS = [
  '<!-- config-table:start (generated by `npm run docs:config`) -->',
  '<!-- config-table:end -->',
] as const;

/** The README's configuration table, generated from the declarations above. */
export function configTable(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = Object.entries(VARIABLES).map(([name, v]) => {
    const shown = v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``;
    // What the variable's kind accepts (booleans, secrets), said on each of its rows.
    const accepts = v.schema.description === undefined ? '' : ` ${v.schema.description}`;
    return `| \`${name}\` | ${shown} | ${v.readBy} | ${cell(v.description + accepts)} |`;
  });
  return ['| variable | default | read by | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
