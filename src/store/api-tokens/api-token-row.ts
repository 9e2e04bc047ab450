import type { StoredApiToken } from '../../directory/api-token-store.js';
import type { ApiTokensTable } from '../tables.js';

export function toStored(row: ApiTokensTable): StoredApiToken {
  return {
    id: row.id,
    description: row.description,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    scope: row.scope,
    tokenHash: row.token_hash,
  };
}
