import type { AuditRecord } from '../../audit/audit-store.js';
import type { Database } from '../tables.js';

export function toAuditRecord(row: Database['audit_log']): AuditRecord {
  return {
    seq: Number(row.seq),
    at: Number(row.at),
    actor: row.actor,
    actorIp: row.actor_ip,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
