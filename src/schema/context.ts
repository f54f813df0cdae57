/**
 * What every resolver gets. Collaborators (the upstream, the cursor codec, the logger) are built
 * once per process; loaders are built per request so batching and caching never leak between
 * callers.
 */
import type { Logger } from 'pino';
import { createLoaders, type Loaders } from '../loaders/index.js';
import type { AmplifyUpstream } from '../upstream/upstream.js';
import type { CursorCodec } from './cursors.js';

export interface GatewayContext {
  requestId: string;
  log: Logger;
  loaders: Loaders;
  /** Signs and checks connection cursors. */
  cursors: CursorCodec;
  /** Epoch ms when the request started: "now" for every duration of a running job or step. */
  now: number;
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
  return {
    requestId,
    log,
    loaders: createLoaders(deps.upstream, deps.maxConcurrency),
    cursors: deps.cursors,
    now: (deps.clock ?? Date.now)(),
  };
}
