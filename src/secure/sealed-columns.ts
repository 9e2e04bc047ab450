import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor } from '../directory/context.js';
import {
  CONNECTION_CLIENT_KEY_PURPOSE,
  CONNECTION_SECRET_PURPOSE,
  DATA_KEY_PURPOSE,
  DKIM_KEY_PURPOSE,
  LDAP_BIND_PASSWORD_PURPOSE,
  LDAP_CLIENT_KEY_PURPOSE,
  PORTAL_TOKEN_PURPOSE,
  SEALED_BODY_KEY_PURPOSE,
  WEBHOOK_SECRET_PURPOSE,
} from './seal-purposes.js';

/** A column of values sealed by the key-encryption key (`table.column`), and the purpose each was sealed with (with its row id: the AAD). */
export interface SealedColumn {
  column: string;
  purpose: string;
}

/**
 * Every column the key-encryption key seals, so that a rotation leaves nothing under the old
 * key. A new sealed column must be added here and in src/store/sealed-values/sealed-tables.ts
 * (test/key-rotation.test.ts fails on a `*_sealed` column missing from this list).
 * secure_messages.meta_sealed is not here: it is sealed under the message's own data key,
 * which a rotation does not touch.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { column: 'connections.secret_sealed', purpose: CONNECTION_SECRET_PURPOSE },
  { column: 'connections.client_key_sealed', purpose: CONNECTION_CLIENT_KEY_PURPOSE },
  { column: 'inbound_targets.secret_sealed', purpose: WEBHOOK_SECRET_PURPOSE },
  { column: 'inbound_targets.previous_secret_sealed', purpose: WEBHOOK_SECRET_PURPOSE },
  { column: 'dkim_keys.private_sealed', purpose: DKIM_KEY_PURPOSE },
  { column: 'secure_messages.data_key_sealed', purpose: DATA_KEY_PURPOSE },
  { column: 'secure_recipients.token_sealed', purpose: PORTAL_TOKEN_PURPOSE },
  { column: 'sealed_bodies.data_key_sealed', purpose: SEALED_BODY_KEY_PURPOSE },
  { column: 'directory_sync_sources.bind_password_sealed', purpose: LDAP_BIND_PASSWORD_PURPOSE },
  { column: 'directory_sync_sources.client_key_sealed', purpose: LDAP_CLIENT_KEY_PURPOSE },
];

export interface SealedValue {
  id: string;
  sealed: string;
}

export interface SealedCount {
  /** `table.column`. */
  column: string;
  /** The key id a v2 value carries; null for values without one (the v1 format, or not a sealed value). */
  keyId: string | null;
  values: number;
}

/** The sealed values of the store, for the key checks, the key usage and the rewrap (src/store/sealed-values). */
export interface SealedValueStore {
  /** The column's non-null values in id order, a batch at a time: a table of any size is read in bounded memory. */
  batches(column: string, batchSize: number): AsyncGenerator<SealedValue[]>;
  /**
   * Replaces each value only if it is still the one that was read, all in one transaction: a
   * value changed meanwhile (a secret rotated, a message shredded) is left as its writer made it.
   */
  replace(column: string, changes: (SealedValue & { replacement: string })[]): Promise<{ replaced: number; changedMeanwhile: number }>;
  /**
   * How many values each column holds per key id, counted by the database from the v2 prefix
   * (`v2.<11-character kid>.`): a start can tell within a moment whether its keys open the
   * store, however many messages it holds, without reading a value out.
   */
  countsByKeyId(columns: readonly string[]): Promise<SealedCount[]>;
  /** The id of the key-encryption key the instances on this store seal with, once one has started (src/store/shared-keys.ts). */
  recordedKeyEncryptionKey(): Promise<string | undefined>;
  /** Records the key the instances sharing the store now need. */
  recordKeyEncryptionKey(keyId: string, at: number): Promise<void>;
  /** Appends to the audit chain in a transaction of its own. */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
}
