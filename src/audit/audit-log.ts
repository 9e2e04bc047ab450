import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, DirectoryContext, Page, PageRequest } from '../directory/context.js';
import type { Database } from '../store/tables.js';
import { canonicalJson } from './canonical-json.js';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  at: number;
  actor: string;
  actorIp: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Appends to the audit log inside the caller's transaction, so a change and its record
 * commit together. Each record's hash covers the previous record's hash: altering,
 * removing or reordering any record breaks every hash after it (see verifyAudit).
 */
export async function appendAudit(trx: Kysely<Database>, actor: Actor, entry: AuditEntry, at: number): Promise<void> {
  const last = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const record = {
    seq: (last?.seq ?? 0) + 1,
    at,
    actor: actor.name,
    actorIp: actor.ip,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    detail: entry.detail ?? {},
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  await trx
    .insertInto('audit_log')
    .values({
      seq: record.seq,
      at,
      actor: record.actor,
      actor_ip: record.actorIp,
      action: record.action,
      target_type: record.targetType,
      target_id: record.targetId,
      detail: canonicalJson(record.detail),
      prev_hash: prevHash,
      hash: chainHash(prevHash, record),
    })
    .execute();
}

export function chainHash(prevHash: string, record: Omit<AuditRecord, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson(record)}`)
    .digest('hex');
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

    /** Recomputes the chain from the first record; names the first record that does not fit. */
    async verify(): Promise<{ ok: boolean; checked: number; problem?: { seq: number; reason: string } }> {
      let prevHash = GENESIS_HASH;
      let expectedSeq = 1;
      let checked = 0;
      for (const row of await db.selectFrom('audit_log').selectAll().orderBy('seq').execute()) {
        const record = toRecord(row);
        if (record.seq !== expectedSeq)
          return { ok: false, checked, problem: { seq: expectedSeq, reason: `record ${expectedSeq} is missing (next is ${record.seq})` } };
        if (record.prevHash !== prevHash) return { ok: false, checked, problem: { seq: record.seq, reason: 'its link to the previous record is broken' } };
        const { prevHash: _p, hash: _h, ...content } = record;
        if (chainHash(prevHash, content) !== record.hash)
          return { ok: false, checked, problem: { seq: record.seq, reason: 'its content does not match its hash (altered)' } };
        prevHash = record.hash;
        expectedSeq += 1;
        checked += 1;
      }
      return { ok: true, checked };
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
