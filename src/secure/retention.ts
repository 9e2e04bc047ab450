import { appendAudit } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';
import type { Db } from '../store/tables.js';
import type { SecureVault } from './vault.js';

/** The audit log's name for what the retention sweep does. */
export const RETENTION_ACTOR: Actor = { name: 'system:secure-retention', ip: null };

export interface RetentionSweep {
  db: Db;
  vault: Pick<SecureVault, 'shred'>;
  now: number;
  /** Messages shredded per query; the sweep goes on until none is due or `maxBatches` ran. */
  batchSize?: number;
  /** Bounds one run, so a backlog (a lowered retention period) is worked off over several maintenance ticks. */
  maxBatches?: number;
}

/**
 * Shreds the secure messages whose retention period is over, and deletes expired portal
 * sessions. Each shredding is audited: "when was this message destroyed, and why" is
 * a question the sender's organisation must be able to answer.
 */
export async function sweepSecureRetention(o: RetentionSweep): Promise<{ shredded: number; sessionsEnded: number }> {
  const batchSize = o.batchSize ?? 100;
  const maxBatches = o.maxBatches ?? 10;
  let shredded = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const due = await o.db
      .selectFrom('secure_messages')
      .select(['id', 'retain_until'])
      .where('shredded_at', 'is', null)
      .where('retain_until', '<=', o.now)
      .orderBy('retain_until')
      .limit(batchSize)
      .execute();
    for (const { id, retain_until } of due) {
      await o.vault.shred(id, o.now);
      const detail = { reason: 'retention', retainUntil: new Date(Number(retain_until)).toISOString() };
      await o.db
        .transaction()
        .execute((trx) => appendAudit(trx, RETENTION_ACTOR, { action: 'secure.message.shred', targetType: 'secure-message', targetId: id, detail }, o.now));
    }
    shredded += due.length;
    if (due.length < batchSize) break;
  }
  const ended = await o.db.deleteFrom('portal_sessions').where('expires_at', '<=', o.now).executeTakeFirst();
  return { shredded, sessionsEnded: Number(ended.numDeletedRows) };
}
