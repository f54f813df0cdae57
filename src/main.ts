/**
 * Production entry point: real Amplify through the AWS SDK's standard configuration (region,
 * credentials and AWS_ENDPOINT_URL_AMPLIFY from the environment, profile or role).
 */
import module from 'node:module';
import {
  accessControlProblem,
  type Config,
  hasAccessControl,
  loadConfig,
  productionWarnings,
  rateLimitSummary,
} from './config.js';
import { createGatewayApp } from './http/app.js';
import { loadGraphiQLRenderer } from './http/graphiql.js';
import { closeOnSignals, listen } from './http/server.js';
import { createObservability } from './observability/index.js';
import {
  createLogger,
  logDestination,
  unknownValueLogger,
  wireProblemLogger,
} from './observability/logger.js';
import {
  memoryReducingCollector,
  startIdleMemoryTrim,
  wakeMemoryReducer,
} from './observability/memory-trim.js';
import { createSdkUpstream } from './upstream/sdk-upstream.js';

/** Which access-control mechanisms are on, for the start-up log line (never their values). */
function accessSummary(config: Config): string[] {
  return [
    ...(config.auth.apiKeys !== null ? [`api keys (${config.auth.apiKeys.length})`] : []),
    ...(config.auth.jwt !== null ? ['jwt'] : []),
    ...(config.routerSecret !== null
      ? [config.routerSecretFallback !== null ? 'router secret (and a fallback)' : 'router secret']
      : []),
    ...(config.trustedDocuments !== null ? ['trusted documents'] : []),
  ];
}

/**
 * The `rover dev` command that composes this subgraph behind a local router. With access control
 * on, `_service` and every query need the router secret (or a key), which a bare `--url` cannot
 * send: the schema then comes from the committed file and a router config adds the header.
 */
function composeHint(config: Config, url: string): string {
  const base = `rover dev --name amplify-jobs --url ${url}/graphql`;
  if (!hasAccessControl(config)) return base;
  const header =
    config.routerSecret !== null
      ? 'inserts x-router-secret for the subgraph amplify-jobs'
      : "forwards the client's x-api-key or authorization header";
  return `${base} --schema ./schema.graphql --router-config router.yaml, where router.yaml ${header} (docs/federation.md, "rover dev")`;
}

/** Prints every problem that keeps the gateway from starting, then exits 1. */
function refuseToStart(problems: readonly string[]): never {
  console.error(
    `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee the README's configuration table.`,
  );
  process.exit(1);
}

async function main(): Promise<void> {
  // Node 22.1+ keeps compiled modules on disk between starts (in the OS temp folder): a faster
  // cold start for a scaled-out replica. Absent on Node 20, where this does nothing.
  module.enableCompileCache?.();
  const loaded = loadConfig();
  if (!loaded.ok) refuseToStart(loaded.problems);
  const { config } = loaded;
  const problems: string[] = [];
  // Secure by default: no access control configured and none explicitly waived.
  const refusal = accessControlProblem(config);
  if (refusal !== null) problems.push(refusal);
  const log = createLogger(config.logLevel, logDestination(config.logBufferBytes));
  const observability = await createObservability(config, { processMetrics: true });
  const upstream = createSdkUpstream({
    config: config.upstream,
    onUnknownValue: unknownValueLogger(log),
    onWireProblem: wireProblemLogger(log),
    observers: observability.upstreamObservers,
  });
  let region = '';
  try {
    region = await upstream.region();
  } catch {
    problems.push(
      'No AWS Region is configured. Set AWS_REGION (e.g. AWS_REGION=us-east-1), or a `region` in the AWS profile named by AWS_PROFILE. To try the gateway without AWS, run `npm run demo`.',
    );
  }
  // Every problem of a valid configuration at once (access control and the Region together).
  if (problems.length > 0) refuseToStart(problems);
  for (const warning of [...loaded.warnings, ...productionWarnings(config)]) log.warn(warning);

  const app = createGatewayApp({
    config,
    upstream,
    log,
    renderGraphiQL: await loadGraphiQLRenderer(config),
    observability,
  });
  const running = await listen(app, { ...config, port: config.port, host: config.host }, log);
  log.info(
    {
      url: `${running.url}/graphql`,
      region,
      access: accessSummary(config),
      tracing: config.tracing !== null,
      rateLimit: rateLimitSummary(config),
      // Whose cursors are accepted (never the key's value): `CURSOR_SECRET_FALLBACK` shows here.
      cursors:
        config.cursorSecret === null
          ? 'random key of this process'
          : config.cursorSecretFallback === null
            ? 'CURSOR_SECRET'
            : 'CURSOR_SECRET and its fallback',
      // Whose X-Forwarded-For names the client (TRUSTED_PROXIES); `none`: the TCP peer is.
      trustedProxies: config.trustedProxies ?? 'none',
    },
    `Amplify jobs GraphQL listening; compose it with: ${composeHint(config, running.url)}`,
  );
  // The start's lines now, not when LOG_BUFFER_BYTES fill up: people and probes wait for them.
  log.flush();
  const MB = 1024 * 1024;
  const startTrim = (settings: NonNullable<Config['memoryTrim']>) => {
    const collect = memoryReducingCollector();
    if (collect === null) {
      log.warn(
        'the idle memory trim (MEMORY_TRIM_IDLE_MS) is off: start Node with --expose-gc, as the image and `npm start` do',
      );
      return null;
    }
    return startIdleMemoryTrim({
      ...settings,
      collect,
      requests: () => app.apiResponsesFinished,
      onTrim: ({ beforeBytes, afterBytes, ms }) => {
        observability.metrics.memoryTrimmed(ms / 1000);
        log.info(
          {
            rssBeforeMb: Math.round(beforeBytes / MB),
            rssAfterMb: Math.round(afterBytes / MB),
            pauseMs: Math.round(ms),
          },
          'memory trimmed after a quiet spell',
        );
      },
    });
  };
  const trim = config.memoryTrim === null ? null : startTrim(config.memoryTrim);
  const stopWaking =
    config.memoryReducerWakeMs === null ? null : wakeMemoryReducer(config.memoryReducerWakeMs);
  if (stopWaking !== null) {
    log.info(
      { everyMs: config.memoryReducerWakeMs },
      "waking V8's memory reducer (MEMORY_REDUCER_WAKE_MS), so it gives memory back once traffic stops",
    );
  }
  closeOnSignals(running, log, () => {
    trim?.stop();
    stopWaking?.();
    Promise.all([app.close(), observability.shutdown()]).then(
      () => {
        upstream.destroy();
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping the live pollers or the exporters');
        process.exit(1);
      },
    );
  });
}

main().catch((error: unknown) => {
  console.error('Failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
