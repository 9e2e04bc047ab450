import type { KeyEncryption } from './key-encryption.js';
import { decryptChunks, encryptBody, newDataKey } from './message-cipher.js';
import type { SealedBodyStore } from './sealed-body-store.js';
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

export function sealedCopies(o: { bodies: SealedBodyStore; kek: () => KeyEncryption; now: () => number }): SealedCopies {
  return {
    async sealLike(of, id, plaintext) {
      const answers = await o.bodies.answers(of);
      if (answers === undefined) return undefined;
      const key = newDataKey();
      try {
        const { ciphertext, seal } = encryptBody(key, id, plaintext);
        await o.bodies.insert({
          messageId: id,
          secureMessageId: answers,
          dataKeySealed: o.kek().seal(key, { purpose: SEALED_BODY_KEY_PURPOSE, id }),
          bodyIv: seal.iv,
          bodyTag: seal.tag,
          createdAt: o.now(),
        });
        return Buffer.concat([SEALED_BODY_MAGIC, ciphertext]);
      } finally {
        key.fill(0);
      }
    },

    async open(id, stored) {
      if (!stored.subarray(0, SEALED_BODY_MAGIC.length).equals(SEALED_BODY_MAGIC)) return stored;
      const row = await o.bodies.find(id);
      if (!row) throw new SealedBodyGone(id);
      const key = o.kek().open(row.dataKeySealed, { purpose: SEALED_BODY_KEY_PURPOSE, id });
      try {
        const seal = { iv: row.bodyIv, tag: row.bodyTag };
        const parts: Buffer[] = [];
        for await (const part of decryptChunks(key, id, seal, [stored.subarray(SEALED_BODY_MAGIC.length)])) parts.push(part);
        return Buffer.concat(parts);
      } finally {
        key.fill(0);
      }
    },

    async forget(ids) {
      await o.bodies.remove(ids);
    },
  };
}
