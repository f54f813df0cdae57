/**
 * Mercurius with JIT: the alternative a user would pick for a fast GraphQL server on Node, serving
 * the gateway's own schema (buildSchema) with the gateway's own per-request context and the same
 * upstream stack (composeUpstreams' cached side: SDK client, single-flight, cache), so it gives the same answers
 * at the same cost to Amplify. What differs is the GraphQL server: Fastify + Mercurius (parsed
 * queries cached, resolvers compiled by graphql-jit after the first run) instead of Yoga and the
 * gateway's HTTP edge. One access-log line per request at info, as the gateway writes (and as
 * ACCESS_LOG says).
 */
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { loadConfig } from '../../src/config.js';
import { createMemoryCoordination } from '../../src/live/coordination.js';
import { createLiveJobs } from '../../src/live/live-jobs.js';
import { createLogger, wantsAccessLine } from '../../src/observability/logger.js';
import { createGatewayContext } from '../../src/schema/context.js';
import { CursorCodec } from '../../src/schema/cursors.js';
import { ANONYMOUS_CALLER } from '../../src/schema/identity.js';
import { buildSchema } from '../../src/schema/index.js';
import { composeUpstreams } from '../../src/upstream/compose.js';
import { createSdkUpstream } from '../../src/upstream/sdk-upstream.js';

const loaded = loadConfig();
if (!loaded.ok) {
  console.error(`mercurius: invalid configuration:\n  - ${loaded.problems.join('\n  - ')}`);
  process.exit(2);
}
const { config } = loaded;
const log = createLogger(config.logLevel);
// Endpoint, region and credentials come from the AWS_* environment, exactly as for the gateway.
const sdk = createSdkUpstream({
  config: config.upstream,
  onUnknownValue: () => {},
  onWireProblem: () => {},
});
// Memory only, as the gateway runs in W1 and W2 (no REDIS_URL).
const upstream = composeUpstreams(config, sdk, { shared: null, log }).cached;
const deps = {
  upstream,
  maxConcurrency: config.upstream.maxConcurrency,
  maxUpstreamCalls: config.limits.maxUpstreamCalls,
  cursors: new CursorCodec(config.cursorSecret),
  // The schema's subscriptions and mutations are not measured here; the context still needs them.
  live: createLiveJobs({
    read: (key) => upstream.getJob(key),
    readFresh: (key) => upstream.getJob(key),
    coordination: createMemoryCoordination(() => {}),
    ...config.live,
    log,
  }),
  controlMutations: false,
};

const app = Fastify({ logger: false, keepAliveTimeout: 65_000, bodyLimit: config.maxBodyBytes });
app.register(mercurius, {
  schema: buildSchema(),
  path: '/graphql',
  graphiql: false,
  jit: 1,
  // No credentials here (a bench target on loopback): the caller may do anything.
  context: (request) =>
    createGatewayContext(deps, { requestId: request.id, log, caller: ANONYMOUS_CALLER }),
});
app.addHook('onResponse', async (request, reply) => {
  if (wantsAccessLine(config.accessLog, reply.statusCode) && log.isLevelEnabled('info')) {
    log.info(
      {
        reqId: request.id,
        method: request.method,
        path: request.url,
        status: reply.statusCode,
        ms: reply.elapsedTime,
      },
      'request',
    );
  }
});

const port = Number(process.env.PORT ?? '0');
const host = process.env.HOST ?? '127.0.0.1';
app.listen({ port, host }).then(
  (address) => {
    process.stdout.write(
      `${JSON.stringify({ msg: 'mercurius listening', url: `${address}/graphql` })}\n`,
    );
  },
  (error: unknown) => {
    console.error('mercurius: could not listen:', error);
    process.exit(1);
  },
);
const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
