/** Reading one sample of a gateway's Prometheus registry in tests. */
import type { GatewayMetrics } from '../../src/observability/metrics.js';

/** The value of `name` whose labels include `labels`; 0 when there is no such sample yet. */
export async function metricValue(
  metrics: GatewayMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const sample = values.find(
    (v) =>
      (v as { metricName?: string }).metricName === undefined &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return sample?.value ?? 0;
}
