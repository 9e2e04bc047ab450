import type { Counter, Registry } from 'prom-client';

/** One counter's value for one label set, as an SMTP acceptor has counted it since it started. */
export interface CountedValue {
  name: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * What an SMTP acceptor counted (sessions, AUTH results, messages accepted, refusals, DNS
 * lookups of the inbound checks…), read from its own registry for the primary's /metrics: the
 * acceptors serve no HTTP. Every counter, cumulative; the primary adds the growth.
 */
export async function countedValues(registry: Registry): Promise<CountedValue[]> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics
    .filter((metric) => String(metric.type) === 'counter')
    .flatMap((metric) =>
      metric.values.filter((v) => v.value > 0).map((v) => ({ name: metric.name, labels: { ...v.labels } as CountedValue['labels'], value: v.value })),
    );
}

/**
 * Adds to the primary's counters what one acceptor process counted since its last report;
 * `seen` is that process's last report (a new one for a process started again, which counts
 * from 0), so a counter only ever grows.
 */
export function addCounted(registry: Registry, seen: Map<string, number>, values: CountedValue[]): void {
  for (const { name, labels, value } of values) {
    const key = `${name}${JSON.stringify(labels)}`;
    const growth = value - (seen.get(key) ?? 0);
    seen.set(key, value);
    const counter = registry.getSingleMetric(name) as Counter | undefined;
    if (growth > 0 && counter) counter.inc(labels, growth);
  }
}
