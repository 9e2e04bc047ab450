import { type CipherGCM, createCipheriv, createDecipheriv, type DecipherGCM, randomBytes } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * Envelope encryption of one secure message: a fresh AES-256-GCM data key per message, so
 * destroying that key (it exists only sealed by the key-encryption key) shreds the message
 * wherever copies of its ciphertext remain. The message id is bound in as additional data:
 * a body moved to another message's row does not open.
 */
export const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/** What must be stored beside the ciphertext to open it again. */
export interface BodySeal {
  iv: string;
  tag: string;
}

/** Encrypts while the body streams to disk; `seal()` is known once the stream has ended. */
export class BodyEncryptor extends Transform {
  private readonly cipher: CipherGCM;
  private readonly iv = randomBytes(IV_BYTES);
  private tag: Buffer | undefined;

  constructor(key: Buffer, messageId: string) {
    super();
    this.cipher = createCipheriv('aes-256-gcm', key, this.iv, { authTagLength: TAG_BYTES });
    this.cipher.setAAD(bodyAad(messageId));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.cipher.update(chunk));
  }

  override _flush(callback: TransformCallback): void {
    const last = this.cipher.final();
    this.tag = this.cipher.getAuthTag();
    callback(null, last.length > 0 ? last : undefined);
  }

  seal(): BodySeal {
    if (!this.tag) throw new Error('the body seal is known only after the whole body was encrypted');
    return { iv: this.iv.toString('base64url'), tag: this.tag.toString('base64url') };
  }
}

/**
 * Decrypts a streamed body. GCM authenticates only at the end: the stream errors there when
 * the ciphertext was altered, so a consumer that needs the whole message authenticated first
 * (the portal) must read it to the end before using it; an SMTP transfer aborts before its
 * final dot, and the receiver discards what it got.
 */
export function bodyDecryptor(key: Buffer, messageId: string, seal: BodySeal): Transform {
  const decipher: DecipherGCM = createDecipheriv('aes-256-gcm', key, Buffer.from(seal.iv, 'base64url'), { authTagLength: TAG_BYTES });
  decipher.setAAD(bodyAad(messageId));
  decipher.setAuthTag(Buffer.from(seal.tag, 'base64url'));
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, decipher.update(chunk));
    },
    flush(callback) {
      try {
        const last = decipher.final();
        callback(null, last.length > 0 ? last : undefined);
      } catch {
        callback(new Error(`secure message ${messageId} does not authenticate: its stored ciphertext was altered or belongs to another message`));
      }
    },
  });
}

/** The same decryption for a body read as chunks, for a consumer that iterates: throws at the end when it does not authenticate. */
export async function* decryptChunks(key: Buffer, messageId: string, seal: BodySeal, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  const decryptor = bodyDecryptor(key, messageId, seal);
  const source = Readable.from(chunks, { objectMode: false });
  source.on('error', (err) => decryptor.destroy(err));
  yield* source.pipe(decryptor);
}

/** A whole body at once, for what is stored in one piece (a sandbox capture). */
export function encryptBody(key: Buffer, messageId: string, plaintext: Buffer): { ciphertext: Buffer; seal: BodySeal } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(bodyAad(messageId));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, seal: { iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') } };
}

/** Small values kept with the message (subject, author) under the same data key, shredded with it. */
export function sealWithDataKey(key: Buffer, messageId: string, purpose: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(fieldAad(messageId, purpose));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
}

export function openWithDataKey(key: Buffer, messageId: string, purpose: string, sealed: string): string {
  const [iv = '', tag = '', ciphertext = ''] = sealed.split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
  decipher.setAAD(fieldAad(messageId, purpose));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

const bodyAad = (messageId: string) => Buffer.from(JSON.stringify(['relaygate', 'secure-body', messageId]), 'utf8');
const fieldAad = (messageId: string, purpose: string) => Buffer.from(JSON.stringify(['relaygate', 'secure-field', purpose, messageId]), 'utf8');
