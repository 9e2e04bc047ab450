import type { SealedBodyStore } from '../../secure/sealed-body-store.js';
import type { Db } from '../tables.js';

/** The keys of bodies sealed at rest (sealed_bodies). */
export function sqlSealedBodyStore(db: Db): SealedBodyStore {
  return {
    async find(messageId) {
      const row = await db.selectFrom('sealed_bodies').selectAll().where('message_id', '=', messageId).executeTakeFirst();
      return (
        row && {
          messageId: row.message_id,
          secureMessageId: row.secure_message_id,
          dataKeySealed: row.data_key_sealed,
          bodyIv: row.body_iv,
          bodyTag: row.body_tag,
          createdAt: Number(row.created_at),
        }
      );
    },
    async has(messageId) {
      const row = await db.selectFrom('sealed_bodies').select('message_id').where('message_id', '=', messageId).executeTakeFirst();
      return row !== undefined;
    },
    async answers(messageId) {
      const row = await db.selectFrom('sealed_bodies').select('secure_message_id').where('message_id', '=', messageId).executeTakeFirst();
      return row?.secure_message_id;
    },
    async insert(r) {
      await db
        .insertInto('sealed_bodies')
        .values({
          message_id: r.messageId,
          secure_message_id: r.secureMessageId,
          data_key_sealed: r.dataKeySealed,
          body_iv: r.bodyIv,
          body_tag: r.bodyTag,
          created_at: r.createdAt,
        })
        .execute();
    },
    async remove(messageIds) {
      if (messageIds.length > 0) await db.deleteFrom('sealed_bodies').where('message_id', 'in', messageIds).execute();
    },
    async answersOf(secureMessageId) {
      const rows = await db.selectFrom('sealed_bodies').select('message_id').where('secure_message_id', '=', secureMessageId).execute();
      return rows.map((r) => r.message_id);
    },
    async removeAnswersOf(secureMessageId) {
      await db.deleteFrom('sealed_bodies').where('secure_message_id', '=', secureMessageId).execute();
    },
    async markPurged(messageIds, at) {
      if (messageIds.length > 0)
        await db.updateTable('messages').set({ body_purged_at: at }).where('id', 'in', messageIds).where('body_purged_at', 'is', null).execute();
    },
  };
}
