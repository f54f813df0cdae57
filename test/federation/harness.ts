/** What the federation tests share: config from a plain env object, a silent log, a request. */
import type { ExecutionResult } from 'graphql';
import { pino } from 'pino';
import type { AmplifyUpstream } from '../../src/amplify/upstream.js';
import type { GatewayApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';

export const silentLog = pino({ level: 'silent' });

/** The gateway's config as the environment `env` would give it; no /ready probe, no logs. */
export function configFrom(env: Record<string, string> = {}): Config {
  const loaded = loadConfig({}, { READINESS_PROBE: 'off', LOG_LEVEL: 'silent', ...env });
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
