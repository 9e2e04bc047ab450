import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

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
  /** `v2.<kid>.<iv>.<tag>.<ciphertext>`, base64url, under the current key: a fresh IV on every call. */
  seal(plaintext: string | Buffer, context: SealContext): string;
  /** Throws UnsealError when the value was altered, belongs elsewhere or was sealed under a key this ring lacks. */
  open(sealed: string, context: SealContext): Buffer;
  /** True unless the value is v2 under the current key: v1 values and values under previous keys are sealed again by a rewrap. */
  needsRewrap(sealed: string): boolean;
}

/** A current key-encryption key and the previous ones that still open what they sealed (see rewrap.ts). */
export interface KeyRing extends KeyEncryption {
  readonly currentKeyId: string;
  readonly previousKeyIds: readonly string[];
  /**
   * The id of the key a value is sealed under: read from a v2 value without decrypting; a
   * v1 value names no key, so each key of the ring is tried. Undefined when no key opens it.
   */
  sealedUnder(sealed: string, context: SealContext): string | undefined;
}

export class UnsealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsealError';
  }
}

const KEY_BYTES = 32;
// NIST SP 800-38D §8.2.2: random 96-bit IVs are safe for up to 2^32 seals under one key,
// far more secrets than a gateway ever holds.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const V1 = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/;
const V2 = /^v2\.([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/;
const KEY_ID_LABEL = 'relaygate key-encryption key id\0';

/** Eight bytes of a labelled SHA-256: names a 256-bit random key without revealing anything about it. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(KEY_ID_LABEL).update(key).digest().subarray(0, 8).toString('base64url');
}

/** AES-256-GCM under the key-encryption key, which never enters the database (DESIGN.md, security model). */
export function keyEncryption(key: Buffer): KeyRing {
  return keyRing(key, []);
}

/**
 * Seals under `current`; opens v2 values by their key id and v1 values (which carry none)
 * by trying the current key, then each previous one. Previous keys never seal.
 */
export function keyRing(current: Buffer, previous: readonly Buffer[]): KeyRing {
  const keys = new Map<string, Buffer>();
  for (const key of [current, ...previous]) {
    if (key.length !== KEY_BYTES) throw new Error(`the key-encryption key must be ${KEY_BYTES} bytes, not ${key.length}`);
    const id = keyIdOf(key);
    if (!keys.has(id)) keys.set(id, key);
  }
  const currentKeyId = keyIdOf(current);
  const opener = (sealed: string, context: SealContext) => parse(sealed, context, keys);

  return {
    currentKeyId,
    previousKeyIds: [...keys.keys()].filter((id) => id !== currentKeyId),

    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData('v2', currentKeyId, context));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return ['v2', currentKeyId, ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'))].join('.');
    },

    open(sealed, context) {
      for (const attempt of opener(sealed, context)) {
        const opened = attempt.open();
        if (opened) return opened;
      }
      throw new UnsealError(
        `the ${context.purpose} of ${context.id} cannot be opened: it was altered, belongs to another record, or was sealed with another key-encryption key`,
      );
    },

    needsRewrap(sealed) {
      return V2.exec(sealed)?.[1] !== currentKeyId;
    },

    sealedUnder(sealed, context) {
      const v2 = V2.exec(sealed);
      if (v2) return v2[1];
      return opener(sealed, context).find((attempt) => attempt.open() !== undefined)?.keyId;
    },
  };
}

interface Attempt {
  keyId: string;
  /** The plaintext, or undefined when GCM refuses (altered, another record, another key). */
  open(): Buffer | undefined;
}

/** The keys to try on a value, in order; throws for what is not a sealed value at all. */
function parse(sealed: string, context: SealContext, keys: ReadonlyMap<string, Buffer>): Attempt[] {
  const v2 = V2.exec(sealed);
  if (v2) {
    const [, keyId = '', iv = '', tag = '', ciphertext = ''] = v2;
    const key = keys.get(keyId);
    return key ? [{ keyId, open: () => decrypt(key, additionalData('v2', keyId, context), iv, tag, ciphertext) }] : [];
  }
  const v1 = V1.exec(sealed);
  if (v1) {
    const [, iv = '', tag = '', ciphertext = ''] = v1;
    return [...keys].map(([keyId, key]) => ({ keyId, open: () => decrypt(key, additionalData('v1', undefined, context), iv, tag, ciphertext) }));
  }
  throw new UnsealError('not a sealed value of a known version (expected v2.<kid>.<iv>.<tag>.<ciphertext> or v1.<iv>.<tag>.<ciphertext>)');
}

function decrypt(key: Buffer, aad: Buffer, iv: string, tag: string, ciphertext: string): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * The version is bound too: a future format can never be fed to this one's parser as a
 * downgrade. v1 values were sealed without a key id, so their AAD stays as it was.
 */
function additionalData(version: 'v1' | 'v2', keyId: string | undefined, context: SealContext): Buffer {
  const parts = version === 'v1' ? ['relaygate', version, context.purpose, context.id] : ['relaygate', version, keyId, context.purpose, context.id];
  return Buffer.from(JSON.stringify(parts), 'utf8');
}
