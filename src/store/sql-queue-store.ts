import type { Transaction } from 'kysely';
import type { QueueStore } from '../queue/queue-store.js';
import { commitLedger } from './commit-ledger.js';
import { abandonMessages, deleteMessageRows } from './delete-messages.js';
import { type StoreDurability, StoreNotDurable } from './durability.js';
import { engineOf } from './engine.js';
import { activeIds } from './queue/active-ids.js';
import { dueMessages, leaseRechecking, leaseSkippingLocked } from './queue/claim-due.js';
import { insertMessage } from './queue/insert-message.js';
import { listMessages, showMessage } from './queue/message-views.js';
import { nextDueAt } from './queue/next-due.js';
import { announcer } from './queue/recipient-states.js';
import { recordOutcomes } from './queue/record-outcomes.js';
import { retryMessage } from './queue/retry-message.js';
import type { Database, Db } from './tables.js';

export { QUEUE_CHANNEL } from './queue/recipient-states.js';

/**
 * QueueStore over Kysely; the SQL is the portable subset of SQLite and PostgreSQL, one
 * statement a file in src/store/queue/. `syncCommitted` is the engine's durability barrier,
 * awaited where the contract promises durability (commit); losing a later state change to a
 * power cut only repeats work. `durability` (the gateway's) refuses commits while the store is
 * not durable and keeps the compensation of a commit whose sync failed until the store is
 * proven again.
 */
export function sqlQueueStore(db: Db, syncCommitted: () => Promise<void>, durability?: Pick<StoreDurability, 'failure' | 'repairBeforeProof'>): QueueStore {
  const shared = engineOf(db) === 'postgres';
  const ledger = commitLedger();
  const announce = announcer(shared);
  const lease = shared ? leaseSkippingLocked : leaseRechecking;
  return {
    async commit(messages) {
      const failure = durability?.failure();
      if (failure) throw new StoreNotDurable(failure);
      const ids = messages.map((m) => m.id);
      const outcome = ledger.begin(ids);
      try {
        await db.transaction().execute(async (trx) => {
          for (const message of messages) await insertMessage(trx, message);
          await announce(trx);
        });
      } catch (err) {
        outcome.failed();
        throw err;
      }
      try {
        await syncCommitted();
      } catch (err) {
        // The client is answered 451 and sends them again: this copy is undone, and never delivered even if that fails.
        outcome.abandoned();
        const undo = () => abandonMessages(db, ids).then(outcome.undone);
        // Retried before every proof of the store until it succeeds (durability.ts): the error that matters is the sync's.
        await (durability ? durability.repairBeforeProof(undo) : undo()).catch(() => undefined);
        throw err;
      }
      outcome.confirmed();
    },

    async claimDue(owner, now, maxMessages, leaseMs) {
      const leased = await lease(db, { owner, now, maxMessages, until: now + leaseMs, excluded: ledger.excludedIds() });
      if (leased.length === 0) return [];
      const ids = await ledger.deliverable([...new Set(leased.map((r) => r.message_id))]);
      if (ids.length === 0) return [];
      return dueMessages(db, ids, leased);
    },

    recordOutcomes: (attempts, now) => recordOutcomes(db, announce, attempts, now),

    async releaseLeases(owner) {
      await db.transaction().execute(async (trx: Transaction<Database>) => {
        const query = trx.updateTable('recipients').set({ lease_owner: null, lease_until: null }).where('lease_owner', 'is not', null);
        if (owner === 'all') await query.execute();
        else if (typeof owner === 'string') await query.where('lease_owner', '=', owner).execute();
        else await query.where('lease_owner', 'like', `${owner.instance}:%`).execute();
        // What this worker gave back is due now for the others.
        await announce(trx);
      });
    },

    async renewLeases(owner, messageIds, until) {
      if (messageIds.length === 0) return;
      await db.updateTable('recipients').set({ lease_until: until }).where('lease_owner', '=', owner).where('message_id', 'in', messageIds).execute();
    },

    nextDueAt: () => nextDueAt(db, ledger.excludedIds()),
    list: (query) => listMessages(db, query),
    show: (id) => showMessage(db, id),
    retry: (id, now, expiresAt) => retryMessage(db, announce, id, now, expiresAt),

    async remove(id) {
      return db.transaction().execute(async (trx) => (await deleteMessageRows(trx, [id])) > 0);
    },

    activeIds: (ids) => activeIds(db, ids),

    async retainedBodiesBefore(before, limit) {
      const rows = await db
        .selectFrom('messages')
        .select('id')
        .where('direction', '=', 'inbound')
        .where('completed_at', '<', before)
        .where('body_purged_at', 'is', null)
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },

    async markBodiesPurged(ids, now) {
      if (ids.length > 0) await db.updateTable('messages').set({ body_purged_at: now }).where('id', 'in', ids).execute();
    },

    async inboundRecord(id) {
      const row = await db.selectFrom('inbound_messages').selectAll().where('message_id', '=', id).executeTakeFirst();
      return row && { relay: row.relay, authenticationResults: row.authentication_results, authentication: row.authentication, contentHash: row.content_hash };
    },
  };
}
