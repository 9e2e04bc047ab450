import type { CredentialsTable } from '../store/tables.js';

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

export type CredentialRow = Omit<CredentialsTable, 'organisation_id'> & { organisation_id: string; domain_name: string | null };

export interface Usage {
  at: number;
  ip: string;
}

export function credentialState(row: Pick<CredentialRow, 'revoked_at' | 'expires_at' | 'retire_at'>, nowMs: number): CredentialState {
  if (row.revoked_at !== null) return 'revoked';
  if (row.expires_at !== null && Number(row.expires_at) <= nowMs) return 'expired';
  if (row.retire_at !== null) return Number(row.retire_at) <= nowMs ? 'retired' : 'retiring';
  return 'active';
}

/** `usage` is a use recorded in memory and not yet written (see flushUsage). */
export function toCredential(row: CredentialRow, nowMs: number, usage?: Usage): Credential {
  const lastUsedAt = usage?.at ?? nullableNumber(row.last_used_at);
  const retirementSetAt = nullableNumber(row.retirement_set_at);
  return {
    id: row.id,
    kind: row.kind,
    description: row.description,
    username: row.username,
    organisationId: row.organisation_id,
    domainId: row.domain_id,
    domain: row.domain_name,
    allowedSenders: parseList(row.allowed_senders),
    tlsClientName: row.tls_client_name ?? null,
    allowedNetworks: parseList(row.allowed_networks),
    expiresAt: nullableNumber(row.expires_at),
    maxMessagesPerHour: nullableNumber(row.max_messages_per_hour),
    retireAt: nullableNumber(row.retire_at),
    retirementSetAt,
    usedSinceRotationAt: retirementSetAt !== null && lastUsedAt !== null && lastUsedAt > retirementSetAt ? lastUsedAt : null,
    state: credentialState(row, nowMs),
    createdAt: Number(row.created_at),
    lastUsedAt,
    lastUsedIp: usage?.ip ?? row.last_used_ip,
    revokedAt: nullableNumber(row.revoked_at),
  };
}

export function parseList(json: string | null): string[] | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.map(String) : null;
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
