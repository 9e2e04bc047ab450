/** One scrape of /metrics in the Prometheus text format (0.0.4), as series → value. */
export class Scrape {
  constructor(readonly series: Map<string, number>) {}

  /** The value of one series; 0 when it does not exist yet (a labelled counter appears at its first increment). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.series.get(seriesKey(name, labels)) ?? 0;
  }

  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.series.has(seriesKey(name, labels));
  }

  /** The sum over every series of a metric whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const [key, value] of this.series) {
      const parsed = parseKey(key);
      if (parsed.name === name && Object.entries(labels).every(([k, v]) => parsed.labels[k] === v)) total += value;
    }
    return total;
  }
}

export async function scrape(httpPort: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key as string] = JSON.parse(`"${value}"`) as string;
    series.set(seriesKey(match[1] as string, labels), Number(match[3]));
  }
  return new Scrape(series);
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`);
  return `${name}{${sorted.join(',')}}`;
}

function parseKey(key: string): { name: string; labels: Record<string, string> } {
  const open = key.indexOf('{');
  const labels: Record<string, string> = {};
  for (const [, k, v] of key.slice(open + 1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")/g))
    labels[k as string] = JSON.parse(v as string) as string;
  return { name: key.slice(0, open), labels };
}
