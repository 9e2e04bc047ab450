import type { InboundTarget } from '../../directory/inbound-targets.js';
import { html, type SafeHtml } from '../../web/html.js';
import { copyable, csrfField } from '../layout.js';
import { type FormState, inputField, problemSummary, selectField } from './form-fields.js';
import { when } from './format.js';

/** The fields of the set form, in the order of the page: a refusal names one of them (inbound-target-input.ts). */
export const TARGET_FIELDS = ['domain', 'kind', 'url', 'forwardTo', 'synchronous'];

/** How long the previous signing secret keeps signing beside the new one. */
export const OVERLAPS: Record<string, { label: string; ms: number }> = {
  '1d': { label: 'one day (the default)', ms: 86_400_000 },
  '1h': { label: 'one hour', ms: 3_600_000 },
  '7d': { label: 'seven days', ms: 7 * 86_400_000 },
  now: { label: 'stop at once', ms: 0 },
};

const KINDS = [
  { value: 'webhook', label: 'Webhook: a signed POST of each message' },
  { value: 'smtp', label: 'Forward: SMTP to an address of the application' },
];
const SYNC = [
  { value: 'off', label: 'off: the gateway accepts the mail, then delivers it' },
  { value: 'on', label: "on: the SMTP reply waits for the webhook's answer" },
];

const scopeName = (domain: string | null) => domain ?? "the organisation's default";
const scopeQuery = (domain: string | null) => `/console/inbound?for=${encodeURIComponent(domain ?? '')}#set`;

/** The form values of a target, to change it. */
export function valuesOf(t: InboundTarget): Record<string, string> {
  return { domain: t.domain ?? '', kind: t.kind, url: t.url ?? '', forwardTo: t.forwardTo ?? '', synchronous: t.synchronous ? 'on' : 'off' };
}

export function targetTable(items: InboundTarget[], csrf: string, now: number): SafeHtml {
  if (items.length === 0) return html`<p>No inbound target yet: inbound mail waits in the queue until one is set.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Inbound targets</caption>
<thead><tr><th scope="col">For</th><th scope="col">Kind</th><th scope="col">Destination</th><th scope="col">Mode</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
<tbody>${items.map(
    (t) => html`<tr><th scope="row">${scopeName(t.domain)}</th><td>${t.kind}</td><td><code>${(t.kind === 'webhook' ? t.url : t.forwardTo) ?? '-'}</code></td>
<td>${t.kind === 'webhook' ? (t.synchronous ? 'synchronous' : 'queued') : '-'}</td><td>${stateCell(t, now)}</td>
<td>${t.disabledAt === null ? '' : enableForm(t, csrf)}<a href="${scopeQuery(t.domain)}" aria-label="Change the target for ${scopeName(t.domain)}">Change</a>${
      t.kind === 'webhook' ? html` · <a href="#rotate" aria-label="Rotate the signing secret of ${scopeName(t.domain)}">Rotate secret</a>` : ''
    } · <a href="/console/inbound/remove?for=${encodeURIComponent(t.domain ?? '')}" aria-label="Remove the target for ${scopeName(t.domain)}">Remove…</a></td></tr>`,
  )}</tbody></table></div>`;
}

function stateCell(t: InboundTarget, now: number): SafeHtml {
  const overlap =
    t.previousSecretUntil && t.previousSecretUntil > now
      ? html`<br><span class="muted">the previous secret signs too until ${when(t.previousSecretUntil)}</span>`
      : '';
  // The badge carries the word itself: colour is never the only signal.
  if (t.disabledAt === null) return html`<span class="badge pass">enabled</span>${overlap}`;
  return html`<span class="badge fail">disabled</span> since ${when(t.disabledAt)}: ${t.disabledReason ?? ''}.
New mail waits at the organisation's server (450 4.2.1), queued mail waits here.`;
}

function enableForm(t: InboundTarget, csrf: string): SafeHtml {
  const label = t.domain ? `Enable the inbound target of ${t.domain}` : "Enable the organisation's inbound target";
  return html`<form method="post" action="/console/inbound/enable" class="inline">${csrfField(csrf)}<input type="hidden" name="domain" value="${t.domain ?? ''}">
<button type="submit" aria-label="${label}">Enable</button></form> `;
}

/** Create or change a target; which one is the "For" field: the default or a domain's own. */
export function setForm(csrf: string, state: FormState, domains: string[]): SafeHtml {
  const scopes = [{ value: '', label: "The organisation's default (domains without their own)" }, ...domains.map((d) => ({ value: d, label: d }))];
  return html`<form method="post" action="/console/inbound" class="card" novalidate>${csrfField(csrf)}${problemSummary(state, TARGET_FIELDS)}
${selectField(state, { form: 'target', name: 'domain', label: 'For', options: scopes })}
${selectField(state, { form: 'target', name: 'kind', label: 'Kind', options: KINDS })}
${inputField(state, { form: 'target', name: 'url', label: 'Webhook URL (webhooks)', placeholder: 'https://app.example.com/hooks/mail', hint: 'https:// on a public address. A webhook that has a signing secret keeps it when its URL changes.' })}
${inputField(state, { form: 'target', name: 'forwardTo', label: 'Forward to (forwards)', type: 'email', placeholder: 'support@helpdesk.example', hint: "The application's inbound address." })}
${selectField(state, { form: 'target', name: 'synchronous', label: 'Synchronous mode (webhooks)', options: SYNC })}
<p><button type="submit">Save the target</button></p></form>`;
}

export function rotateForm(csrf: string, state: FormState, webhooks: InboundTarget[]): SafeHtml {
  if (webhooks.length === 0) return html`<p class="muted">No webhook target: only a webhook has a signing secret.</p>`;
  const options = webhooks.map((t) => ({ value: t.domain ?? '', label: scopeName(t.domain) }));
  const overlaps = Object.entries(OVERLAPS).map(([value, o]) => ({ value, label: o.label }));
  return html`<p>A new signing secret is shown once. The previous one keeps signing beside it for the time chosen, so the application can switch without a rejected delivery.</p>
<form method="post" action="/console/inbound/rotate" class="card">${csrfField(csrf)}${problemSummary(state, ['domain', 'overlap'])}
${selectField(state, { form: 'rotate', name: 'domain', label: 'Webhook of', options })}
${selectField(state, { form: 'rotate', name: 'overlap', label: 'Keep the previous secret signing for', options: overlaps })}
<p><button type="submit">Rotate the signing secret</button></p></form>`;
}

/** The one page that shows a signing secret; `secret` is undefined once it was shown. */
export function secretBody(t: InboundTarget, secret: string | undefined): SafeHtml {
  const back = html`<p><a href="/console/inbound">All inbound targets</a></p>`;
  if (!secret)
    return html`<div class="card" role="status"><p>The signing secret of this webhook was shown once and is not shown again.
If it was not copied, rotate it to get a new one.</p></div>${back}`;
  return html`<div class="card warning" role="alert"><p><strong>Copy the signing secret now: it is shown only this once.</strong>
Configure it in the application at <code>${t.url ?? ''}</code> to verify the webhook-signature header of each request (Standard Webhooks).</p></div>
<dl><dt>For</dt><dd>${scopeName(t.domain)}</dd><dt>Signing secret</dt><dd><span class="secret">${copyable(secret, 'signing secret')}</span></dd>
${
  t.previousSecretUntil === null
    ? ''
    : t.previousSecretUntil > t.updatedAt
      ? html`<dt>Previous secret</dt><dd>keeps signing too until ${when(t.previousSecretUntil)}</dd>`
      : html`<dt>Previous secret</dt><dd>no longer signs</dd>`
}</dl>${back}`;
}
