import type { Actor } from '../directory/context.js';
import type { SecureMessageStore } from './secure-message-store.js';
import type { SecureVault } from './vault.js';

/** The audit log's name for what the retention sweep does. */
export const RETENTION_ACTOR: Actor = { name: 'system:secure-retention', ip: null };

export interface RetentionSweep {
  messages: Pick<SecureMessageStore, 'dueForShredding' | 'change' | 'endExpiredSessions'>;
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
    const due = await o.messages.dueForShredding(o.now, batchSize);
    for (const { id, retainUntil } of due) {
      await o.vault.shred(id, o.now);
      const detail = { reason: 'retention', retainUntil: new Date(retainUntil).toISOString() };
      await o.messages.change((tx) => tx.audit(RETENTION_ACTOR, { action: 'secure.message.shred', targetType: 'secure-message', targetId: id, detail }, o.now));
    }
    shredded += due.length;
    if (due.length < batchSize) break;
  }
  return { shredded, sessionsEnded: await o.messages.endExpiredSessions(o.now) };
}
