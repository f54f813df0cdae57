/**
 * What every resolver gets. Collaborators (the upstream, the cursor codec, the logger) are built
 * once per process; loaders are built per request so batching and caching never leak between
 * callers. Every upstream call of a request goes through its `reads` log (src/loaders/reads.ts),
 * which decides whether the answer may be cached over HTTP.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import { ReadLog, recordReads } from '../loaders/reads.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  loaders: Loaders;
  /** Signs and checks connection cursors. */
  cursors: CursorCodec;
  /**
   * Epoch ms when the request started: "now" for every duration of a running job or step. A
   * field whose value depends on it must record a changing read (`reads.record(false)`), so the
   * answer is never cached as immutable.
   */
  now: number;
  /** What this request read from Amplify (through the caches), for Cache-Control. */
  reads: ReadLog;
}

export interface ContextDeps {
  upstream: AmplifyUpstream;
  maxConcurrency: number;
  cursors: CursorCodec;
  /** The clock; Date.now unless a test needs another. */
  clock?: () => number;
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
    cursors: deps.cursors,
    now: (deps.clock ?? Date.now)(),
    reads,
  };
}
