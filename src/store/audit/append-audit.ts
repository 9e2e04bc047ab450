import { type Kysely, sql } from 'kysely';
import type { AuditEntry } from '../../audit/audit-store.js';
import type { Actor } from '../../directory/context.js';
import { canonicalJson } from '../../lib/canonical-json.js';
import { GENESIS_HASH } from '../../model/audit-chain.js';
import { engineOf } from '../engine.js';
import type { Database } from '../tables.js';
import { auditChainOf } from './audit-chain.js';

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

/**
 * Tells the audit chain that records appended in a transaction its caller rolled back on
 * purpose (a directory pull's dry run) will never commit, so nothing waits for them.
 */
export function forgetRolledBack(db: Kysely<Database>, heads: { seq: number; hash: string }[]): void {
  auditChainOf(db).rolledBack(heads);
}
