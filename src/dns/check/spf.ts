import { isLookupFailure, type Lookup } from '../records.js';
import { type Finding, type Fix, finding, txt } from './finding.js';

/**
 * The SPF record of the domain (RFC 7208): exactly one `v=spf1` TXT record (§4.5, more is a
 * permerror), ending in an `all` that refuses (-all) or soft-fails (~all) unlisted hosts.
 * Whether it lists the hosts that really send is not judged here: that needs their addresses.
 */
export function judgeSpf(domain: string, lookup: Lookup<string>, gatewayHostname: string): Finding {
  const found = lookup.kind === 'ok' ? lookup.records : [];
  if (isLookupFailure(lookup)) return finding('spf', domain, 'fail', lookup.detail);
  const records = found.filter((value) => /^v=spf1(\s|$)/i.test(value));
  const suggested: Fix = {
    action: 'publish',
    records: [txt(domain, `v=spf1 mx a:${gatewayHostname} -all`)],
    how: `list every host that sends mail from ${domain}: the gateway (${gatewayHostname}), and its smarthost if it uses one`,
  };
  if (records.length === 0) return finding('spf', domain, 'fail', `no SPF record: receivers cannot tell which hosts may send from ${domain}`, found, suggested);
  if (records.length > 1)
    return finding('spf', domain, 'fail', 'several v=spf1 records: receivers treat that as a permanent error (RFC 7208 §4.5)', found, {
      action: 'replace',
      records: [],
      how: 'merge them into one record',
    });
  const record = records[0] ?? '';
  const terms = record.split(/\s+/).slice(1);
  const all = terms.find((term) => /^[-~?+]?all$/i.test(term));
  if (!all && terms.some((term) => /^redirect=/i.test(term)))
    return finding('spf', domain, 'pass', `policy from ${terms.find((t) => /^redirect=/i.test(t))}`, found);
  const qualifier = all ? (/^[-~?+]/.test(all) ? all[0] : '+') : undefined;
  // The record's own terms with a refusing all; the suggested mechanisms when it lists none.
  const listed = terms.filter((term) => !/^[-~?+]?all$/i.test(term));
  const withAll = (ending: string) => ({
    ...suggested,
    action: 'change' as const,
    records: [txt(domain, ['v=spf1', ...(listed.length > 0 ? listed : ['mx', `a:${gatewayHostname}`]), ending].join(' '))],
  });
  if (qualifier === '+')
    return finding('spf', domain, 'fail', `"${all}" lets every host on the Internet send as ${domain}`, found, {
      ...withAll('-all'),
      how: 'end the record with -all',
    });
  if (qualifier === undefined || qualifier === '?')
    return finding('spf', domain, 'warn', 'mail from unlisted hosts is neutral, so forgeries are not refused (RFC 7208 §4.7)', found, {
      ...withAll('-all'),
      how: 'end the record with -all (or ~all while checking)',
    });
  return finding('spf', domain, 'pass', `${record} (unlisted hosts ${qualifier === '-' ? 'fail' : 'soft-fail'})`, found);
}
