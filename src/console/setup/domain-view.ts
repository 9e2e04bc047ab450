import type { Domain } from '../../directory/domains.js';
import { html, type SafeHtml } from '../../web/html.js';
import type { Signed } from '../console-auth.js';
import { badge, copyable, csrfField, layout, type Page } from '../layout.js';
import { type AddressForms, addressSection } from './address-section.js';
import { stateBadge } from './credential-views.js';
import { type DirectDeliveryForms, directDeliverySection } from './direct-delivery-section.js';
import type { FormState } from './form-fields.js';
import { connectionPath, credentialPath, domainPath, when } from './format.js';
import { legsSection } from './legs-section.js';
import { type DomainSetup, setupChecklist } from './setup-checklist.js';

export interface DomainForms extends AddressForms, DirectDeliveryForms {
  /** A refused "Verify the connection". */
  legs?: FormState;
}

/** One domain from claim to verified: the checklist on top, then a section per step. */
export function domainPage(signed: Signed, s: DomainSetup, forms: DomainForms, flash: Page['flash']): string {
  const { domain } = s;
  return layout({
    title: `Domain ${domain.name}`,
    admin: signed.admin,
    csrf: signed.csrf,
    active: 'domains',
    flash,
    body: html`<p><a href="/console/domains">All domains</a> · <a href="${domainPath(domain.name)}/dns">DNS check report</a></p>${setupChecklist(s)}
<section aria-labelledby="ownership"><h2 id="ownership">Ownership</h2>${ownership(domain, signed.csrf)}</section>
<section aria-labelledby="addresses"><h2 id="addresses">Addresses and aliases</h2>${
      domain.status === 'verified'
        ? addressSection(domain.name, signed.csrf, s.addresses, forms)
        : html`<p class="muted">Addresses can be added once the ownership is verified.</p>`
    }</section>
<section aria-labelledby="credentials"><h2 id="credentials">Credentials</h2>${credentials(s)}</section>
<section aria-labelledby="outbound"><h2 id="outbound">Outbound connection</h2>${outbound(s)}</section>
<section aria-labelledby="legs"><h2 id="legs">Verification of both legs</h2>${legsSection(domain.name, signed.csrf, s.status, forms.legs)}</section>
<section aria-labelledby="direct-delivery"><h2 id="direct-delivery">Inbound direct delivery of secure messages</h2>${directDeliverySection(domain, signed.csrf, forms)}</section>`,
  });
}

function ownership(domain: Domain, csrf: string): SafeHtml {
  const record = domain.verificationRecord;
  const recordList = html`<dl><dt>Type</dt><dd><code>${record.type}</code></dd><dt>Name</dt><dd>${copyable(record.name, 'record name')}</dd>
<dt>Value</dt><dd>${copyable(record.value, 'record value')}</dd></dl>`;
  if (domain.status === 'verified') {
    const by = domain.verifiedBy === 'dns' ? 'its TXT record was found' : `verified by hand (${domain.verifiedBy ?? 'operator'})`;
    return html`<p>${badge('verified')} Verified ${when(domain.verifiedAt)}: ${by}.</p>
<p>Next: <a href="#addresses">add its support address</a>, <a href="#credentials">create the inbound credential</a> of its mail server,
<a href="#outbound">set its outbound connection</a>, then <a href="#legs">verify both legs</a>.</p>
<details><summary>The ownership record (keep it published)</summary>${recordList}</details>`;
  }
  const check = domain.lastCheck;
  return html`<p>${badge('pending')} Publish this TXT record at the DNS provider of ${domain.name}, then check again.</p>
<div class="card">${recordList}</div>
${
  check
    ? html`<div class="card" role="status"><p>Last check ${when(check.at)}: ${badge('fail')} <strong>${check.outcome.replaceAll('_', ' ')}</strong>: ${check.detail}</p>${
        check.found.length > 0 ? html`<p>Found instead:</p><ul>${check.found.map((v) => html`<li><code>${v}</code></li>`)}</ul>` : ''
      }</div>`
    : ''
}
<form method="post" action="${domainPath(domain.name)}/verify">${csrfField(csrf)}<button type="submit">Check again</button></form>
<p class="muted">DNS changes can take a few minutes to be seen, longer when an older answer is cached.</p>`;
}

function credentials(s: DomainSetup): SafeHtml {
  const create = `/console/credentials?kind=inbound&domain=${encodeURIComponent(s.domain.name)}#create`;
  const list =
    s.inboundCredentials.length === 0
      ? html`<p>No inbound credential yet: the domain's mail server needs one to relay mail back to the gateway.</p>`
      : html`<ul>${s.inboundCredentials.map(
          (c) => html`<li><a href="${credentialPath(c.id)}">${c.description}</a> (<code>${c.username}</code>) ${stateBadge(c)}</li>`,
        )}</ul>`;
  return html`${list}<p><a href="${create}">Create an inbound credential for ${s.domain.name}</a>. Applications that send mail use
<a href="/console/credentials#create">submission credentials</a>.</p>`;
}

function outbound(s: DomainSetup): SafeHtml {
  const create = `/console/connections?scopeKind=domain&scope=${encodeURIComponent(s.domain.name)}#create`;
  if (s.connections.length === 0)
    return html`<p>No outbound connection: mail from ${s.domain.name} would leave through the global smarthost, if one is set.</p>
<p><a href="${create}">Set the outbound connection of ${s.domain.name}</a></p>`;
  return html`<ul>${s.connections.map(
    (c) =>
      html`<li><a href="${connectionPath(c.id)}">${c.scope}</a>: ${c.host}:${c.port} (${c.tlsMode}) — <a href="${connectionPath(c.id)}#test">test it</a></li>`,
  )}</ul>`;
}
