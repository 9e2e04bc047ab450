import type { FastifyInstance } from 'fastify';
import type { ConnectorStatus } from '../../connector/connector.js';
import type { Domain } from '../../directory/domains.js';
import { html } from '../../web/html.js';
import { type Signed, sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, csrfField, layout } from '../layout.js';
import { attempt, EMPTY_FORM, type FormBody, type FormState, field, inputField, problemSummary } from './form-fields.js';
import { domainPath, withDone } from './format.js';

/** Where the two legs of a domain stand, in one word for the list and the checklist. */
export function legsWord(status: ConnectorStatus): 'verified' | 'pending' | 'failed' | 'not checked' {
  const legs = [status.legs.outbound, status.legs.inbound];
  if (legs.every((l) => l?.status === 'verified')) return 'verified';
  if (legs.some((l) => l?.status === 'pending')) return 'pending';
  if (legs.some((l) => l?.status === 'failed')) return 'failed';
  return 'not checked';
}

/** /console/domains: the claimed domains, and the form that claims one. */
export function registerDomainList(app: FastifyInstance, deps: ConsoleDeps): void {
  const page = async (signed: Signed, form: FormState) => {
    const domains = (await deps.services.domains.list({ limit: 500, offset: 0 })).items;
    const rows = await Promise.all(domains.map(async (d) => ({ domain: d, status: await deps.services.connector.status(d.name) })));
    return layout({
      title: 'Domains',
      admin: signed.admin,
      csrf: signed.csrf,
      active: 'domains',
      body: html`${rows.length === 0 ? html`<p>No domain yet. Claim the domain your applications send from to begin.</p>` : domainTable(rows)}
<h2 id="claim">Claim a domain</h2>
<form method="post" action="/console/domains" class="card" novalidate>${csrfField(signed.csrf)}${problemSummary(form, ['name'])}
${inputField(form, { form: 'claim', name: 'name', label: 'Domain name', hint: 'Lowercase, without a trailing dot, e.g. example.com. A subdomain is a domain of its own.', required: true, placeholder: 'example.com' })}
<p><button type="submit">Claim the domain</button></p></form>`,
    });
  };

  app.get('/domains', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    return sendPage(reply, 200, await page(signed, EMPTY_FORM));
  });

  app.post<{ Body: FormBody }>('/domains', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const values = { name: field(request.body, 'name').trim() };
    const result = await attempt(
      reply,
      values,
      () => deps.services.domains.add(values.name, signed.actor),
      (state) => page(signed, state),
    );
    if (!result.ok) return result.reply;
    return reply.redirect(withDone(domainPath(result.value.name), 'claimed'), 303);
  });
}

function domainTable(rows: { domain: Domain; status: ConnectorStatus }[]) {
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Claimed domains</caption>
<thead><tr><th scope="col">Domain</th><th scope="col">Ownership</th><th scope="col">Addresses</th><th scope="col">Connection</th><th scope="col">Both legs</th></tr></thead>
<tbody>${rows.map(
    ({ domain, status }) => html`<tr><th scope="row"><a href="${domainPath(domain.name)}">${domain.name}</a></th><td>${badge(domain.status)}</td>
<td>${domain.addressCount}</td><td>${status.state}</td><td>${legBadge(legsWord(status))}</td></tr>`,
  )}</tbody></table></div>`;
}

/** A badge for a leg word; "not checked" is information, not a failure. */
export function legBadge(word: string) {
  return word === 'not checked' ? html`<span class="badge info">not checked</span>` : badge(word);
}
