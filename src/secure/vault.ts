import type { Readable } from 'node:stream';
import type { Spool } from '../queue/spool.js';
import type { KeyEncryption } from './key-encryption.js';
import { type BodySeal, bodyDecryptor, openWithDataKey, sealWithDataKey } from './message-cipher.js';
import { DATA_KEY_PURPOSE, PORTAL_TOKEN_PURPOSE } from './seal-purposes.js';
import type { SealedBodyStore } from './sealed-body-store.js';
import type { SecureMessageRecord, SecureMessageStore } from './secure-message-store.js';
import { shredAnswers } from './secure-replies.js';

export { DATA_KEY_PURPOSE, PORTAL_TOKEN_PURPOSE };
/** The purpose of the metadata sealed under the message's own data key. */
export const META_PURPOSE = 'meta';

/** What notifications and the portal show without opening the body. */
export interface SecureMeta {
  subject: string;
  fromName: string;
  fromAddress: string;
  /** The original Message-ID, for replies to thread on; null when the application set none. */
  messageId: string | null;
}

/** The message can no longer be opened: its data key is gone (retention, deletion) or it was revoked. */
export class SecureMessageGone extends Error {
  readonly why: 'shredded' | 'revoked' | 'unknown';
  constructor(id: string, why: SecureMessageGone['why']) {
    super(`secure message ${id} is ${why === 'unknown' ? 'not known' : why}`);
    this.name = 'SecureMessageGone';
    this.why = why;
  }
}

export interface UnlockedMessage {
  row: SecureMessageRecord;
  meta: SecureMeta;
  /** The decrypted body; errors at its end when the ciphertext does not authenticate. */
  openBody(): Readable;
  /** The whole decrypted body, authenticated before it is returned. */
  readBody(): Promise<Buffer>;
  /** Seals a value about the message (a portal reply) under its data key: shredding the message makes it unreadable too. */
  sealText(purpose: string, plaintext: string): string;
  openText(purpose: string, sealed: string): string;
}

export interface SecureVault {
  /** Opens the message for a delivery or a portal view; throws SecureMessageGone. `allowRevoked` is for the sender's own NDRs. */
  unlock(id: string, options?: { allowRevoked?: boolean }): Promise<UnlockedMessage>;
  /** The decrypted header section, for a non-delivery report to the sender (a revoked message included). */
  readHead(id: string, maxBytes: number): Promise<Buffer>;
  /**
   * Crypto-shredding: the data key is deleted, then the ciphertext. Once the key is gone no
   * copy of the body (backup, disk block) can be opened again. The replies, receipts and
   * reports stored about the message go with it (src/secure/secure-replies.ts).
   */
  shred(id: string, now: number): Promise<void>;
}

export function secureVault(o: { messages: SecureMessageStore; bodies: SealedBodyStore; kek: KeyEncryption; spool: Spool }): SecureVault {
  return {
    async unlock(id, options = {}) {
      const row = await o.messages.find(id);
      if (!row) throw new SecureMessageGone(id, 'unknown');
      if (row.dataKeySealed === null) throw new SecureMessageGone(id, 'shredded');
      if (row.revokedAt !== null && !options.allowRevoked) throw new SecureMessageGone(id, 'revoked');
      const key = o.kek.open(row.dataKeySealed, { purpose: DATA_KEY_PURPOSE, id });
      const meta = JSON.parse(openWithDataKey(key, id, META_PURPOSE, row.metaSealed)) as SecureMeta;
      const seal: BodySeal = { iv: row.bodyIv, tag: row.bodyTag };
      const openBody = () => o.spool.read(id).pipe(bodyDecryptor(key, id, seal));
      return {
        row,
        meta,
        openBody,
        readBody: async () => Buffer.concat(await openBody().toArray()),
        sealText: (purpose, plaintext) => sealWithDataKey(key, id, purpose, plaintext),
        openText: (purpose, sealed) => openWithDataKey(key, id, purpose, sealed),
      };
    },

    async readHead(id, maxBytes) {
      const body = await (await this.unlock(id, { allowRevoked: true })).readBody();
      const end = body.indexOf('\r\n\r\n');
      return body.subarray(0, Math.min(maxBytes, end === -1 ? body.length : end + 2));
    },

    async shred(id, now) {
      await o.messages.shredKeys(id, now);
      await o.spool.remove(id);
      // Sealed under the data key just deleted, so already unreadable: the rows go too.
      await o.messages.removePortalReplies(id);
      await shredAnswers(o, id, now);
    },
  };
}
