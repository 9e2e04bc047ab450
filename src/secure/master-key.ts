import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import { readKeyFile } from '../lib/key-file.js';
import { followingKeyRing } from './following-key-ring.js';
import { type KeyRing, keyIdOf, keyRing } from './key-encryption.js';

/** Where the generated key-encryption key lives when RELAYGATE_MASTER_KEY is not set. */
export const MASTER_KEY_FILE = join('keys', 'master.key');
/** Where `relaygate key rotate` keeps the keys it replaced, one `<kid>.key` each, until `key rewrap --forget-previous`. */
export const PREVIOUS_KEYS_DIR = join('keys', 'previous');

export type KeyConfig = Pick<Config, 'masterKey' | 'dataDir'> & Partial<Pick<Config, 'previousMasterKeys'>>;

/** A key-encryption key and where it came from, said so that an operator can find it; never the key itself in output. */
export interface LoadedKey {
  key: Buffer;
  keyId: string;
  /** `keys/master.key`, `keys/previous/<name>.key`, or the configuration key it came from. */
  source: string;
  /** The file it was read from, when it was. */
  file?: string;
}

export interface LoadedKeys {
  current: LoadedKey;
  previous: LoadedKey[];
}

/**
 * The key-encryption key: RELAYGATE_MASTER_KEY when set (kept outside the data directory,
 * e.g. in a secret manager), else keys/master.key, generated when the store was empty (see
 * key-guard.ts, the one place that makes it). Either way it never enters the database, so a
 * copy of the database alone opens nothing. Never creates a key: one made beside sealed data
 * would seal new values under a key that opens none of the old.
 */
export function loadKeyEncryptionKey(config: Pick<Config, 'masterKey' | 'dataDir'>): Buffer {
  if (config.masterKey) return Buffer.from(config.masterKey, 'base64');
  try {
    return readKeyFile(join(config.dataDir, MASTER_KEY_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      {
        key: MASTER_KEY_FILE,
        source: `the data directory ${config.dataDir}`,
        problem:
          code === 'ENOENT'
            ? 'is missing (the key-encryption key that seals stored secrets)'
            : `is not a readable key-encryption key (${code ?? 'not base64 of 32 bytes'})`,
        fix: 'restore keys/ from the backup of the data directory, or set RELAYGATE_MASTER_KEY to the key that sealed the stored secrets',
      },
    ]);
  }
}

/** The current key, then the previous ones: configured (RELAYGATE_PREVIOUS_MASTER_KEYS) first, then files of keys/previous/. */
export function loadKeys(config: KeyConfig): LoadedKeys {
  const current = loadKeyEncryptionKey(config);
  const configured = (config.previousMasterKeys ?? []).map((text, i) =>
    loaded(Buffer.from(text, 'base64'), `previousMasterKeys entry ${i + 1} (RELAYGATE_PREVIOUS_MASTER_KEYS)`),
  );
  return {
    current: config.masterKey ? loaded(current, 'masterKey (RELAYGATE_MASTER_KEY)') : loaded(current, MASTER_KEY_FILE, join(config.dataDir, MASTER_KEY_FILE)),
    previous: [...configured, ...previousKeyFiles(config.dataDir)],
  };
}

/** The `*.key` files of keys/previous/, sorted by name; none when the directory does not exist. */
export function previousKeyFiles(dataDir: string): LoadedKey[] {
  const dir = join(dataDir, PREVIOUS_KEYS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.key'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.sort().map((name) => {
    const source = join(PREVIOUS_KEYS_DIR, name);
    try {
      return loaded(readKeyFile(join(dir, name)), source, join(dir, name));
    } catch (err) {
      throw new ConfigError([
        {
          key: source,
          source: `the data directory ${dataDir}`,
          problem: `is not a readable key-encryption key (${(err as NodeJS.ErrnoException).code ?? 'not base64 of 32 bytes'})`,
          fix: 'restore it from backup (base64 of 32 bytes on one line); a file that is not a key does not belong in keys/previous/',
        },
      ]);
    }
  });
}

function loaded(key: Buffer, source: string, file?: string): LoadedKey {
  return file === undefined ? { key, keyId: keyIdOf(key), source } : { key, keyId: keyIdOf(key), source, file };
}

export function keyRingOf(keys: LoadedKeys): KeyRing {
  return keyRing(
    keys.current.key,
    keys.previous.map((k) => k.key),
  );
}

/**
 * The ring every sealing module uses. It follows `relaygate key rotate` run beside it (see
 * followingKeyRing); a key from the environment changes only with a restart.
 */
export function keyEncryptionFor(config: KeyConfig): KeyRing {
  return followingKeyRing(() => keyRingOf(loadKeys(config)), config.masterKey ? undefined : join(config.dataDir, MASTER_KEY_FILE));
}
