import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * What a sealed value belongs to. Both are bound into the ciphertext as additional
 * authenticated data, so a value copied into another row or another column does not open.
 */
export interface SealContext {
  /** The kind of secret, e.g. 'connection-secret'. */
  purpose: string;
  /** The id of the row that holds it. */
  id: string;
}

/** Seals secrets the gateway must use later (smarthost passwords, DKIM keys) with the key-encryption key. */
export interface KeyEncryption {
  /** `v1.<iv>.<tag>.<ciphertext>`, base64url: a fresh IV on every call. */
  seal(plaintext: string | Buffer, context: SealContext): string;
  /** Throws UnsealError when the value was altered, belongs elsewhere or was sealed under another key. */
  open(sealed: string, context: SealContext): Buffer;
}

export class UnsealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsealError';
  }
}

const VERSION = 'v1';
const KEY_BYTES = 32;
// NIST SP 800-38D §8.2.2: random 96-bit IVs are safe for up to 2^32 seals under one key,
// far more secrets than a gateway ever holds.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/;

/** AES-256-GCM under the key-encryption key, which never enters the database (DESIGN.md, security model). */
export function keyEncryption(key: Buffer): KeyEncryption {
  if (key.length !== KEY_BYTES) throw new Error(`the key-encryption key must be ${KEY_BYTES} bytes, not ${key.length}`);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(context));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
    },

    open(sealed, context) {
      const parts = SEALED.exec(sealed);
      if (!parts) throw new UnsealError(`not a sealed value of a known version (expected ${VERSION}.<iv>.<tag>.<ciphertext>)`);
      const [, iv = '', tag = '', ciphertext = ''] = parts;
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
      } catch {
        throw new UnsealError(
          `the ${context.purpose} of ${context.id} cannot be opened: it was altered, belongs to another record, or was sealed with another key-encryption key`,
        );
      }
    },
  };
}

/** The version is bound too: a future format can never be fed to this one's parser as a downgrade. */
function additionalData(context: SealContext): Buffer {
  return Buffer.from(JSON.stringify(['relaygate', VERSION, context.purpose, context.id]), 'utf8');
}
