import type { Transaction } from 'kysely';
import type { Database, Db } from './tables.js';
import { transact } from './transact.js';

/** Every row of these messages: queue rows, events, inbound and secure records, portal sessions, sealed body keys. Returns how many messages were deleted. */
export async function deleteMessageRows(trx: Transaction<Database>, ids: string[]): Promise<number> {
  await trx.deleteFrom('recipients').where('message_id', 'in', ids).execute();
  await trx.deleteFrom('events').where('message_id', 'in', ids).execute();
  await trx.deleteFrom('inbound_messages').where('message_id', 'in', ids).execute();
  await trx
    .deleteFrom('portal_sessions')
    .where('recipient_id', 'in', trx.selectFrom('secure_recipients').select('id').where('message_id', 'in', ids))
    .execute();
  await trx.deleteFrom('secure_recipients').where('message_id', 'in', ids).execute();
  await trx.deleteFrom('secure_messages').where('id', 'in', ids).execute();
  await trx.deleteFrom('sealed_bodies').where('message_id', 'in', ids).execute();
  const deleted = await trx.deleteFrom('messages').where('id', 'in', ids).executeTakeFirst();
  return Number(deleted.numDeletedRows);
}

/**
 * Undoes the commit of messages the client was refused (451 after the sync of their commit
 * failed): everything that commit wrote, the Message-ID references of a secure message too
 * (only its own: a reference another message already held was not inserted).
 *
 * Whether a restart could still find them depends on what reached the disk: WAL recovery
 * keeps the frames up to the first whose checksum fails, a prefix of the WAL. A prefix that
 * ends before the failed commit never had the messages; one that reaches this delete has
 * them deleted. Only a prefix that ends between the two brings them back: the failed
 * commit's frames reached the disk, but a later one (another commit's, before the failed
 * sync, or this delete, which is not synced on its own) did not. The proof that follows
 * (verified-checkpoint.ts) closes that gap: it copies the whole WAL, this delete included,
 * into the database file, syncs it and empties the WAL, so recovery has nothing left to
 * choose from. A power cut before the proof, or a WAL found damaged (recovered at the next
 * start, app/damaged-wal.ts), can still bring the rows back, but not their
 * bodies, removed by the group commit with a directory sync of their own: a message without
 * its body is never delivered (the worker parks it and reports it to its sender, body-check.ts).
 */
export async function abandonMessages(db: Db, ids: string[]): Promise<void> {
  await transact(db, async (trx) => {
    await trx.deleteFrom('secure_message_refs').where('secure_message_id', 'in', ids).execute();
    await deleteMessageRows(trx, ids);
  });
}
