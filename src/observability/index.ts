/**
 * Metrics and traces, created once per gateway app: the metrics registry always (cheap), tracing
 * only when an OTLP endpoint is configured, its SDK then imported on demand so an instance without
 * tracing loads none of it. `upstreamObservers` go to createSdkUpstream, so every Amplify
 * operation the client sends is counted and traced.
 */
import type { Config } from '../config.js';
import type { UpstreamCallObserver } from '../upstream/observer.js';
import { createMetrics, type GatewayMetrics, type MetricsOptions } from './metrics.js';
import type { Tracing } from './tracing.js';

export interface Observability {
  metrics: GatewayMetrics;
  /** `null`: tracing is off. */
  tracing: Tracing | null;
  /** For createSdkUpstream: told about every Amplify operation the SDK client sends. */
  upstreamObservers: UpstreamCallObserver[];
  /** Exports buffered spans and stops the exporter. */
  shutdown(): Promise<void>;
}

export async function createObservability(
  config: Pick<Config, 'tracing'>,
  options: MetricsOptions = {},
): Promise<Observability> {
  const metrics = createMetrics(options);
  const tracing =
    config.tracing === null ? null : (await import('./tracing.js')).startTracing(config.tracing);
  return {
    metrics,
    tracing,
    upstreamObservers: [
      metrics.upstreamObserver,
      ...(tracing === null ? [] : [tracing.upstreamObserver]),
    ],
    shutdown: async () => {
      await tracing?.shutdown();
    },
  };
}
