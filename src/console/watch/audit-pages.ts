import type { FastifyInstance } from 'fastify';
import type { AuditRecord } from '../../audit/audit-log.js';
import { canonicalJson } from '../../audit/canonical-json.js';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, layout } from '../layout.js';
import { pager, paging, queryText, timeEl } from './format.js';

const PAGE_SIZE = 50;

type Verification = Awaited<ReturnType<ConsoleDeps['services']['audit']['verify']>>;

function verification(result: Verification): SafeHtml {
  return result.ok
    ? html`<p class="card" id="audit-chain">${badge('pass')} The chain of ${result.checked} record(s) is intact: none was altered, removed or reordered.</p>`
    : html`<p class="card" id="audit-chain" role="alert">${badge('fail')} The chain is broken at record ${result.problem?.seq ?? '?'}: ${result.problem?.reason ?? 'unknown'}. ${result.checked} record(s) before it check out. Compare with an exported copy (<code>relaygate audit export</code>).</p>`;
}

function filterForm(actions: string[], selected: string | undefined): SafeHtml {
  return html`<form method="get" action="/console/audit" class="card search" role="search" aria-label="Filter the audit log">
<label for="f-action">Action</label><select id="f-action" name="action"><option value="">All actions</option>${actions.map(
    (a) => html`<option value="${a}"${a === selected ? html` selected` : ''}>${a}</option>`,
  )}</select>
<p><button type="submit">Filter</button> <a href="/console/audit">Show all</a></p></form>`;
}

/** A message still in the queue is a link to its timeline; other targets are named. */
function target(r: AuditRecord): SafeHtml {
  if (!r.targetId) return html``;
  if (r.targetType === 'message') return html` <a href="/console/messages/${r.targetId}"><code>${r.targetId}</code></a>`;
  if (r.targetType === 'domain') return html` <code>${r.targetId}</code> (<a href="/console/domains/${r.targetId}/dns">DNS report</a>)`;
  return html` <code>${r.targetId}</code>`;
}

function row(r: AuditRecord): SafeHtml {
  const detail = Object.keys(r.detail).length ? html`<code>${canonicalJson(r.detail)}</code>` : html`<span class="muted">–</span>`;
  return html`<tr><td>${r.seq}</td><td>${timeEl(r.at)}</td><td>${r.actor}</td><td>${r.actorIp ?? '–'}</td><td><code class="nowrap">${r.action}</code></td>
<td>${r.targetType}${target(r)}</td><td class="detail">${detail}</td></tr>`;
}

/** The audit log, newest first, with the result of re-checking its hash chain on top. */
export function registerAuditLog(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/audit', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const action = queryText(request.query.action, 100);
    const page = paging(queryText(request.query.page), PAGE_SIZE);
    const [verified, records, actions] = await Promise.all([
      deps.services.audit.verify(),
      deps.services.audit.list({ action, ...page }),
      deps.watch.auditActions(),
    ]);
    const table = records.items.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">Audit records, newest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Actor</th><th scope="col">IP</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Detail</th></tr></thead>
<tbody>${records.items.map(row)}</tbody></table></div>`
      : html`<p>${action ? 'No record of this action.' : 'The audit log is empty.'}</p>`;
    const body = html`<section aria-labelledby="chain-heading"><h2 id="chain-heading">Integrity</h2>${verification(verified)}</section>
${filterForm(
  actions,
  action,
)}<section aria-labelledby="records-heading"><h2 id="records-heading">Records</h2>${table}${pager('/console/audit', { action }, page, records.total, 'records')}</section>`;
    return sendPage(reply, 200, layout({ title: 'Audit log', admin: signed.admin, csrf: signed.csrf, active: 'audit', body }));
  });
}
