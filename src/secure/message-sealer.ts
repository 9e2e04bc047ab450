import type { SecureSealer } from '../pipeline/routes/secure.js';
import type { KeyEncryption } from './key-encryption.js';
import { BodyEncryptor, newDataKey, sealWithDataKey } from './message-cipher.js';
import { replyRefHash } from './secure-replies.js';
import { DATA_KEY_PURPOSE, META_PURPOSE, PORTAL_TOKEN_PURPOSE } from './vault.js';

/**
 * The sealing of a secure message as it is accepted (src/pipeline/routes/secure.ts): a data
 * key of its own, stored only sealed by the key-encryption key; `hashKey` keys the hashes
 * that link replies to the message.
 */
export function messageSealer(kek: KeyEncryption, hashKey: Buffer): SecureSealer {
  return {
    open(id) {
      const key = newDataKey();
      const encryptor = new BodyEncryptor(key, id);
      return {
        encryptor,
        sealed(meta) {
          const seal = encryptor.seal();
          return {
            dataKeySealed: kek.seal(key, { purpose: DATA_KEY_PURPOSE, id }),
            bodyIv: seal.iv,
            bodyTag: seal.tag,
            metaSealed: sealWithDataKey(key, id, META_PURPOSE, JSON.stringify(meta)),
          };
        },
        dispose: () => key.fill(0),
      };
    },
    sealToken: (token, recipientId) => kek.seal(token, { purpose: PORTAL_TOKEN_PURPOSE, id: recipientId }),
    replyRef: (messageId) => replyRefHash(hashKey, messageId),
  };
}
