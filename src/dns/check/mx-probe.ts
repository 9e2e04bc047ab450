import type { TlsaRecord } from '../records.js';
import { type Finding, finding } from './finding.js';
import { addressesOf, type MxHost } from './mx.js';

/**
 * What one MX host showed when the checker connected to it (EHLO, STARTTLS), judged against
 * the DNS: `dane` against its usable TLSA records (null when it has none), `pkix` whether the
 * chain verifies to a trusted root and the certificate names the host (RFC 6125).
 */
export type MxProbe =
  | { kind: 'unreachable'; detail: string }
  | { kind: 'no-starttls'; address: string; detail: string }
  | {
      kind: 'tls';
      address: string;
      protocol: string;
      /** SHA-256 of the leaf's SubjectPublicKeyInfo, hex: the data of the `3 1 1` record that would match it. */
      spkiSha256: string;
      dane: { ok: true; match: string } | { ok: false; problem: string } | null;
      pkix: { ok: true } | { ok: false; problem: string };
    };

/** Connects to the host's addresses in turn (the configured MX port), and reports the first that answers. */
export type MxProber = (host: string, addresses: string[], tlsa: TlsaRecord[]) => Promise<MxProbe>;

/**
 * Only hosts of a DNSSEC-validated MX are probed: without it no verdict can allow direct
 * delivery, and a certificate proves nothing about a server that forged DNS picked.
 */
export async function gatherProbes(prober: MxProber, hosts: MxHost[], tlsaOf: (host: MxHost) => TlsaRecord[], mxAuthenticated: boolean) {
  if (!mxAuthenticated) return new Map<string, MxProbe>();
  const probed = await Promise.all(
    hosts.filter((host) => addressesOf(host).length > 0).map(async (host) => [host.name, await prober(host.name, addressesOf(host), tlsaOf(host))] as const),
  );
  return new Map(probed);
}

/** One finding per probed host: what it presented, and whether that is what its DNS promises. */
export function judgeProbe(hostName: string, probe: MxProbe, promise: 'dane' | 'pkix' | 'none'): Finding {
  const subject = hostName;
  if (probe.kind === 'unreachable') return finding('starttls', subject, promise === 'none' ? 'warn' : 'fail', `could not be probed: ${probe.detail}`);
  if (probe.kind === 'no-starttls')
    return finding('starttls', subject, 'fail', `${probe.address}: ${probe.detail}, so mail to it travels in the clear`, [], {
      action: 'change',
      records: [],
      how: `offer STARTTLS on ${hostName} (RFC 3207) with a certificate for ${hostName}`,
    });
  const presented = `${probe.address}: ${probe.protocol}, key 3 1 1 ${probe.spkiSha256}`;
  if (promise === 'dane' && probe.dane && !probe.dane.ok)
    return finding('starttls', subject, 'fail', `the certificate ${hostName} presents matches none of its TLSA records: ${probe.dane.problem}`, [presented], {
      action: 'replace',
      records: [{ name: `_25._tcp.${hostName}`, type: 'TLSA', value: `3 1 1 ${probe.spkiSha256}` }],
      how: `publish the record for the key ${hostName} presents now (beside the old one until every server uses the new key, RFC 7671 §8.1), or put the old key back on the server`,
    });
  if (promise === 'pkix' && !probe.pkix.ok)
    return finding('starttls', subject, 'fail', `its certificate does not authenticate it under the MTA-STS policy: ${probe.pkix.problem}`, [presented], {
      action: 'change',
      records: [],
      how: `install on ${hostName} a certificate for that name from a publicly trusted CA (RFC 8461 §4.1), with its intermediate certificates`,
    });
  if (promise === 'dane' && probe.dane?.ok)
    return finding('starttls', subject, 'pass', `STARTTLS, and the certificate matches TLSA ${probe.dane.match}`, [presented]);
  if (promise === 'pkix') return finding('starttls', subject, 'pass', 'STARTTLS, with a certificate valid for its name (PKIX)', [presented]);
  return finding('starttls', subject, 'pass', `STARTTLS${probe.pkix.ok ? ', with a certificate valid for its name' : ''}`, [presented]);
}

/** Why the probe contradicts what the DNS promises for the host, or undefined when it confirms it. */
export function probeGap(probe: MxProbe | undefined, promise: 'dane' | 'pkix'): string | undefined {
  if (!probe) return 'it could not be probed';
  if (probe.kind === 'unreachable') return `it could not be probed (${probe.detail})`;
  if (probe.kind === 'no-starttls') return probe.detail;
  if (promise === 'dane') return probe.dane?.ok ? undefined : `its certificate matches none of its TLSA records (${probe.dane?.problem ?? 'not checked'})`;
  return probe.pkix.ok ? undefined : `its certificate is not valid for it (${probe.pkix.problem})`;
}
