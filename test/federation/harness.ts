/**
 * What the federation tests share: config from a plain env object, a silent log, one request
 * through `yoga.fetch`, and a gateway app in front of a real local Amplify.
 */
import type { ExecutionResult } from 'graphql';
import { pino } from 'pino';
import type { JobKey } from '../../src/amplify/shapes.js';
import { type AmplifyUpstream, createSdkUpstream } from '../../src/amplify/upstream.js';
import { createGatewayApp, type GatewayApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type LocalAmplify, startLocalAmplify } from '../../src/local-amplify/index.js';

export const silentLog = pino({ level: 'silent' });

/** The gateway's config as the environment `env` would give it; no /ready probe, no logs. */
export function configFrom(env: Record<string, string> = {}): Config {
  const loaded = loadConfig(
    {},
    { READINESS_PROBE: 'off', LOG_LEVEL: 'silent', GRAPHIQL: 'false', ...env },
  );
  if (!loaded.ok) throw new Error(`bad test config: ${loaded.problems.join('; ')}`);
  return loaded.config;
}

/** For tests that must never reach Amplify: any call fails the request loudly. */
export const noUpstream: AmplifyUpstream = {
  getJob: () => Promise.reject(new Error('this test must not call Amplify')),
  checkReady: () => Promise.reject(new Error('this test must not call Amplify')),
  region: () => Promise.resolve('us-east-1'),
  destroy: () => {},
};

export interface GraphQLResponse {
  status: number;
  headers: Headers;
  body: ExecutionResult & { extensions?: Record<string, unknown> };
}

/** POSTs one GraphQL request through `yoga.fetch`, without a socket. */
export async function postGraphQL(
  app: GatewayApp,
  body: { query: string; variables?: Record<string, unknown> },
  headers: Record<string, string> = {},
): Promise<GraphQLResponse> {
  const response = await app.yoga.fetch(
    'http://yoga/graphql',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    },
    { requestId: 'test', log: silentLog },
  );
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as GraphQLResponse['body'],
  };
}

/** A local Amplify with a frozen clock: job data cannot change between a request and its check. */
export function startFrozenLocalAmplify(): Promise<LocalAmplify> {
  return startLocalAmplify({ port: 0, host: '127.0.0.1', seed: 1, speed: 0 });
}

export interface AmplifyBackedApp {
  app: GatewayApp;
  config: Config;
  close(): Promise<void>;
}

/** A gateway app configured by `env`, reaching `la` through the real AWS SDK over HTTP. */
export function createAmplifyBackedApp(
  la: LocalAmplify,
  env: Record<string, string> = {},
): AmplifyBackedApp {
  // One attempt: a test that injects a fault sees it, instead of waiting on SDK backoff.
  const config = configFrom({ UPSTREAM_MAX_ATTEMPTS: '1', ...env });
  const upstream = createSdkUpstream({
    config: config.upstream,
    ...la.clientConfig(),
    onUnknownValue: () => {},
  });
  const app = createGatewayApp({ config, upstream, log: silentLog });
  return {
    app,
    config,
    async close() {
      await app.yoga.dispose();
      upstream.destroy();
    },
  };
}

/**
 * Ordinary jobs of the demo world: none from the quirks app, whose jobs deliberately miss members
 * the way the live service sometimes does. Branch names with `/`, spaces and non-ASCII included.
 */
export function ordinaryJobs(la: LocalAmplify): JobKey[] {
  const quirkApps = new Set(
    la.world
      .apps()
      .filter((app) => app.quirks)
      .map((app) => app.appId),
  );
  return la.world
    .listJobKeys()
    .filter((job) => !quirkApps.has(job.appId))
    .map(({ appId, branchName, jobId }) => ({ appId, branchName, jobId }));
}

/** One job from each of the first `count` branches, so keys differ in every field. */
export function jobsFromDistinctBranches(la: LocalAmplify, count: number): JobKey[] {
  const seen = new Set<string>();
  const picked: JobKey[] = [];
  for (const job of ordinaryJobs(la)) {
    const branch = `${job.appId}/${job.branchName}`;
    if (seen.has(branch)) continue;
    seen.add(branch);
    picked.push(job);
    if (picked.length === count) return picked;
  }
  throw new Error(`the demo world has only ${picked.length} ordinary branches, ${count} needed`);
}

/** What the local Amplify's GetJob answers now for a job; fails the test when there is none. */
export function wireJob(la: LocalAmplify, key: JobKey) {
  const wire = la.world.getJobWire(key.appId, key.branchName, key.jobId);
  if (wire === undefined) throw new Error(`no job ${JSON.stringify(key)} in the local Amplify`);
  return wire.job;
}
