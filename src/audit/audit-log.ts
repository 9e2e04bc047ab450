import { type Kysely, sql } from 'kysely';
import type { Actor, DirectoryContext, Page, PageRequest } from '../directory/context.js';
import { engineOf } from '../store/engine.js';
import type { Database } from '../store/tables.js';
import { auditChainOf, type ChainedContent } from './audit-chain.js';
import { GENESIS_HASH, type VerifyResult, verifyChain } from './verify-chain.js';

export { appendAudit } from '../store/audit/append-audit.js';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends ChainedContent {
  prevHash: string;
  hash: string;
}

export interface AuditQuery extends PageRequest {
  action?: string | undefined;
  actor?: string | undefined;
  targetId?: string | undefined;
}

export function auditLog(ctx: Pick<DirectoryContext, 'db'>) {
  const { db } = ctx;
  return {
    async list(query: AuditQuery): Promise<Page<AuditRecord>> {
      let q = db.selectFrom('audit_log');
      if (query.action) q = q.where('action', '=', query.action);
      if (query.actor) q = q.where('actor', '=', query.actor);
      if (query.targetId) q = q.where('target_id', '=', query.targetId);
      const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const rows = await q.selectAll().orderBy('seq', 'desc').limit(query.limit).offset(query.offset).execute();
      return { items: rows.map(toRecord), total: Number(total?.n ?? 0), limit: query.limit, offset: query.offset };
    },

    /**
     * Recomputes the chain with the audit key from the first record, then checks that it
     * reaches the anchored head of this data directory and every head in `headFiles` (those
     * of other instances); names the first record that does not fit.
     */
    async verify(options: { headFiles?: readonly string[] } = {}): Promise<VerifyResult> {
      const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
      return verifyChain(auditChainOf(db), rows.map(toRecord), options.headFiles ?? []);
    },

    /** Every record, oldest first, one JSON object per line (JSON Lines). */
    async *exportLines(): AsyncGenerator<string> {
      let after = 0;
      for (;;) {
        const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(500).execute();
        if (rows.length === 0) return;
        for (const row of rows) yield `${JSON.stringify(toRecord(row))}\n`;
        after = rows[rows.length - 1]?.seq ?? after;
      }
    },
  };
}

function toRecord(row: Database['audit_log']): AuditRecord {
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
