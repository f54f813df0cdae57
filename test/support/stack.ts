/**
 * A gateway wired to a real local Amplify over HTTP through the real AWS SDK: the setup most
 * gateway tests share. Everything listens on 127.0.0.1, ephemeral ports.
 */
import { pino } from 'pino';
import { createSdkUpstream } from '../../src/amplify/upstream.js';
import { createGatewayApp, type GatewayApp, loadGraphiQLRenderer } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import {
  type LocalAmplify,
  type LocalAmplifyOptions,
  startLocalAmplify,
} from '../../src/local-amplify/index.js';

export interface Stack {
  la: LocalAmplify;
  app: GatewayApp;
  config: Config;
  /** Unknown enum values the gateway reported, in order. */
  unknownValues: Array<[string, string]>;
  /** POSTs one GraphQL operation through Yoga (no socket) and returns the parsed body. */
  graphql(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLBody>;
  close(): Promise<void>;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{
    message: string;
    path?: Array<string | number>;
    extensions?: Record<string, unknown> & { code?: string };
  }>;
  extensions?: Record<string, unknown>;
}

export const silentLog = pino({ level: 'silent' });

export function testConfig(env: Record<string, string> = {}): Config {
  const loaded = loadConfig(
    {},
    { READINESS_PROBE: 'off', LOG_LEVEL: 'silent', GRAPHIQL: 'false', ...env },
  );
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
}

export async function startStack(
  options: { env?: Record<string, string>; amplify?: Partial<LocalAmplifyOptions> } = {},
): Promise<Stack> {
  const la = await startLocalAmplify({
    port: 0,
    host: '127.0.0.1',
    seed: 1,
    speed: 0,
    ...options.amplify,
  });
  const config = testConfig({
    // Tests must not wait seconds on SDK backoff unless they ask for retries.
    UPSTREAM_MAX_ATTEMPTS: '1',
    UPSTREAM_REQUEST_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const unknownValues: Array<[string, string]> = [];
  const upstream = createSdkUpstream({
    config: config.upstream,
    ...la.clientConfig(),
    onUnknownValue: (enumName, value) => unknownValues.push([enumName, value]),
  });
  const app = createGatewayApp({
    config,
    upstream,
    log: silentLog,
    renderGraphiQL: await loadGraphiQLRenderer(config),
  });
  let counter = 0;
  return {
    la,
    app,
    config,
    unknownValues,
    async graphql(query, variables, headers) {
      counter += 1;
      const response = await app.yoga.fetch(
        'http://gateway.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query, variables }),
        },
        { requestId: `test-${counter}`, log: silentLog },
      );
      return (await response.json()) as GraphQLBody;
    },
    async close() {
      upstream.destroy();
      await la.close();
    },
  };
}
