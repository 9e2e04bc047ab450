import { createCipheriv, randomBytes } from 'node:crypto';
import type { SealContext } from '../../src/secure/key-encryption.js';

/**
 * Seals as the code before key ids did (`v1.<iv>.<tag>.<ciphertext>`, AAD without a key id),
 * kept apart from the gateway's code so that the tests prove the old format itself still opens.
 */
export function sealV1(key: Buffer, plaintext: string | Buffer, context: SealContext): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(JSON.stringify(['relaygate', 'v1', context.purpose, context.id]), 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}
