import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey } from '../lib/key-file.js';
import { type KeyEncryption, keyEncryption } from './key-encryption.js';

/** Where the generated key-encryption key lives when RELAYGATE_MASTER_KEY is not set. */
export const MASTER_KEY_FILE = join('keys', 'master.key');

/**
 * The key-encryption key: RELAYGATE_MASTER_KEY when set (kept outside the data directory,
 * e.g. in a secret manager), else a key generated into the data directory on first start.
 * Either way it never enters the database, so a copy of the database alone opens nothing.
 */
export function loadKeyEncryptionKey(config: Pick<Config, 'masterKey' | 'dataDir'>): Buffer {
  if (config.masterKey) return Buffer.from(config.masterKey, 'base64');
  return loadOrCreateKey(join(config.dataDir, MASTER_KEY_FILE));
}

export function keyEncryptionFor(config: Pick<Config, 'masterKey' | 'dataDir'>): KeyEncryption {
  return keyEncryption(loadKeyEncryptionKey(config));
}
