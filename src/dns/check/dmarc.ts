import { isLookupFailure, type Lookup, lookUpTxt } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { type Finding, finding, txt } from './finding.js';
import { parseTags, recordsOfVersion } from './tag-list.js';

/** The `_dmarc` names looked at, the domain's own first, with what each holds. */
export type DmarcFacts = { name: string; lookup: Lookup<string> }[];

/**
 * `_dmarc.<domain>`, and without a record there the parents' up to two labels: a
 * subdomain without its own record is governed by its organisational domain's (RFC 7489
 * §6.6.3). Walking up label by label, as DMARCbis does, finds it without a public-suffix list.
 */
export async function gatherDmarc(resolver: DnsResolver, domain: string): Promise<DmarcFacts> {
  const facts: DmarcFacts = [];
  const labels = domain.split('.');
  for (let i = 0; i <= labels.length - 2; i += 1) {
    const name = `_dmarc.${labels.slice(i).join('.')}`;
    const lookup = await lookUpTxt(resolver, name);
    facts.push({ name, lookup });
    if (lookup.kind !== 'ok' && lookup.kind !== 'nodata' && lookup.kind !== 'nxdomain') break;
    if (lookup.kind === 'ok' && recordsOfVersion(lookup.records, 'v=DMARC1').length > 0) break;
  }
  return facts;
}

export function judgeDmarc(domain: string, facts: DmarcFacts): Finding {
  const own = `_dmarc.${domain}`;
  const suggested = txt(own, `v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain}`);
  const last = facts[facts.length - 1];
  if (last && isLookupFailure(last.lookup)) return finding('dmarc', last.name, 'fail', last.lookup.detail);
  const hit = facts.find((fact) => fact.lookup.kind === 'ok' && recordsOfVersion(fact.lookup.records, 'v=DMARC1').length > 0);
  if (hit?.lookup.kind !== 'ok')
    return finding('dmarc', own, 'fail', `no DMARC record: receivers apply no policy to mail that fails SPF and DKIM alignment`, [], {
      action: 'publish',
      records: [suggested],
      how: 'start with p=none to collect reports if unsure, then move to quarantine or reject',
    });
  const found = hit.lookup.records;
  const records = recordsOfVersion(found, 'v=DMARC1');
  if (records.length > 1)
    return finding('dmarc', hit.name, 'fail', 'several v=DMARC1 records: receivers apply none (RFC 7489 §6.6.3)', found, {
      action: 'remove',
      records: [],
      how: 'keep exactly one v=DMARC1 record',
    });
  const tags = parseTags(records[0] ?? '');
  const inherited = hit.name !== own;
  // RFC 7489 §6.3: sp= is the policy for subdomains, p= when sp= is absent.
  const policy = ((inherited ? (tags.get('sp') ?? tags.get('p')) : tags.get('p')) ?? '').toLowerCase();
  const from = inherited ? ` (from ${hit.name}, the parent's policy for subdomains)` : '';
  const reports = tags.has('rua') ? `, reports to ${tags.get('rua')}` : ', no aggregate reports (rua=)';
  if (policy === 'reject' || policy === 'quarantine') return finding('dmarc', hit.name, 'pass', `p=${policy}${from}${reports}`, found);
  if (policy === 'none')
    return finding('dmarc', hit.name, 'warn', `p=none${from}${reports}: failing mail is only reported, never refused`, found, {
      action: inherited ? 'publish' : 'change',
      records: [inherited ? suggested : txt(own, (records[0] ?? '').replace(/\bp\s*=\s*none\b/i, 'p=quarantine'))],
      how: 'move to p=quarantine, then p=reject, once the reports show your own mail passes',
    });
  return finding('dmarc', hit.name, 'fail', `the record has no valid p= (none, quarantine or reject; RFC 7489 §6.3)${from}`, found, {
    action: 'replace',
    records: [suggested],
    how: 'give the record a policy',
  });
}
