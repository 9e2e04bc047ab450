import type { ProbeStep } from '../../delivery/smarthost-probe.js';
import type { TlsReport } from '../../delivery/tls-report.js';
import type { Connection, ConnectionTest } from '../../directory/connections.js';
import { html, type SafeHtml } from '../../web/html.js';
import { badge, csrfField } from '../layout.js';
import { type FormState, inputField, problemSummary, selectField } from './form-fields.js';
import { connectionPath, when } from './format.js';

const SCOPE_KINDS = [
  { value: 'domain', label: 'A domain: mail from any of its addresses' },
  { value: 'address', label: 'One address (wins over its domain)' },
] as const;
const TLS_MODES = [
  { value: 'starttls', label: 'STARTTLS required (port 587)' },
  { value: 'implicit', label: 'Implicit TLS (port 465)' },
  { value: 'none', label: 'None: no TLS, no credentials (a local sink only)' },
] as const;

export const CONNECTION_FIELDS = ['scopeKind', 'scope', 'host', 'port', 'tlsMode', 'username', 'secret'] as const;

const STEP_LABELS: Record<ProbeStep['step'], string> = {
  connect: 'Connect',
  tls: 'TLS handshake and certificate',
  greeting: 'Greeting',
  ehlo: 'EHLO',
  starttls: 'STARTTLS',
  token: 'OAuth 2.0 token',
  auth: 'AUTH',
  quit: 'QUIT',
};

export function connectionTable(items: Connection[]): SafeHtml {
  if (items.length === 0) return html`<p>No outbound connection yet: mail leaves through the global smarthost, if one is set.</p>`;
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Outbound connections (their secrets are never shown)</caption>
<thead><tr><th scope="col">For</th><th scope="col">Host</th><th scope="col">TLS</th><th scope="col">Username</th><th scope="col">Changed</th></tr></thead>
<tbody>${items.map(
    (c) => html`<tr><th scope="row"><a href="${connectionPath(c.id)}">${c.scope}</a> <span class="muted">(${c.scopeKind})</span></th>
<td><code>${c.host}:${c.port}</code></td><td>${c.tlsMode}</td><td>${c.username ?? html`<span class="muted">none</span>`}${c.hasSecret ? ' (secret set)' : ''}</td>
<td>${when(c.updatedAt)}</td></tr>`,
  )}</tbody></table></div>`;
}

/** Create (no `existing`) or update; the secret field is always empty: a secret is never shown back. */
export function connectionForm(csrf: string, form: FormState, existing?: Connection): SafeHtml {
  const action = existing ? connectionPath(existing.id) : '/console/connections';
  const id = existing ? 'edit' : 'connection';
  const secretHint = existing?.hasSecret
    ? 'A secret is set and is never shown. Leave empty to keep it; clear the username to remove both.'
    : 'Write-only: sealed at rest, never shown again.';
  return html`<form method="post" action="${action}" class="card" novalidate>${csrfField(csrf)}${problemSummary(form, CONNECTION_FIELDS)}
${selectField(form, { form: id, name: 'scopeKind', label: 'For', options: SCOPE_KINDS })}
${inputField(form, { form: id, name: 'scope', label: 'Domain or address', required: true, hint: 'e.g. example.com, or support@example.com' })}
${inputField(form, { form: id, name: 'host', label: 'Smarthost', required: true, hint: 'Host name or IP address of the SMTP server mail leaves through.' })}
${selectField(form, { form: id, name: 'tlsMode', label: 'TLS', options: TLS_MODES })}
${inputField(form, { form: id, name: 'port', label: 'Port (optional)', type: 'number', min: 1, max: 65535, hint: "The TLS mode's port when empty." })}
${inputField(form, { form: id, name: 'username', label: 'Username (optional)', autocomplete: 'off' })}
${inputField(form, { form: id, name: 'secret', label: 'Secret', type: 'password', autocomplete: 'new-password', hint: secretHint })}
<p><button type="submit">${existing ? 'Save the connection' : 'Add the connection'}</button></p></form>`;
}

/** The connection test, step by step, each with its verdict and the server's own reply. */
export function testReport(test: ConnectionTest): SafeHtml {
  return html`<div class="card" id="test-result" role="status"><p>${badge(test.ok ? 'pass' : 'fail')} ${
    test.ok ? 'The connection works: every step passed.' : 'The connection does not work: see the failed step.'
  } Tested ${when(test.testedAt)}; no mail was sent.</p>
<ol class="steps">${test.steps.map(
    (s) => html`<li data-step="${s.step}" data-status="${s.status}"><span class="step-name">${STEP_LABELS[s.step]}</span> ${
      s.status === 'skip' ? html`<span class="badge info">skip</span>` : badge(s.status)
    }
${s.detail.toLowerCase() === s.step ? '' : html`<p>${s.detail}</p>`}${s.reply ? html`<p>Server replied:</p><pre class="reply">${s.reply}</pre>` : ''}${s.tls ? tlsDetails(s.tls) : ''}</li>`,
  )}</ol></div>`;
}

function tlsDetails(tls: TlsReport): SafeHtml {
  return html`<dl><dt>Protocol</dt><dd>${tls.protocol ?? '?'} ${tls.cipher ?? ''}</dd><dt>Certificate</dt><dd>${tls.subject ?? 'none'}${
    tls.issuer ? html`, issued by ${tls.issuer}` : ''
  }${tls.validTo ? html`, valid to ${tls.validTo}` : ''}</dd>
<dt>Trusted</dt><dd>${tls.verified ? 'yes: the chain and the host name check out' : html`<strong>no</strong>: ${tls.verifyError ?? ''}`}</dd>
${tls.fingerprint256 ? html`<dt>SHA-256</dt><dd><code>${tls.fingerprint256}</code></dd>` : ''}</dl>`;
}
