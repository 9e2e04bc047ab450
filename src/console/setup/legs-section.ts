import type { ConnectorStatus, LegCheck } from '../../connector/connector.js';
import { html, type SafeHtml } from '../../web/html.js';
import { badge, csrfField } from '../layout.js';
import { type FormState, problemSummary } from './form-fields.js';
import { domainPath, when } from './format.js';

/** How often the page re-reads the legs while a check is pending (the console script; reload works too). */
export const LEGS_REFRESH_MS = 2000;

const LEG_NAMES = { outbound: 'Outbound: out through the outbound connection', inbound: "Inbound: back through the mail server's authenticated relay" };

/**
 * The two legs' latest checks. While one is pending the section carries `data-refresh`, so
 * the console script replaces it as the state changes; without the script a reload shows the same.
 */
export function legsSection(domain: string, csrf: string, status: ConnectorStatus, form: FormState | undefined): SafeHtml {
  const pending = status.legs.outbound?.status === 'pending' || status.legs.inbound?.status === 'pending';
  return html`<p>The gateway sends a verification mail to the domain's first address through its outbound connection; the domain's mail server
relays it back with the inbound credential. Each leg is verified when its token comes back.</p>
${form ? problemSummary(form, []) : ''}${
  status.state === 'disconnected'
    ? html`<p>The domain is disconnected: its inbound credentials were revoked and its outbound connection removed. Reconnecting keeps its DKIM keys,
addresses and inbound target; it then needs a new inbound credential and outbound connection.</p>
<form method="post" action="${domainPath(domain)}/connection/reconnect" class="inline-form">${csrfField(csrf)}<button type="submit">Reconnect the domain</button></form>`
    : html`<form method="post" action="${domainPath(domain)}/connection/verify" class="inline-form">${csrfField(csrf)}<button type="submit">Verify the connection</button></form>`
}
<div id="legs-status" aria-live="polite"${pending ? html` data-refresh="${LEGS_REFRESH_MS}"` : ''}>
<p>Connection state: <strong>${status.state}</strong>${status.queued > 0 ? html` · ${status.queued} message(s) queued` : ''}${
    pending ? html` · <span class="muted">checking; this part of the page updates by itself</span>` : ''
  }</p>
<div class="table-wrap"><table><caption class="visually-hidden">Latest check of each leg</caption>
<thead><tr><th scope="col">Leg</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead>
<tbody>${legRow('outbound', status.legs.outbound)}${legRow('inbound', status.legs.inbound)}</tbody></table></div></div>`;
}

function legRow(leg: keyof typeof LEG_NAMES, check: LegCheck | null): SafeHtml {
  if (!check)
    return html`<tr data-leg="${leg}"><th scope="row">${LEG_NAMES[leg]}</th><td><span class="badge info">not checked</span></td><td></td><td></td><td></td></tr>`;
  const before = check.beforeDisconnect ? html` <span class="muted">before the disconnect</span>` : '';
  return html`<tr data-leg="${leg}"><th scope="row">${LEG_NAMES[leg]}</th><td>${badge(check.status)}${before}</td><td>${check.reason ?? ''}</td>
<td>${when(check.startedAt)}</td><td>${check.status === 'pending' ? html`<span class="muted">waiting until ${when(check.deadlineAt)}</span>` : when(check.finishedAt)}</td></tr>`;
}
