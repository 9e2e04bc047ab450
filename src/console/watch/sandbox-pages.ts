import type { FastifyInstance } from 'fastify';
import { type CapturedMessage, CaptureNotFound } from '../../sandbox/mailbox.js';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, csrfField, layout } from '../layout.js';
import { formatBytes, pager, paging, queryText, timeEl } from './format.js';

const PAGE_SIZE = 50;
/** The part of a captured message the page shows; the rest is one click away as raw. */
const SHOWN_BYTES = 64 * 1024;

function modeNotice(on: boolean): SafeHtml {
  return on
    ? html`<p class="flash error" role="status"><strong>Sandbox mode:</strong> nothing leaves this machine. Every delivery, report, notification and verification mail is kept here instead of being sent.</p>`
    : html`<p class="flash ok" role="status">The gateway is not in sandbox mode: mail is delivered. Messages captured while it was are still listed.</p>`;
}

function dkimText(m: CapturedMessage): SafeHtml {
  if (m.dkim.length === 0) return html`<span class="muted">no signature</span>`;
  return html`${m.dkim.map((d) => html`${badge(d.result === 'pass' ? 'pass' : d.result === 'fail' ? 'fail' : 'warn')} ${d.result} d=${d.domain} s=${d.selector} <span class="muted">${d.comment}</span><br>`)}`;
}

function row(m: CapturedMessage): SafeHtml {
  return html`<tr><td><a href="/console/sandbox/${m.id}"><code>${m.id}</code></a></td><td>${timeEl(m.capturedAt)}</td><td>${m.kind}</td>
<td>${m.mailFrom || '<>'}</td><td>${m.recipients.join(', ')}</td><td>${m.subject ?? ''}</td><td>${m.decision.nextHop}</td></tr>`;
}

/** The sandbox mailbox: what would have been sent, with the decision that would have sent it. */
export function registerSandboxPages(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get<{ Querystring: Record<string, unknown> }>('/sandbox', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const page = paging(queryText(request.query.page), PAGE_SIZE);
    const list = await deps.services.sandbox.list(page);
    const cleared = queryText(request.query.cleared);
    const table = list.items.length
      ? html`<div class="table-wrap"><table><caption class="visually-hidden">Captured messages, newest first</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Captured</th><th scope="col">Kind</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Would have gone to</th></tr></thead>
<tbody>${list.items.map(row)}</tbody></table></div>${pager('/console/sandbox', {}, page, list.total, 'captured messages')}
<form method="post" action="/console/sandbox/clear">${csrfField(signed.csrf)}<p><button type="submit" class="danger">Empty the sandbox mailbox</button></p></form>`
      : html`<p>Nothing has been captured.</p>`;
    const body = html`${modeNotice(deps.sandbox)}${cleared ? html`<p class="flash ok" role="status">Removed ${cleared} captured message(s).</p>` : ''}${table}`;
    return sendPage(reply, 200, layout({ title: 'Sandbox mailbox', admin: signed.admin, csrf: signed.csrf, active: 'sandbox', body }));
  });

  app.get<{ Params: { id: string } }>('/sandbox/:id', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    let captured: CapturedMessage;
    let raw: Buffer;
    try {
      captured = await deps.services.sandbox.show(request.params.id);
      raw = await deps.services.sandbox.raw(request.params.id);
    } catch (err) {
      if (!(err instanceof CaptureNotFound)) throw err;
      return sendPage(
        reply,
        404,
        layout({ title: 'Not in the sandbox', admin: signed.admin, csrf: signed.csrf, active: 'sandbox', body: html`<p>${err.message}</p>` }),
      );
    }
    const shown = raw.subarray(0, SHOWN_BYTES).toString('utf8');
    const body = html`<p><a href="/console/sandbox">All captured messages</a></p>
<div class="card"><dl>
<dt>Captured</dt><dd>${timeEl(captured.capturedAt)} (${captured.kind})</dd>
<dt>Queue id</dt><dd><a href="/console/messages/${captured.queueId}"><code>${captured.queueId}</code></a></dd>
<dt>Envelope</dt><dd>${captured.mailFrom || '<>'} → ${captured.recipients.join(', ')}</dd>
<dt>Size</dt><dd>${formatBytes(captured.sizeBytes)}</dd>
<dt>Route</dt><dd>${captured.decision.route}</dd>
<dt>Would have gone to</dt><dd>${captured.decision.nextHop}</dd>
<dt>TLS</dt><dd>${captured.decision.tls}</dd>
<dt>DKIM</dt><dd>${dkimText(captured)}</dd>
</dl></div>
<h2>${captured.kind === 'webhook' ? 'The webhook request' : 'The message as it would have been sent'}</h2>
<pre class="card raw">${shown}${raw.length > SHOWN_BYTES ? `\n… ${formatBytes(raw.length - SHOWN_BYTES)} more (relaygate sandbox raw ${captured.id})` : ''}</pre>`;
    return sendPage(reply, 200, layout({ title: `Captured ${captured.id}`, admin: signed.admin, csrf: signed.csrf, active: 'sandbox', body }));
  });

  app.post('/sandbox/clear', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const removed = await deps.services.sandbox.clear();
    deps.log.info({ event: 'sandbox.clear', admin: signed.admin.email, removed }, 'sandbox mailbox emptied from the console');
    return reply.redirect(`/console/sandbox?cleared=${removed}`, 303);
  });
}
