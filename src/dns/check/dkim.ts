import { isLookupFailure, type Lookup, lookUpTxt } from '../records.js';
import type { DnsResolver } from '../resolver.js';
import { type Finding, finding, txt } from './finding.js';
import { parseTags } from './tag-list.js';

/** A key record the gateway wants published, as src/dkim's dkimSelectorsFor gives it. */
export interface GatewayDkimSelector {
  selector: string;
  algorithm: string;
  /** The TXT value to publish at `<selector>._domainkey.<domain>`, whole. */
  record: string;
  state: string;
}

/** The gateway's DKIM keys for a domain that should be in DNS now (retired keys left out). */
export type DkimSelectorsFor = (domain: string) => Promise<GatewayDkimSelector[]>;

export interface DkimFacts {
  /** Why the gateway's keys could not be read, or the keys with what their names hold. */
  selectors: { selector: GatewayDkimSelector; lookup: Lookup<string> }[] | { problem: string };
}

export const dkimRecordName = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;

export async function gatherDkim(resolver: DnsResolver, selectorsFor: DkimSelectorsFor, domain: string): Promise<DkimFacts> {
  let selectors: GatewayDkimSelector[];
  try {
    selectors = await selectorsFor(domain);
  } catch (error) {
    return { selectors: { problem: `the gateway's DKIM keys could not be read: ${(error as Error).message}` } };
  }
  return {
    selectors: await Promise.all(
      selectors.map(async (selector) => ({ selector, lookup: await lookUpTxt(resolver, dkimRecordName(selector.selector, domain)) })),
    ),
  };
}

/** One finding per key the gateway signs (or will sign) with: its record must carry the same key (RFC 6376 §3.6.1). */
export function judgeDkim(domain: string, facts: DkimFacts): Finding[] {
  if (!Array.isArray(facts.selectors)) return [finding('dkim', domain, 'fail', facts.selectors.problem)];
  if (facts.selectors.length === 0)
    return [
      finding('dkim', domain, 'warn', `the gateway has no DKIM key for ${domain}, so it cannot sign its mail`, [], {
        action: 'change',
        records: [],
        how: `generate keys with "relaygate dkim generate ${domain}" and publish the records it prints`,
      }),
    ];
  return facts.selectors.map(({ selector, lookup }) => judgeSelector(domain, selector, lookup));
}

function judgeSelector(domain: string, selector: GatewayDkimSelector, lookup: Lookup<string>): Finding {
  const name = dkimRecordName(selector.selector, domain);
  const found = lookup.kind === 'ok' ? lookup.records : [];
  const key = `${selector.algorithm} key, ${selector.state}`;
  if (isLookupFailure(lookup)) return finding('dkim', name, 'fail', lookup.detail);
  const expected = txt(name, selector.record);
  if (found.length === 0)
    return finding('dkim', name, 'fail', `not published (${key}): receivers cannot verify signatures made with it`, found, {
      action: 'publish',
      records: [expected],
      how: 'publish the record exactly as given',
    });
  if (found.some((value) => sameKey(value, selector.record))) return finding('dkim', name, 'pass', `published (${key})`, found);
  return finding('dkim', name, 'fail', `another key is published there (${key}): signatures made with the gateway's key fail`, found, {
    action: 'replace',
    records: [expected],
    how: 'replace the record with the one given',
  });
}

/** Same key type and p= (whitespace in p= is folding, RFC 6376 §3.6.1; k= defaults to rsa). */
function sameKey(published: string, ours: string): boolean {
  const [found, expected] = [parseTags(published), parseTags(ours)];
  const p = (tags: Map<string, string>) => (tags.get('p') ?? '').replace(/\s+/g, '');
  const k = (tags: Map<string, string>) => (tags.get('k') ?? 'rsa').toLowerCase();
  return p(found) !== '' && p(found) === p(expected) && k(found) === k(expected);
}
