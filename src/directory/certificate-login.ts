import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { networkContains, parseNetwork } from './cidr.js';
import { type StoredCredential, stateOf } from './credential-model.js';
import type { CredentialReads } from './credential-store.js';

/** Why a trusted certificate established no credential: for the log and the refusal. */
export type CertificateRefusal = 'no-dns-name' | 'no-credential' | 'withdrawn' | 'network-not-allowed';

export type CertificateCheck = { ok: true; credentials: StoredCredential[] } | { ok: false; reason: CertificateRefusal; detail: string };

/**
 * The inbound credentials a trusted client certificate stands for: those whose name the
 * certificate is valid for (RFC 6125 §6.4 through tls.checkServerIdentity: SAN DNS names,
 * a wildcard only as the whole left-most label), that still work, and whose allowed
 * networks hold the client. Several may match: the credentials of several domains named
 * for one host, or a rotation that kept the name. Usable ones come first: active before
 * retiring, newest first, so that after a rotation the new credential is the one used.
 */
export async function credentialsForCertificate(
  store: Pick<CredentialReads, 'certificateCredentials'>,
  peer: PeerCertificate,
  clientIp: string,
  nowMs: number,
): Promise<CertificateCheck> {
  // Without a SAN DNS name, Node would match the subject CN, which RFC 6125 §6.4.4 leaves to legacy clients only.
  if (!peer.subjectaltname?.split(', ').some((entry) => entry.startsWith('DNS:')))
    return { ok: false, reason: 'no-dns-name', detail: 'the certificate has no DNS name (subjectAltName)' };
  const rows = await store.certificateCredentials();
  const named = rows.filter((row) => checkServerIdentity(row.tlsClientName ?? '', peer) === undefined);
  const names = (list: StoredCredential[]) => [...new Set(list.map((row) => row.tlsClientName))].join(', ');
  if (named.length === 0)
    return { ok: false, reason: 'no-credential', detail: `no inbound credential names a host this certificate is valid for (${peer.subjectaltname})` };
  const live = named.filter((row) => ['active', 'retiring'].includes(stateOf(row, nowMs)));
  if (live.length === 0) return { ok: false, reason: 'withdrawn', detail: `the credentials for ${names(named)} are revoked, expired or retired` };
  const reachable = live.filter((row) => allowsClient(row, clientIp));
  if (reachable.length === 0)
    return { ok: false, reason: 'network-not-allowed', detail: `client ${clientIp} is not in the allowed networks of the credentials for ${names(live)}` };
  const rank = (row: StoredCredential) => (stateOf(row, nowMs) === 'active' ? 0 : 1);
  reachable.sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
  return { ok: true, credentials: reachable };
}

function allowsClient(row: StoredCredential, clientIp: string): boolean {
  const networks = row.allowedNetworks;
  if (!networks) return true;
  return networks.some((text) => {
    const parsed = parseNetwork(text);
    return 'network' in parsed && networkContains(parsed.network, clientIp);
  });
}
