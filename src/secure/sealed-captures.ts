import type { Db } from '../store/tables.js';
import type { KeyEncryption } from './key-encryption.js';
import { decryptChunks, encryptBody, newDataKey } from './message-cipher.js';
import { SEALED_BODY_KEY_PURPOSE, SEALED_BODY_MAGIC, SealedBodyGone } from './sealing-spool.js';

/**
 * Copies the gateway keeps of a sealed body elsewhere (the sandbox's captures): sealed like
 * the body, under a data key of their own linked to the same secure message, so the copy
 * is shredded with it too. A copy of a plain body stays plain.
 */
export interface SealedCopies {
  /** The bytes to store for `id`, a copy of the queue message `of`: sealed if that body is; undefined if it is not. */
  sealLike(of: string, id: string, plaintext: Buffer): Promise<Buffer | undefined>;
  /** What was stored, opened again; throws SealedBodyGone once its key was shredded. */
  open(id: string, stored: Buffer): Promise<Buffer>;
  /** Deletes the keys of copies that are removed. */
  forget(ids: string[]): Promise<void>;
}

export function sealedCopies(o: { db: Db; kek: () => KeyEncryption; now: () => number }): SealedCopies {
  return {
    async sealLike(of, id, plaintext) {
      const original = await o.db.selectFrom('sealed_bodies').select('secure_message_id').where('message_id', '=', of).executeTakeFirst();
      if (!original) return undefined;
      const key = newDataKey();
      try {
        const { ciphertext, seal } = encryptBody(key, id, plaintext);
        await o.db
          .insertInto('sealed_bodies')
          .values({
            message_id: id,
            secure_message_id: original.secure_message_id,
            data_key_sealed: o.kek().seal(key, { purpose: SEALED_BODY_KEY_PURPOSE, id }),
            body_iv: seal.iv,
            body_tag: seal.tag,
            created_at: o.now(),
          })
          .execute();
        return Buffer.concat([SEALED_BODY_MAGIC, ciphertext]);
      } finally {
        key.fill(0);
      }
    },

    async open(id, stored) {
      if (!stored.subarray(0, SEALED_BODY_MAGIC.length).equals(SEALED_BODY_MAGIC)) return stored;
      const row = await o.db.selectFrom('sealed_bodies').selectAll().where('message_id', '=', id).executeTakeFirst();
      if (!row) throw new SealedBodyGone(id);
      const key = o.kek().open(row.data_key_sealed, { purpose: SEALED_BODY_KEY_PURPOSE, id });
      try {
        const seal = { iv: row.body_iv, tag: row.body_tag };
        const parts: Buffer[] = [];
        for await (const part of decryptChunks(key, id, seal, [stored.subarray(SEALED_BODY_MAGIC.length)])) parts.push(part);
        return Buffer.concat(parts);
      } finally {
        key.fill(0);
      }
    },

    async forget(ids) {
      if (ids.length > 0) await o.db.deleteFrom('sealed_bodies').where('message_id', 'in', ids).execute();
    },
  };
}
