/**
 * What every resolver gets. Collaborators (the upstream, the logger) are built once per process;
 * loaders are built per request so batching and caching never leak between callers.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  loaders: Loaders;
}

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
}

export function createGatewayContext(
  deps: ContextDeps,
  requestId: string,
  log: Logger,
): GatewayContext {
  return { requestId, log, loaders: createLoaders(deps.upstream, deps.maxConcurrency) };
}
