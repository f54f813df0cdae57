/**
 * What every resolver gets. Collaborators (the upstream, the logger) are built once per process;
 * loaders are built per request so batching and caching never leak between callers. Every
 * upstream call of a request goes through its `reads` log (src/loaders/reads.ts), which decides
 * whether the answer may be cached over HTTP.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import { ReadLog, recordReads } from '../loaders/reads.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  loaders: Loaders;
  /** What this request read from Amplify (through the caches), for Cache-Control. */
  reads: ReadLog;
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
  const reads = new ReadLog();
  return {
    requestId,
    log,
    loaders: createLoaders(recordReads(deps.upstream, reads), deps.maxConcurrency),
    reads,
  };
}
