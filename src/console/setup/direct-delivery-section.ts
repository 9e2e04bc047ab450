import type { Domain } from '../../directory/domains.js';
import type { DirectDeliveryVerdict } from '../../dns/check/index.js';
import { html, type SafeHtml } from '../../web/html.js';
import { badge, csrfField } from '../layout.js';
import type { FormState } from './form-fields.js';
import { domainPath, when } from './format.js';

/** What the section shows besides the flag: a refusal of the last change, and the verdict of a check run for this page. */
export interface DirectDeliveryForms {
  directDelivery?: FormState;
  verdict?: DirectDeliveryVerdict;
}

/** The flash after a change: a fixed text per outcome, the verdict being one of a closed set. */
export const DIRECT_DELIVERY_FLASH = {
  'direct-delivery-dane':
    'Inbound direct delivery is on. The DNS check says DNSSEC + DANE: secure messages are delivered decrypted to its MX while that holds at each attempt.',
  'direct-delivery-pkix':
    'Inbound direct delivery is on. The DNS check says DNSSEC + PKIX: secure messages are delivered decrypted to its MX while that holds at each attempt.',
  'direct-delivery-off': 'Inbound direct delivery is off: recipients at this domain get the portal notification.',
};

/**
 * Inbound direct delivery (directory/direct-delivery.ts): the flag, the DNS checker's verdict
 * when one was asked for, and the switch. Turning it on runs the check and is refused with its
 * reasons, as the API and CLI refuse it; turning it off asks no DNS, so it works while DNS is broken.
 */
export function directDeliverySection(domain: Domain, csrf: string, forms: DirectDeliveryForms): SafeHtml {
  const { enabled, changedAt } = domain.directDelivery;
  const path = `${domainPath(domain.name)}/direct-delivery`;
  const refusal = forms.directDelivery?.error;
  const state = html`<p id="direct-delivery-state">Direct delivery: <span class="badge ${enabled ? 'pass' : 'info'}">${enabled ? 'on' : 'off'}</span>${
    changedAt ? html` since ${when(changedAt)}` : ''
  }</p>`;
  const canEnable = domain.status === 'verified' || enabled;
  const toggle = canEnable
    ? html`<form method="post" action="${path}" class="inline-form">${csrfField(csrf)}<input type="hidden" name="enabled" value="${enabled ? 'off' : 'on'}">
<button type="submit" aria-describedby="direct-delivery-state">${enabled ? 'Turn direct delivery off' : 'Turn direct delivery on'}</button></form>`
    : html`<p class="muted">Only a verified domain can receive secure messages directly: verify its ownership first.</p>`;
  return html`<p>Secure messages to ${domain.name} can be delivered decrypted, straight to its MX, when its DNS proves the transport:
DNSSEC with DANE, or DNSSEC with an MTA-STS policy in enforce mode (PKIX). Otherwise its recipients get the portal notification.</p>
${state}${
  refusal
    ? html`<div class="form-error" role="alert"><p><strong>Not turned on:</strong> ${refusal.message}.</p>
${refusal.field === 'enabled' ? html`<p>Fix these (the <a href="${domainPath(domain.name)}/dns">DNS check report</a> shows the records) and try again.</p>` : ''}</div>`
    : ''
}
${forms.verdict ? verdictCard(domain.name, forms.verdict) : html`<p><a href="${domainPath(domain.name)}?check=direct-delivery#direct-delivery">Run the DNS check now</a> to see whether it is possible.</p>`}
${toggle}`;
}

function verdictCard(name: string, verdict: DirectDeliveryVerdict): SafeHtml {
  const possible = verdict.level !== 'not-possible';
  return html`<div class="card" role="status" id="direct-delivery-verdict"><p>DNS check: ${badge(possible ? 'pass' : 'fail')} <strong>${
    possible ? verdict.text : 'not possible'
  }</strong>${possible ? ` — secure messages to ${name} may be delivered directly.` : ', because:'}</p>${
    verdict.reasons.length > 0 ? html`<ul>${verdict.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''
  }</div>`;
}
