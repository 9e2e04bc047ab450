import type { Address } from '../../directory/addresses.js';
import { html, type SafeHtml } from '../../web/html.js';
import { csrfField } from '../layout.js';
import { EMPTY_FORM, type FormState, inputField, problemSummary, selectField, textareaField } from './form-fields.js';
import { domainPath } from './format.js';

/** The forms of the section as the last request left them: one may carry a refusal. */
export interface AddressForms {
  add?: FormState;
  /** The alias form of one address. */
  alias?: { address: string; state: FormState };
  /** A refused removal (of an address or an alias). */
  remove?: FormState;
}

export const KIND_OPTIONS = [
  { value: 'support', label: 'Support address (people write to it)' },
  { value: 'functional', label: 'Functional account (an application sends as it)' },
] as const;

/** Addresses and aliases of a verified domain: the list with its actions, and the form that adds one. */
export function addressSection(domain: string, csrf: string, addresses: Address[], forms: AddressForms): SafeHtml {
  const base = domainPath(domain);
  // The first address is nearly always the support address the verification mails go to.
  const add = forms.add ?? { values: { address: addresses.length === 0 ? `support@${domain}` : '' } };
  return html`${forms.remove ? problemSummary(forms.remove, []) : ''}
${addresses.length === 0 ? html`<p>No address yet.</p>` : addressTable(base, csrf, addresses, forms)}
<h3 id="add-address">Add an address</h3>
<form method="post" action="${base}/addresses" class="card" novalidate>${csrfField(csrf)}${problemSummary(add, ['address', 'kind', 'description', 'aliases'])}
${inputField(add, { form: 'address', name: 'address', label: 'Address', type: 'email', required: true, hint: `In ${domain}, lowercase.` })}
${selectField(add, { form: 'address', name: 'kind', label: 'Kind', options: KIND_OPTIONS })}
${inputField(add, { form: 'address', name: 'description', label: 'Description (optional)', hint: 'What it is for, e.g. "Customer service".' })}
${textareaField(add, { form: 'address', name: 'aliases', label: 'Aliases (optional)', hint: 'Other addresses that reach it, one per line, in any verified domain.', rows: 2 })}
<p><button type="submit">Add the address</button></p></form>`;
}

function addressTable(base: string, csrf: string, addresses: Address[], forms: AddressForms): SafeHtml {
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Addresses of the domain</caption>
<thead><tr><th scope="col">Address</th><th scope="col">Kind</th><th scope="col">Source</th><th scope="col">Description</th><th scope="col">Aliases</th><th scope="col">Actions</th></tr></thead>
<tbody>${addresses.map((a, i) => {
    const aliasForm = forms.alias?.address === a.address ? forms.alias.state : EMPTY_FORM;
    if (a.source !== 'manual') return syncedRow(a);
    return html`<tr><th scope="row">${a.address}</th><td>${a.kind}</td><td>manual</td><td>${a.description}</td>
<td>${a.aliases.length === 0 ? html`<span class="muted">none</span>` : html`<ul class="plain">${a.aliases.map((alias) => aliasItem(base, csrf, a.address, alias))}</ul>`}
<form method="post" action="${base}/aliases" class="compact" novalidate>${csrfField(csrf)}<input type="hidden" name="address" value="${a.address}">
${problemSummary(aliasForm, ['alias'])}${inputField(aliasForm, { form: `alias-${i}`, name: 'alias', label: `New alias for ${a.address}`, type: 'email', required: true })}
<button type="submit" class="secondary">Add alias</button></form></td>
<td><form method="post" action="${base}/addresses/remove" class="inline">${csrfField(csrf)}<input type="hidden" name="address" value="${a.address}">
<button type="submit" class="danger" aria-label="Remove address ${a.address}">Remove</button></form></td></tr>`;
  })}</tbody></table></div>`;
}

/** A synced address is the directory's: shown, never edited here (the next sync would undo it). */
function syncedRow(a: Address): SafeHtml {
  const state = a.suspendedAt === null ? '' : ', suspended (the directory user is deactivated)';
  return html`<tr><th scope="row">${a.address}</th><td>${a.kind}</td><td>synced (${a.source})${state}</td><td>${a.description}</td>
<td>${a.aliases.length === 0 ? html`<span class="muted">none</span>` : html`<ul class="plain">${a.aliases.map((alias) => html`<li>${alias}</li>`)}</ul>`}</td>
<td><span class="muted">Change it in the organisation's directory</span></td></tr>`;
}

function aliasItem(base: string, csrf: string, address: string, alias: string): SafeHtml {
  return html`<li>${alias} <form method="post" action="${base}/aliases/remove" class="inline">${csrfField(csrf)}
<input type="hidden" name="address" value="${address}"><input type="hidden" name="alias" value="${alias}">
<button type="submit" class="link-button" aria-label="Remove alias ${alias}">remove</button></form></li>`;
}
