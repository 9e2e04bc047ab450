import { networkContains, parseNetwork } from './cidr.js';
import { type StoredCredential, stateOf } from './credential-model.js';
import { secretMatches } from './secret-hash.js';

/** Why an AUTH was refused: for the log only, the client always hears 535 5.7.8 (RFC 4954 §6). */
export type LoginRefusal = 'unknown-username' | 'wrong-secret' | 'certificate-only' | 'revoked' | 'expired' | 'retired' | 'network-not-allowed';

export type LoginCheck = { ok: true; credential: StoredCredential } | { ok: false; reason: LoginRefusal; detail: string };

// Compared against when the username is unknown, so that an unknown username costs the
// same HMAC and comparison as a known one.
const NO_HASH = 'A'.repeat(43);

/**
 * Decides an AUTH attempt. The secret is checked first: the state and network of a
 * credential are only worth logging for someone who holds its secret.
 */
export function checkLogin(row: StoredCredential | undefined, secret: string, clientIp: string, nowMs: number, hashKey: Buffer): LoginCheck {
  const secretOk = secretMatches(hashKey, secret, row?.secretHash ?? NO_HASH);
  if (!row) return { ok: false, reason: 'unknown-username', detail: 'no credential has this username' };
  if (row.tlsClientName !== null)
    return { ok: false, reason: 'certificate-only', detail: `the credential authenticates by a client certificate for ${row.tlsClientName}, never by AUTH` };
  if (!secretOk) return { ok: false, reason: 'wrong-secret', detail: 'the secret does not match' };
  const state = stateOf(row, nowMs);
  if (state === 'revoked') return { ok: false, reason: 'revoked', detail: `revoked at ${iso(row.revokedAt)}` };
  if (state === 'expired') return { ok: false, reason: 'expired', detail: `expired at ${iso(row.expiresAt)}` };
  if (state === 'retired') return { ok: false, reason: 'retired', detail: `retired at ${iso(row.retireAt)}` };
  const networks = row.allowedNetworks;
  if (networks && !networks.some((text) => inNetwork(text, clientIp)))
    return { ok: false, reason: 'network-not-allowed', detail: `client ${clientIp} is not in the allowed networks ${networks.join(', ')}` };
  return { ok: true, credential: row };
}

/**
 * Whether `username` names a credential with allowed networks and `clientIp` is outside
 * them: where such a client's failed AUTHs are counted, apart from those of clients that
 * could use the credential, so that guessing from elsewhere does not lock them out. False
 * for an unknown username, whose failures are all counted together.
 */
export function outsideAllowedNetworks(networks: string[] | null | undefined, clientIp: string): boolean {
  return networks !== null && networks !== undefined && !networks.some((text) => inNetwork(text, clientIp));
}

function inNetwork(text: string, clientIp: string): boolean {
  const parsed = parseNetwork(text);
  return 'network' in parsed && networkContains(parsed.network, clientIp);
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}
