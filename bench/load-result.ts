// What the load generator child reports on its one line of stdout, and how latencies are
// summarized. Shared by loadgen.ts (writes it) and scenario.ts (reads it).

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  /** Messages answered 250 after DATA. */
  sent: number;
  failed: number;
  /** Epoch ms of the first connect and of the last reply: the accepted rate's window. */
  startedAt: number;
  endedAt: number;
  /** Connect to the 250 after DATA (ms). */
  latency: LatencySummary;
  /** Connect to AUTH done: the STARTTLS + AUTH part of the latency (ms). */
  setup: LatencySummary;
  /** Load generator CPU seconds between startedAt and endedAt (startup excluded). */
  cpuSeconds: number;
  /** Error kind (code or reply code) -> count. */
  errors: Record<string, number>;
  /** The first few errors in full, with the server's reply when there was one. */
  firstErrors: string[];
}

/** Nearest-rank percentiles, in ms rounded to 0.1. */
export function summarize(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  const r = (x: number) => Math.round(x * 10) / 10;
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return { count: sorted.length, p50: r(rank(0.5)), p90: r(rank(0.9)), p99: r(rank(0.99)), max: r(sorted.at(-1) ?? 0), mean: r(mean) };
}
