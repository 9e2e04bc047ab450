import { html, type SafeHtml } from '../../web/html.js';

export interface ChartPoint {
  /** Epoch ms of the bar's hour. */
  start: number;
  /** Null: nothing to measure in that hour (no bar, "none" in the table). */
  value: number | null;
}

export interface Chart {
  /** Unique on the page: the SVG's title and description are referenced by it. */
  id: string;
  title: string;
  /** One sentence for screen readers: what the bars show and the headline of the data. */
  description: string;
  points: ChartPoint[];
  format(value: number): string;
}

const WIDTH = 360;
const HEIGHT = 160;
const LEFT = 54;
const RIGHT = 6;
const TOP = 10;
const BOTTOM = 24;

const hourOf = (ms: number) => `${new Date(ms).toISOString().slice(11, 13)}:00`;

/** 1, 2, 5 × 10^n at or above the largest value, so the axis label is a round number. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

/**
 * A bar chart as inline SVG, drawn on the server (no script, no library): one bar per hour,
 * each with its own tooltip; the picture is labelled for assistive technology and followed
 * by the same numbers as a table, so nothing is only visual.
 */
export function barChart(chart: Chart): SafeHtml {
  const max = niceMax(Math.max(0, ...chart.points.map((p) => p.value ?? 0)));
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / Math.max(1, chart.points.length);
  const bars = chart.points.map((point, i) => {
    const x = LEFT + i * slot + slot * 0.15;
    const label = `${hourOf(point.start)} UTC: ${point.value === null ? 'none' : chart.format(point.value)}`;
    const tick = i % 6 === 0 ? html`<text x="${(x + slot * 0.35).toFixed(1)}" y="${HEIGHT - 6}" text-anchor="middle">${hourOf(point.start)}</text>` : '';
    if (point.value === null || point.value <= 0) return tick;
    const h = Math.max(1, (point.value / max) * plotHeight);
    return html`<rect x="${x.toFixed(1)}" y="${(TOP + plotHeight - h).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${h.toFixed(1)}"><title>${label}</title></rect>${tick}`;
  });
  return html`<figure class="chart-card card"><figcaption><h3 id="${chart.id}-heading">${chart.title}</h3></figcaption>
<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${chart.id}-title ${chart.id}-desc" focusable="false">
<title id="${chart.id}-title">${chart.title}, last 24 hours</title><desc id="${chart.id}-desc">${chart.description}</desc>
<line class="axis" x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH - RIGHT}" y2="${TOP + plotHeight}" stroke="#8c959f"/>
<line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + plotHeight}" stroke="#8c959f"/>
<text x="${LEFT - 4}" y="${TOP + 10}" text-anchor="end">${chart.format(max)}</text><text x="${LEFT - 4}" y="${TOP + plotHeight}" text-anchor="end">0</text>
${bars}</svg>
<details><summary>${chart.title}: the numbers per hour</summary><div class="table-wrap"><table>
<caption class="visually-hidden">${chart.title} per hour, last 24 hours (UTC)</caption>
<thead><tr><th scope="col">Hour (UTC)</th><th scope="col">${chart.title}</th></tr></thead>
<tbody>${chart.points.map(
    (p) =>
      html`<tr><th scope="row">${new Date(p.start).toISOString().slice(0, 13).replace('T', ' ')}:00</th><td>${p.value === null ? 'none' : chart.format(p.value)}</td></tr>`,
  )}</tbody></table></div></details></figure>`;
}
