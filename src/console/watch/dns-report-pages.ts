import type { FastifyInstance } from 'fastify';
import type { DomainCheck, Finding, Fix } from '../../dns/check/index.js';
import { domainNameProblem } from '../../dns/index.js';
import { html, type SafeHtml } from '../../web/html.js';
import { sendPage, signedIn } from '../console-auth.js';
import { type ConsoleDeps, HIDDEN } from '../console-deps.js';
import { badge, copyable, layout } from '../layout.js';
import { timeEl } from './format.js';

const CHECK_NAMES: Record<Finding['check'], string> = {
  dnssec: 'DNSSEC',
  mx: 'MX',
  tlsa: 'TLSA (DANE)',
  starttls: 'STARTTLS (probe)',
  'mta-sts': 'MTA-STS',
  'tls-rpt': 'TLS-RPT',
  spf: 'SPF',
  dkim: 'DKIM',
  dmarc: 'DMARC',
};
const ACTIONS: Record<Fix['action'], string> = { publish: 'Publish', replace: 'Replace with', remove: 'Remove', change: 'Change' };

/** Several lines to copy at once: shown as they are, with the same progressive copy button as `copyable`. */
function block(text: string, label: string): SafeHtml {
  return html`<pre class="copy-block">${text}</pre><button type="button" class="copy" data-copy="${text}" aria-label="Copy ${label}" hidden>Copy</button>`;
}

/** The records as a table, each value (and the whole zone-file line) with a copy button. */
function fixBlock(fix: Fix, index: number): SafeHtml {
  const records = fix.records.length
    ? html`<div class="table-wrap"><table><caption class="visually-hidden">Records: ${ACTIONS[fix.action]}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th></tr></thead>
<tbody>${fix.records.map(
        (r, i) =>
          html`<tr><td>${copyable(r.name, `name of record ${index}.${i + 1}`)}</td><td>${r.type}</td><td>${copyable(r.value, `value of the ${r.name} ${r.type} record`)}</td></tr>`,
      )}</tbody></table></div>
<details><summary>As zone-file lines</summary>${block(fix.records.map((r) => `${r.name}. IN ${r.type} ${r.value}`).join('\n'), 'the zone-file lines')}</details>`
    : '';
  const file = fix.file
    ? html`<p>Serve at ${copyable(fix.file.url, 'the policy URL')} as <code>${fix.file.contentType}</code>:</p>${block(fix.file.content, 'the policy file')}`
    : '';
  return html`<div class="fix"><p><strong>${ACTIONS[fix.action]}:</strong> ${fix.how}</p>${records}${file}</div>`;
}

function findingBlock(f: Finding, index: number): SafeHtml {
  return html`<li class="finding card"><h3>${CHECK_NAMES[f.check]} ${badge(f.status)}</h3>
<p><code>${f.subject}</code></p><p>${f.summary}</p>
${f.found.length ? html`<p>Found:</p><ul class="plain">${f.found.map((r) => html`<li><code>${r}</code></li>`)}</ul>` : ''}
${f.fix ? fixBlock(f.fix, index + 1) : ''}</li>`;
}

function report(check: DomainCheck): SafeHtml {
  const counts = (status: string) => check.findings.filter((f) => f.status === status).length;
  const verdict = check.directDelivery;
  const possible = verdict.level !== 'not-possible';
  return html`<section aria-labelledby="verdict-heading" class="card"><h2 id="verdict-heading">Inbound direct delivery ${badge(possible ? 'pass' : 'fail')}</h2>
<p>${possible ? `Possible with ${verdict.text}: secure messages to ${check.domain} may be delivered decrypted over the verified transport.` : `${verdict.text.charAt(0).toUpperCase()}${verdict.text.slice(1)}.`}</p>
${verdict.reasons.length > 1 ? html`<ul>${verdict.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : ''}</section>
<p>Checked ${timeEl(check.checkedAt)}: ${counts('pass')} pass, ${counts('warn')} warn, ${counts('fail')} fail. <a href="/console/domains/${check.domain}/dns">Check again</a></p>
<section aria-labelledby="findings-heading"><h2 id="findings-heading">Checks</h2><ol class="findings plain">${check.findings.map(findingBlock)}</ol></section>`;
}

/** A domain's DNS as the gateway needs it: each check with its badge, what was found, and the exact records to publish. */
export function registerDnsReport(app: FastifyInstance, deps: ConsoleDeps): void {
  app.get<{ Params: { name: string } }>('/domains/:name/dns', HIDDEN, async (request, reply) => {
    const signed = await signedIn(deps, request, reply);
    if (!signed) return reply;
    const name = request.params.name.toLowerCase();
    const page = (status: number, title: string, body: SafeHtml) =>
      sendPage(reply, status, layout({ title, admin: signed.admin, csrf: signed.csrf, active: 'domains', body }));
    const problem = domainNameProblem(name);
    if (problem) return page(400, 'Not a domain name', html`<p>"${name}" ${problem}.</p><p><a href="/console/domains">Back to the domains</a></p>`);
    const check = await deps.services.dnsCheck.check(name);
    return page(200, `DNS report for ${name}`, html`${report(check)}<p><a href="/console/domains/${name}">Back to ${name}</a></p>`);
  });
}
