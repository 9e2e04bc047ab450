import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../config/config-error.js';
import { loadOrCreateKey, readKeyFile } from '../lib/key-file.js';
import { type KeyRing, keyIdOf, UnsealError } from './key-encryption.js';
import { type KeyConfig, keyRingOf, type LoadedKeys, loadKeys, MASTER_KEY_FILE } from './master-key.js';
import { SEALED_COLUMNS, type SealedCount, type SealedValueStore } from './sealed-columns.js';

/** What each sealed column holds, in an operator's words; a column added later is named by itself. */
const WHAT: Record<string, string> = {
  'connections.secret_sealed': 'smarthost secrets',
  'connections.client_key_sealed': 'smarthost client-certificate keys',
  'inbound_targets.secret_sealed': 'webhook secrets',
  'inbound_targets.previous_secret_sealed': 'previous webhook secrets',
  'dkim_keys.private_sealed': 'DKIM private keys',
  'secure_messages.data_key_sealed': 'secure-message data keys',
  'secure_recipients.token_sealed': 'portal link tokens',
  'directory_sync_sources.bind_password_sealed': 'LDAP bind passwords',
  'directory_sync_sources.client_key_sealed': 'LDAP client-certificate keys',
};

/** Sealed values no configured key opens, per key id; `null` gathers v1 values (they carry no id). */
type Unopenable = Map<string | null, SealedCount[]>;

/**
 * Runs on every opening of the store, before anything seals or opens a value: the keys
 * configured must open every sealed value, else the process refuses (ConfigError, exit 78)
 * naming the key that is missing or wrong, what it seals and the fix. Only an empty store
 * (no sealed value and, on PostgreSQL, no instance that started with a key before) gets a
 * generated keys/master.key: a key made beside sealed data would never open it, and the
 * values sealed under it afterwards would split the store between two keys.
 */
export async function ensureKeyEncryptionKey(sealed: SealedValueStore, config: KeyConfig, engine: 'sqlite' | 'postgres'): Promise<void> {
  const counts = await sealed.countsByKeyId(SEALED_COLUMNS.map((c) => c.column));
  const keys = config.masterKey || existsSync(join(config.dataDir, MASTER_KEY_FILE)) ? loadKeys(config) : undefined;
  if (keys === undefined) {
    const recorded = engine === 'postgres' ? await sealed.recordedKeyEncryptionKey() : undefined;
    if (counts.length === 0 && recorded === undefined) {
      loadOrCreateKey(join(config.dataDir, MASTER_KEY_FILE));
      return;
    }
    throw new ConfigError([missingKey(config, await unopenable(sealed, counts, undefined), recorded)]);
  }
  const lacking = await unopenable(sealed, counts, keyRingOf(keys));
  if (lacking.size > 0) throw new ConfigError([wrongKey(config, keys, lacking)]);
}

/** v2 values under a key id the ring lacks, and v1 values none of its keys opens (read only for columns that have v1 values). */
async function unopenable(sealed: SealedValueStore, counts: SealedCount[], ring: KeyRing | undefined): Promise<Unopenable> {
  const known = new Set(ring ? [ring.currentKeyId, ...ring.previousKeyIds] : []);
  const lacking: Unopenable = new Map();
  const add = (keyId: string | null, count: SealedCount) => lacking.set(keyId, [...(lacking.get(keyId) ?? []), count]);
  for (const count of counts) {
    if (count.keyId !== null && !known.has(count.keyId)) add(count.keyId, count);
    if (count.keyId !== null) continue;
    const values = ring ? await v1ValuesNotOpened(sealed, count.column, ring) : count.values;
    if (values > 0) add(null, { ...count, values });
  }
  return lacking;
}

async function v1ValuesNotOpened(sealed: SealedValueStore, columnName: string, ring: KeyRing): Promise<number> {
  const column = SEALED_COLUMNS.find((c) => c.column === columnName);
  if (!column) return 0;
  let notOpened = 0;
  for await (const batch of sealed.batches(column.column, 500))
    for (const value of batch) {
      if (value.sealed.startsWith('v2.')) continue;
      if (opensWith(ring, value.sealed, { purpose: column.purpose, id: value.id })) continue;
      notOpened += 1;
    }
  return notOpened;
}

function opensWith(ring: KeyRing, sealed: string, context: { purpose: string; id: string }): boolean {
  try {
    return ring.sealedUnder(sealed, context) !== undefined;
  } catch (err) {
    if (err instanceof UnsealError) return false;
    throw err;
  }
}

function missingKey(config: KeyConfig, lacking: Unopenable, recorded: string | undefined): ConfigProblem {
  const keyIds = [...lacking.keys()].filter((k): k is string => k !== null);
  if (recorded !== undefined && !keyIds.includes(recorded)) keyIds.unshift(recorded);
  const which = keyIds.length > 0 ? `the key with id ${keyIds.join(' or ')}` : 'the key that sealed them';
  const held =
    lacking.size > 0
      ? `the database holds ${describe(lacking)}. No new key is made while the store holds sealed data: it could never open them`
      : `the other instances on this database seal with key-encryption key ${recorded}. No new key is made: this instance could not open what they seal`;
  return {
    key: MASTER_KEY_FILE,
    source: `the data directory ${config.dataDir}`,
    problem: `is missing, but ${held}`,
    fix: `restore ${join(config.dataDir, 'keys')}/ (master.key, and previous/ if there was one) from the backup of the data directory, or set RELAYGATE_MASTER_KEY to ${which}; then start again`,
  };
}

function wrongKey(config: KeyConfig, keys: LoadedKeys, lacking: Unopenable): ConfigProblem {
  const held = [...lacking.keys()].filter((k): k is string => k !== null);
  const which = held.length > 0 ? `the key with id ${held.join(' or ')}` : 'the key that sealed them';
  const inFile = config.masterKey ? keyFileHolding(config, held) : undefined;
  const keep = 'to move to a new key, keep the old one in RELAYGATE_PREVIOUS_MASTER_KEYS (or keys/previous/), start, and run "relaygate key rewrap"';
  return {
    key: config.masterKey ? 'masterKey (RELAYGATE_MASTER_KEY)' : MASTER_KEY_FILE,
    source: config.masterKey ? 'the configuration' : `the data directory ${config.dataDir}`,
    problem: `is key-encryption key ${keys.current.keyId}${keys.previous.length > 0 ? ` (with previous ${keys.previous.map((k) => k.keyId).join(', ')})` : ''}, which does not open ${describe(lacking)}`,
    fix: inFile
      ? `${MASTER_KEY_FILE} in the data directory holds key ${inFile}: unset RELAYGATE_MASTER_KEY to use it; or, ${keep.replace('the old one', `the contents of ${MASTER_KEY_FILE}`)}`
      : `${config.masterKey ? 'set RELAYGATE_MASTER_KEY to' : `restore ${MASTER_KEY_FILE} from the backup of the data directory, or set RELAYGATE_MASTER_KEY to`} ${which}; ${keep}`,
  };
}

/** The id of keys/master.key when it holds one of the keys the values need (a key left behind when RELAYGATE_MASTER_KEY was set). */
function keyFileHolding(config: KeyConfig, keyIds: string[]): string | undefined {
  try {
    const keyId = keyIdOf(readKeyFile(join(config.dataDir, MASTER_KEY_FILE)));
    return keyIds.includes(keyId) ? keyId : undefined;
  } catch {
    return undefined;
  }
}

/** "5 sealed values: 4 under key-encryption key AbC (smarthost secrets: 2, DKIM private keys: 2); 1 in the old v1 format …", keyed values first. */
function describe(lacking: Unopenable): string {
  const total = [...lacking.values()].flat().reduce((sum, c) => sum + c.values, 0);
  const entries = [...lacking].sort(([a], [b]) => Number(a === null) - Number(b === null));
  const parts = entries.map(([keyId, counts]) => {
    const n = counts.reduce((sum, c) => sum + c.values, 0);
    const what = counts.map((c) => `${WHAT[c.column] ?? c.column}: ${c.values}`).join(', ');
    const under = keyId === null ? 'in the old v1 format (no key id) that no configured key opens' : `under key-encryption key ${keyId}`;
    return `${n} ${under} (${what})`;
  });
  return `${total} sealed value${total === 1 ? '' : 's'}: ${parts.join('; ')}`;
}
