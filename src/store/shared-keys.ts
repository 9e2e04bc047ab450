import { createHmac } from 'node:crypto';
import { KeyMismatch } from '../model/key-mismatch.js';
import type { Db } from './tables.js';

/**
 * Instances sharing PostgreSQL must hold the same keys, or each would hash credentials and
 * seal secrets its own way and refuse what the others stored. The store keeps a check value
 * of the credential hash key and the id of the current key-encryption key (never a key), and
 * an instance with other keys refuses to start (KeyMismatch), saying which setting to fix.
 */
export { KeyMismatch };

const HASH_KEY = 'credential-hash-key';
const MASTER_KEY = 'key-encryption-key';

export async function checkCredentialHashKey(db: Db, hashKey: Buffer, now: number): Promise<void> {
  const value = createHmac('sha256', hashKey).update('relaygate: credential hash key check').digest('hex').slice(0, 32);
  const stored = await recorded(db, HASH_KEY, value, now);
  if (stored !== value)
    throw new KeyMismatch(
      'the credential hash key of this instance is not the one the other instances on this database use: give every instance the same RELAYGATE_CREDENTIAL_HASH_KEY (or copy keys/credential-hash.key)',
    );
}

/**
 * The current key-encryption key may move on (a rotation): an instance whose ring still
 * holds the recorded key as a previous one takes the record forward; one that lacks the
 * recorded key altogether could not open what the others sealed.
 */
export async function checkKeyEncryptionKey(db: Db, ring: { currentKeyId: string; previousKeyIds: readonly string[] }, now: number): Promise<void> {
  const stored = await recorded(db, MASTER_KEY, ring.currentKeyId, now);
  if (stored === ring.currentKeyId) return;
  if (ring.previousKeyIds.includes(stored)) {
    await db.updateTable('key_checks').set({ value: ring.currentKeyId, updated_at: now }).where('name', '=', MASTER_KEY).where('value', '=', stored).execute();
    return;
  }
  throw new KeyMismatch(
    `the other instances on this database seal with key-encryption key ${stored}, which this instance does not hold (its current key is ${ring.currentKeyId}): give every instance the same RELAYGATE_MASTER_KEY, and during a rotation the old key in RELAYGATE_PREVIOUS_MASTER_KEYS`,
  );
}

/** The id of the key-encryption key the instances on this store seal with, once one has started; never the key. */
export async function recordedKeyEncryptionKey(db: Db): Promise<string | undefined> {
  const row = await db.selectFrom('key_checks').select('value').where('name', '=', MASTER_KEY).executeTakeFirst();
  return row?.value;
}

/** The value stored under `name`, `value` itself when there was none yet. */
async function recorded(db: Db, name: string, value: string, now: number): Promise<string> {
  await db
    .insertInto('key_checks')
    .values({ name, value, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('key_checks').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}

/** After a rewrap, everything sealed is under `keyId`: the instances must hold it. */
export async function recordKeyEncryptionKey(db: Db, keyId: string, now: number): Promise<void> {
  await db
    .insertInto('key_checks')
    .values({ name: MASTER_KEY, value: keyId, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: keyId, updated_at: now }))
    .execute();
}

const AUDIT_KEY = 'audit-key';

/** The audit key's check value, undefined until a start with the key has recorded it. */
export async function recordedAuditKey(db: Db): Promise<string | undefined> {
  const row = await db.selectFrom('key_checks').select('value').where('name', '=', AUDIT_KEY).executeTakeFirst();
  return row?.value;
}

/** Records the check value unless one is there; whether this call recorded it (on PostgreSQL, one instance of several starting at once). */
export async function recordAuditKey(trx: Db, check: string, now: number): Promise<boolean> {
  const result = await trx
    .insertInto('key_checks')
    .values({ name: AUDIT_KEY, value: check, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}
