import type { FastifyInstance } from 'fastify';
import type { InboundTarget } from '../../directory/inbound-targets.js';
import { html, type SafeHtml } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { csrfField, layout } from '../layout.js';
import { attempt, type FormState, problemSummary } from './form-fields.js';
import { flashOf, when, withDone } from './format.js';

const FLASH = { enabled: 'The inbound target was enabled; the mail that waited for it is being delivered.' };

/**
 * /console/inbound: where inbound mail goes, and whether it is going there. A target whose
 * webhook answered 410 Gone is shown disabled, with the answer, and enabled again here.
 */
export function registerInboundPages(app: FastifyInstance, deps: ConsoleDeps): void {
  const targets = deps.services.inboundTargets;
  const page = async (signed: Signed, done: string | undefined, enable?: FormState) =>
    layout({
      title: 'Inbound targets',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'inbound',
      flash: flashOf(FLASH, done),
      body: html`<p>Inbound mail for the organisation's domains goes to a signed webhook or is forwarded: one default target, and one per domain that needs its own
(<code>relaygate inbound set</code>).</p>${enable ? problemSummary(enable, []) : ''}${targetTable(await targets.list(), signed.csrf)}`,
    });

  app.get<{ Querystring: { done?: string } }>('/inbound', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await page(signed, request.query.done));
  });

  app.post<{ Body: { domain?: string } }>('/inbound/enable', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const domain = typeof request.body?.domain === 'string' && request.body.domain !== '' ? request.body.domain : undefined;
    const result = await attempt(
      reply,
      {},
      () => targets.enable(domain, signed.actor),
      (state) => page(signed, undefined, state),
    );
    return result.ok ? reply.redirect(withDone('/console/inbound', 'enabled'), 303) : result.reply;
  });
}

function targetTable(items: InboundTarget[], csrf: string): SafeHtml {
  if (items.length === 0) return html`<p>No inbound target yet: inbound mail waits in the queue until one is set.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Inbound targets</caption>
<thead><tr><th scope="col">For</th><th scope="col">Kind</th><th scope="col">Destination</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
<tbody>${items.map(
    (
      t,
    ) => html`<tr><th scope="row">${t.domain ?? "the organisation's default"}</th><td>${t.kind}</td><td><code>${(t.kind === 'webhook' ? t.url : t.forwardTo) ?? '-'}</code></td>
<td>${stateCell(t)}</td><td>${t.disabledAt === null ? '' : enableForm(t, csrf)}</td></tr>`,
  )}</tbody></table></div>`;
}

function stateCell(t: InboundTarget): SafeHtml {
  // The badge carries the word itself: colour is never the only signal.
  if (t.disabledAt === null) return html`<span class="badge pass">enabled</span>`;
  return html`<span class="badge fail">disabled</span> since ${when(t.disabledAt)}: ${t.disabledReason ?? ''}.
New mail waits at the organisation's server (450 4.2.1), queued mail waits here.`;
}

function enableForm(t: InboundTarget, csrf: string): SafeHtml {
  const label = t.domain ? `Enable the inbound target of ${t.domain}` : "Enable the organisation's inbound target";
  return html`<form method="post" action="/console/inbound/enable" class="inline">${csrfField(csrf)}<input type="hidden" name="domain" value="${t.domain ?? ''}">
<button type="submit" aria-label="${label}">Enable</button></form>`;
}
