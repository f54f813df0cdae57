/**
 * What every resolver gets. Collaborators (the upstream, the logger) are built once per process;
 * loaders are built per request so batching, caching and the upstream-call budget never leak
 * between callers.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import type { CallerIdentity } from './identity.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  /** Who is calling and what they may do, established by the HTTP edge. */
  caller: CallerIdentity;
  loaders: Loaders;
}

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
  /** MAX_UPSTREAM_CALLS_PER_OPERATION, enforced by the loaders as the budget's second line. */
  maxUpstreamCalls: number;
}

/** What the HTTP edge knows about a request before GraphQL runs. */
export interface RequestFacts {
  requestId: string;
  log: Logger;
  caller: CallerIdentity;
}

export function createGatewayContext(deps: ContextDeps, request: RequestFacts): GatewayContext {
  return {
    requestId: request.requestId,
    log: request.log,
    caller: request.caller,
    loaders: createLoaders(deps.upstream, {
      maxConcurrency: deps.maxConcurrency,
      maxUpstreamCalls: deps.maxUpstreamCalls,
    }),
  };
}
