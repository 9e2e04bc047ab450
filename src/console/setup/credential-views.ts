import type { Credential } from '../../directory/credentials.js';
import { html, type SafeHtml } from '../../web/html.js';
import type { SmtpEndpoints } from '../console-deps.js';
import { copyable, csrfField } from '../layout.js';
import { type FormState, inputField, problemSummary, selectField } from './form-fields.js';
import { credentialPath, domainPath, when } from './format.js';

const KINDS = [
  { value: 'submission', label: 'Submission: an application sends mail through the gateway' },
  { value: 'inbound', label: "Inbound: a domain's mail server relays mail back to the gateway" },
] as const;

/** How long the old credential keeps working after a rotation: the time to switch every client over. */
export const ROTATION_WINDOWS: Record<string, { label: string; ms: number }> = {
  '1d': { label: 'one day', ms: 86_400_000 },
  '7d': { label: 'seven days', ms: 7 * 86_400_000 },
  '30d': { label: 'thirty days', ms: 30 * 86_400_000 },
  '1h': { label: 'one hour', ms: 3_600_000 },
  now: { label: 'stop at once', ms: 0 },
};

/** The state in words, with a badge class that matches (never colour alone). */
export function stateBadge(c: Credential): SafeHtml {
  const tone = c.state === 'active' ? 'pass' : c.state === 'retiring' ? 'warn' : 'fail';
  return html`<span class="badge ${tone}">${c.state}</span>`;
}

export function credentialTable(items: Credential[]): SafeHtml {
  if (items.length === 0) return html`<p>No credential yet.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">SMTP credentials (their secrets are never shown here)</caption>
<thead><tr><th scope="col">Credential</th><th scope="col">Kind</th><th scope="col">Description</th><th scope="col">Domain</th><th scope="col">Created</th>
<th scope="col">Last used</th><th scope="col">State</th></tr></thead>
<tbody>${items.map(
    (c) => html`<tr><th scope="row"><a href="${credentialPath(c.id)}">${c.id}</a><br><code>${c.username}</code></th><td>${c.kind}</td><td>${c.description}</td>
<td>${c.domain ? html`<a href="${domainPath(c.domain)}">${c.domain}</a>` : html`<span class="muted">—</span>`}</td><td>${when(c.createdAt)}</td>
<td>${when(c.lastUsedAt)}${c.lastUsedIp ? html`<br>from <code>${c.lastUsedIp}</code>` : ''}</td><td>${stateBadge(c)}</td></tr>`,
  )}</tbody></table></div>`;
}

export function createForm(csrf: string, form: FormState, domains: string[]): SafeHtml {
  const domainOptions = [{ value: '', label: '— none (submission credentials)' }, ...domains.map((d) => ({ value: d, label: d }))];
  return html`<form method="post" action="/console/credentials" class="card" novalidate>${csrfField(csrf)}${problemSummary(form, ['kind', 'domain', 'tlsClientName', 'description'])}
${selectField(form, { form: 'credential', name: 'kind', label: 'Kind', options: KINDS })}
${selectField(form, { form: 'credential', name: 'domain', label: 'Domain (inbound credentials only)', options: domainOptions, hint: 'At most two live inbound credentials per domain: enough to rotate.' })}
${inputField(form, { form: 'credential', name: 'tlsClientName', label: 'Client certificate name (inbound credentials only, optional)', hint: 'For a mail server that cannot AUTH (an Exchange Online connector): the DNS name its TLS certificate is issued for, e.g. mail.example.com. It relays on the relay port with that certificate, and the credential has no secret.' })}
${inputField(form, { form: 'credential', name: 'description', label: 'Description', required: true, hint: 'What will use it, e.g. "Helpdesk application" or "Exchange relay".' })}
<p><button type="submit">Create the credential</button></p></form>`;
}

/** The one page that ever shows the secret; `secret` is undefined when it was shown already. */
export function secretBody(c: Credential, secret: string | undefined, smtp: Readonly<SmtpEndpoints>): SafeHtml {
  if (c.tlsClientName)
    return html`<div class="card" role="status"><p>This credential has no secret: the mail server of ${c.domain ?? 'the domain'} proves itself with a TLS client certificate
valid for <code>${c.tlsClientName}</code>, presented in STARTTLS on the gateway's relay port, without AUTH.</p></div>${relayServer(smtp)}
<p><a href="${credentialPath(c.id)}">The credential's page</a> · <a href="/console/credentials">All credentials</a></p>`;
  const use =
    c.kind === 'submission'
      ? html`<p>Give these to the application: SMTP submission to the gateway, AUTH PLAIN or LOGIN, over TLS.</p>${submissionServer(smtp)}`
      : html`<p>Give these to the mail server of ${c.domain ?? 'the domain'}: it relays mail back to the gateway with AUTH, over TLS.</p>${relayServer(smtp)}`;
  const shown = secret
    ? html`<div class="card warning" role="alert"><p><strong>Copy the secret now: it is shown only this once.</strong> The gateway keeps only a keyed hash of it
and cannot show it again. If it is lost, rotate the credential.</p></div>
<dl><dt>Username</dt><dd>${copyable(c.username, 'username')}</dd><dt>Secret</dt><dd><span class="secret">${copyable(secret, 'secret')}</span></dd></dl>`
    : html`<div class="card" role="status"><p>The secret of this credential was shown once, when it was created, and is not shown again.
If it was not copied, <a href="${credentialPath(c.id)}#rotate">rotate the credential</a> to get a new one.</p></div>
<dl><dt>Username</dt><dd>${copyable(c.username, 'username')}</dd></dl>`;
  return html`${shown}${use}<p><a href="${credentialPath(c.id)}">The credential's page</a> · <a href="/console/credentials">All credentials</a></p>`;
}

/** Where an application submits: the gateway's name (its certificate's) and both submission ports. */
export function submissionServer(smtp: Readonly<SmtpEndpoints>): SafeHtml {
  return html`<dl class="server"><dt>Server</dt><dd>${copyable(smtp.host, 'server name')}</dd>
<dt>Port</dt><dd>${copyable(String(smtp.submissionPort), 'submission port')} with STARTTLS, or ${copyable(String(smtp.implicitTlsPort), 'implicit TLS port')} with implicit TLS (SMTPS)</dd></dl>`;
}

/** Where a domain's mail server relays inbound mail back: the relay port, STARTTLS. */
export function relayServer(smtp: Readonly<SmtpEndpoints>): SafeHtml {
  return html`<dl class="server"><dt>Server</dt><dd>${copyable(smtp.host, 'server name')}</dd>
<dt>Relay port</dt><dd>${copyable(String(smtp.relayPort), 'relay port')} with STARTTLS</dd></dl>`;
}

export function detailBody(c: Credential, csrf: string, rotate: FormState, smtp: Readonly<SmtpEndpoints>): SafeHtml {
  const live = c.state === 'active' || c.state === 'retiring';
  const windows = Object.entries(ROTATION_WINDOWS).map(([value, w]) => ({ value, label: w.label }));
  return html`<dl><dt>Kind</dt><dd>${c.kind}</dd><dt>Username</dt><dd>${copyable(c.username, 'username')}</dd><dt>Description</dt><dd>${c.description}</dd>
<dt>Domain</dt><dd>${c.domain ?? '—'}</dd>${c.tlsClientName ? html`<dt>Client certificate for</dt><dd><code>${c.tlsClientName}</code> (relay port, no secret)</dd>` : ''}<dt>State</dt><dd>${stateBadge(c)}${c.retireAt ? html` until ${when(c.retireAt)}` : ''}</dd>
<dt>Created</dt><dd>${when(c.createdAt)}</dd><dt>Last used</dt><dd>${when(c.lastUsedAt)}${c.lastUsedIp ? html` from <code>${c.lastUsedIp}</code>` : ''}</dd>
${c.retirementSetAt ? html`<dt>Rotated out</dt><dd>${when(c.retirementSetAt)}</dd>` : ''}
${c.usedSinceRotationAt ? html`<dt>Used after rotation</dt><dd>${when(c.usedSinceRotationAt)}: a client still uses this credential</dd>` : ''}
${c.revokedAt ? html`<dt>Revoked</dt><dd>${when(c.revokedAt)}</dd>` : ''}</dl>
<h2 id="server">Where it connects</h2>${c.kind === 'submission' ? submissionServer(smtp) : relayServer(smtp)}
${
  live
    ? html`<h2 id="rotate">Rotate</h2>
<p>Rotation creates a new credential like this one and shows its secret once; this one keeps working for the time chosen, so that every client can switch.${
        c.kind === 'inbound' ? ' A domain can have two live inbound credentials: the old and the new.' : ''
      }</p>
<form method="post" action="${credentialPath(c.id)}/rotate" class="card">${csrfField(csrf)}${problemSummary(rotate, ['window'])}
${selectField(rotate, { form: 'rotate', name: 'window', label: 'Keep this credential working for', options: windows })}
<p><button type="submit">Rotate the credential</button></p></form>
<h2 id="revoke">Revoke</h2><p>A revoked credential fails its next AUTH. <a class="button danger" href="${credentialPath(c.id)}/revoke">Revoke…</a></p>`
    : html`<p class="muted">This credential no longer works.</p>`
}`;
}
