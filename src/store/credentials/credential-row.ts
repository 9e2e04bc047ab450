import type { Insertable, SelectQueryBuilder } from 'kysely';
import type { StoredCredential } from '../../directory/credential-model.js';
import { parseList } from '../../lib/json-list.js';
import type { CredentialsTable, Database } from '../tables.js';

export type CredentialRow = Omit<CredentialsTable, 'organisation_id'> & { organisation_id: string; domain_name: string | null };

/** Every credential read carries its domain's name, for lists and `show`. */
export function withDomainName(query: SelectQueryBuilder<Database, 'credentials', object>) {
  return query.leftJoin('domains', 'domains.id', 'credentials.domain_id').selectAll('credentials').select('domains.name as domain_name');
}

export function toStored(row: CredentialRow): StoredCredential {
  return {
    id: row.id,
    kind: row.kind,
    description: row.description,
    username: row.username,
    secretHash: row.secret_hash,
    organisationId: row.organisation_id,
    domainId: row.domain_id,
    domain: row.domain_name,
    allowedSenders: parseList(row.allowed_senders),
    tlsClientName: row.tls_client_name ?? null,
    allowedNetworks: parseList(row.allowed_networks),
    expiresAt: nullableNumber(row.expires_at),
    maxMessagesPerHour: nullableNumber(row.max_messages_per_hour),
    retireAt: nullableNumber(row.retire_at),
    retirementSetAt: nullableNumber(row.retirement_set_at),
    createdAt: Number(row.created_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    revokedAt: nullableNumber(row.revoked_at),
  };
}

export function toRow(credential: StoredCredential): Insertable<CredentialsTable> {
  const list = (items: string[] | null) => (items ? JSON.stringify(items) : null);
  return {
    id: credential.id,
    kind: credential.kind,
    description: credential.description,
    username: credential.username,
    secret_hash: credential.secretHash,
    created_at: credential.createdAt,
    last_used_at: credential.lastUsedAt,
    last_used_ip: credential.lastUsedIp,
    revoked_at: credential.revokedAt,
    organisation_id: credential.organisationId,
    domain_id: credential.domainId,
    allowed_senders: list(credential.allowedSenders),
    allowed_networks: list(credential.allowedNetworks),
    tls_client_name: credential.tlsClientName,
    expires_at: credential.expiresAt,
    max_messages_per_hour: credential.maxMessagesPerHour,
    retire_at: credential.retireAt,
    retirement_set_at: credential.retirementSetAt,
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
