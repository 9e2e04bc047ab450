import type { FastifyInstance } from 'fastify';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { layout } from '../layout.js';
import { barChart } from './bar-chart.js';
import { formatDuration, formatTime } from './format.js';
import type { QueueDepth, TrafficHour } from './traffic-records.js';

/** The width of the dashboard's buckets, as src/store/traffic-stats.ts counts them. */
const HOUR_MS = 3_600_000;
const count = (n: number) => String(n);
const sum = (hours: TrafficHour[], pick: (h: TrafficHour) => number) => hours.reduce((total, h) => total + pick(h), 0);

/** The average over the day, weighted by how many were delivered in each hour. */
function dayLatency(hours: TrafficHour[]): number | null {
  const delivered = sum(hours, (h) => (h.averageLatencyMs === null ? 0 : h.delivered));
  if (delivered === 0) return null;
  return sum(hours, (h) => (h.averageLatencyMs ?? 0) * h.delivered) / delivered;
}

function stat(label: string, value: string, note?: string): SafeHtml {
  return html`<div class="stat card"><dt>${label}</dt><dd><strong>${value}</strong>${note ? html` <span class="muted">${note}</span>` : ''}</dd></div>`;
}

function headline(hours: TrafficHour[], depth: QueueDepth, now: number): SafeHtml {
  const latency = dayLatency(hours);
  const waiting = depth.queued + depth.deferred;
  return html`<section aria-labelledby="now-heading" id="dashboard-now" data-refresh="30000">
<h2 id="now-heading">Last 24 hours and now</h2>
<dl class="stats">
${stat('Messages in', count(sum(hours, (h) => h.in)), 'from the world to the applications')}
${stat('Messages out', count(sum(hours, (h) => h.out)), 'from the applications, plain and secure')}
${stat('Delivered', count(sum(hours, (h) => h.delivered)), 'recipients')}
${stat('Deferred', count(sum(hours, (h) => h.deferred)), 'attempts to retry')}
${stat('Bounced', count(sum(hours, (h) => h.bounced)), 'recipients')}
${stat('Delivery latency', latency === null ? 'none delivered' : formatDuration(latency), latency === null ? undefined : 'average, acceptance to delivery')}
${stat('Queue now', count(waiting), `recipients waiting (${depth.queued} queued, ${depth.deferred} deferred)`)}
${stat('Oldest waiting', depth.oldestReceivedAt === null ? 'none' : formatDuration(now - depth.oldestReceivedAt), depth.oldestReceivedAt === null ? undefined : `since ${formatTime(depth.oldestReceivedAt)}`)}
${depth.parked > 0 ? stat('Parked', count(depth.parked), 'inbound recipients waiting for an operator') : ''}
</dl>
<p><a href="/console/messages?status=deferred">Deferred messages</a> · <a href="/console/messages?status=bounced">Bounced</a> · <a href="/console/messages?status=failed">Parked</a> · <a href="/console/messages">All messages</a></p>
</section>`;
}

function charts(hours: TrafficHour[]): SafeHtml {
  const series = (id: string, title: string, what: string, pick: (h: TrafficHour) => number) => {
    const total = sum(hours, pick);
    const busiest = hours.reduce((best, h) => (pick(h) > pick(best) ? h : best), hours[0] as TrafficHour);
    return barChart({
      id,
      title,
      description: `${total} ${what} in the last 24 hours${total > 0 ? `, most in the hour from ${new Date(busiest.start).toISOString().slice(11, 16)} UTC (${pick(busiest)})` : ''}.`,
      points: hours.map((h) => ({ start: h.start, value: pick(h) })),
      format: count,
    });
  };
  const latency = dayLatency(hours);
  return html`<section aria-labelledby="charts-heading"><h2 id="charts-heading">Per hour (UTC)</h2><div class="grid charts">
${series('chart-in', 'Messages in', 'inbound messages', (h) => h.in)}
${series('chart-out', 'Messages out', 'outbound and secure messages', (h) => h.out)}
${series('chart-deferred', 'Deferred', 'deferred attempts', (h) => h.deferred)}
${series('chart-bounced', 'Bounced', 'bounced recipients', (h) => h.bounced)}
${barChart({
  id: 'chart-latency',
  title: 'Delivery latency',
  description: `Average time from acceptance to delivery of the recipients delivered each hour; ${latency === null ? 'none were delivered' : `${formatDuration(latency)} over the day`}.`,
  points: hours.map((h) => ({ start: h.start, value: h.averageLatencyMs })),
  format: formatDuration,
})}
</div></section>`;
}

async function domainLinks(deps: ConsoleDeps): Promise<SafeHtml> {
  const domains = await deps.services.domains.list({ limit: 50, offset: 0 });
  if (domains.items.length === 0) return html``;
  return html`<section aria-labelledby="dns-heading"><h2 id="dns-heading">DNS of each domain</h2><ul class="plain">${domains.items.map(
    (d) => html`<li><a href="/console/domains/${d.name}/dns">DNS report for ${d.name}</a> <span class="muted">(${d.status})</span></li>`,
  )}</ul></section>`;
}

/** The first page after sign-in: what went through in the last day and what is waiting now. */
export function registerDashboard(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get('/', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const now = deps.clock.now();
    const [hours, depth, domains] = await Promise.all([deps.watch.lastDay(now), deps.watch.queueDepth(), domainLinks(deps)]);
    const body = html`${headline(hours, depth, now)}${charts(hours)}${domains}
<p class="muted">Hours are whole UTC hours, from ${formatTime(hours[0]?.start ?? now - 24 * HOUR_MS)} to now.</p>`;
    return sendPage(reply, 200, layout({ title: 'Dashboard', admin: signed.admin, csrf: signed.csrf, active: 'dashboard', body }));
  });
}
