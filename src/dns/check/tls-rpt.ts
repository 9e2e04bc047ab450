import { isLookupFailure, type Lookup } from '../records.js';
import { type Finding, finding, txt } from './finding.js';
import { parseTags, recordsOfVersion } from './tag-list.js';

/** SMTP TLS reporting (RFC 8460 §3): one `v=TLSRPTv1` record at `_smtp._tls.<domain>` with rua= mailto: or https: URIs. */
export function judgeTlsRpt(domain: string, lookup: Lookup<string>): Finding {
  const name = `_smtp._tls.${domain}`;
  const found = lookup.kind === 'ok' ? lookup.records : [];
  if (isLookupFailure(lookup)) return finding('tls-rpt', name, 'fail', lookup.detail);
  const records = recordsOfVersion(found, 'v=TLSRPTv1');
  const suggested = txt(name, `v=TLSRPTv1; rua=mailto:tlsrpt@${domain}`);
  if (records.length === 0)
    return finding('tls-rpt', name, 'warn', 'no TLS reporting: senders cannot tell the domain when TLS to its MX hosts fails', found, {
      action: 'publish',
      records: [suggested],
      how: 'reports arrive once a day from each large sender; any mailbox or an https:// endpoint will do',
    });
  if (records.length > 1)
    return finding('tls-rpt', name, 'fail', 'several v=TLSRPTv1 records: senders ignore them all (RFC 8460 §3)', found, {
      action: 'remove',
      records: [],
      how: 'keep exactly one v=TLSRPTv1 record',
    });
  const rua = parseTags(records[0] ?? '').get('rua') ?? '';
  const uris = rua
    .split(',')
    .map((uri) => uri.trim())
    .filter(Boolean);
  const bad = uris.filter((uri) => !/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(uri));
  if (uris.length === 0 || bad.length > 0)
    return finding('tls-rpt', name, 'fail', `rua= must list mailto: or https: URIs (RFC 8460 §3)${bad.length > 0 ? `, not ${bad.join(', ')}` : ''}`, found, {
      action: 'replace',
      records: [suggested],
      how: 'name where reports go',
    });
  return finding('tls-rpt', name, 'pass', `reports go to ${uris.join(', ')}`, found);
}
