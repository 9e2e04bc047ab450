import { type Kysely, sql } from 'kysely';
import type { Actor, DirectoryContext, Page, PageRequest } from '../directory/context.js';
import { engineOf } from '../store/engine.js';
import type { Database } from '../store/tables.js';
import { auditChainOf, type ChainedContent } from './audit-chain.js';
import { canonicalJson } from './canonical-json.js';
import { GENESIS_HASH, type VerifyResult, verifyChain } from './verify-chain.js';

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

/**
 * Appends to the audit log inside the caller's transaction, so a change and its record
 * commit together. Each record's hash is an HMAC, under a key kept outside the database, of
 * the previous record's hash and its own content: altering, removing or reordering any
 * record breaks the chain, and without the key it cannot be rebuilt. The newest record is
 * anchored outside the database once committed (see AuditChain), so cutting off the end
 * shows too.
 */
export async function appendAudit(trx: Kysely<Database>, actor: Actor, entry: AuditEntry, at: number): Promise<void> {
  // On PostgreSQL transactions of several instances append at once: one chain needs one order,
  // so they queue on a transaction-scoped advisory lock (released at commit) instead of two
  // taking the same number and one failing.
  if (engineOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(hashtext('relaygate.audit_log'))`.execute(trx);
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
  const chain = auditChainOf(trx);
  const hash = chain.mac(prevHash, record);
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
      hash,
    })
    .execute();
  chain.appended({ seq: record.seq, hash });
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
