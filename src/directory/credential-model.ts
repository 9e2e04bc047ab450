export type CredentialKind = 'submission' | 'inbound';

/**
 * Where a credential stands at a given moment. `retiring`: rotated out, still accepted
 * until its retire-at time; `retired` and `expired` are refused at AUTH like `revoked`.
 */
export type CredentialState = 'active' | 'retiring' | 'retired' | 'expired' | 'revoked';

export interface Credential {
  id: string;
  kind: CredentialKind;
  description: string;
  username: string;
  organisationId: string;
  /** Inbound credentials belong to one domain; null for submission credentials. */
  domainId: string | null;
  domain: string | null;
  /** Addresses and `@domain` entries a submission credential may send as; null: any in its verified domains. */
  allowedSenders: string[] | null;
  /**
   * Inbound only: the DNS name a TLS client certificate must be valid for, on the relay port;
   * such a credential has no secret and is never used with AUTH. Null: a SASL credential.
   */
  tlsClientName: string | null;
  /** CIDRs AUTH (or the certificate) is accepted from; null: anywhere. */
  allowedNetworks: string[] | null;
  expiresAt: number | null;
  maxMessagesPerHour: number | null;
  retireAt: number | null;
  retirementSetAt: number | null;
  /** The last use when it came after the credential was rotated out: a client still on it. */
  usedSinceRotationAt: number | null;
  state: CredentialState;
  createdAt: number;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  revokedAt: number | null;
}

/** A credential as stored: what Credential shows but its state, and the keyed hash of its secret. */
export interface StoredCredential extends Omit<Credential, 'state' | 'usedSinceRotationAt'> {
  /** Empty for a certificate credential: no secret's HMAC equals it. */
  secretHash: string;
}

export interface Usage {
  at: number;
  ip: string;
}

export function stateOf(credential: Pick<StoredCredential, 'revokedAt' | 'expiresAt' | 'retireAt'>, nowMs: number): CredentialState {
  if (credential.revokedAt !== null) return 'revoked';
  if (credential.expiresAt !== null && credential.expiresAt <= nowMs) return 'expired';
  if (credential.retireAt !== null) return credential.retireAt <= nowMs ? 'retired' : 'retiring';
  return 'active';
}

/** stateOf for the callers that still read credentials' columns themselves (sender-authorization.ts, inbound-recipients.ts). */
export function credentialState(row: { revoked_at: number | null; expires_at: number | null; retire_at: number | null }, nowMs: number): CredentialState {
  return stateOf({ revokedAt: nullableNumber(row.revoked_at), expiresAt: nullableNumber(row.expires_at), retireAt: nullableNumber(row.retire_at) }, nowMs);
}

/** `usage` is a use recorded in memory and not yet written (see flushUsage). */
export function toCredential(stored: StoredCredential, nowMs: number, usage?: Usage): Credential {
  const lastUsedAt = usage?.at ?? stored.lastUsedAt;
  const { retirementSetAt } = stored;
  return {
    id: stored.id,
    kind: stored.kind,
    description: stored.description,
    username: stored.username,
    organisationId: stored.organisationId,
    domainId: stored.domainId,
    domain: stored.domain,
    allowedSenders: stored.allowedSenders,
    tlsClientName: stored.tlsClientName,
    allowedNetworks: stored.allowedNetworks,
    expiresAt: stored.expiresAt,
    maxMessagesPerHour: stored.maxMessagesPerHour,
    retireAt: stored.retireAt,
    retirementSetAt,
    usedSinceRotationAt: retirementSetAt !== null && lastUsedAt !== null && lastUsedAt > retirementSetAt ? lastUsedAt : null,
    state: stateOf(stored, nowMs),
    createdAt: stored.createdAt,
    lastUsedAt,
    lastUsedIp: usage?.ip ?? stored.lastUsedIp,
    revokedAt: stored.revokedAt,
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
