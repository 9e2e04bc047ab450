import { sql } from 'kysely';
import type { Database, Db } from '../store/tables.js';
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

type TextColumn<Row> = { [C in keyof Row]-?: Row[C] extends string | null ? C : never }[keyof Row] & string;

/** A column of values sealed by the key-encryption key, and the context each was sealed with (purpose, row id: the AAD). */
export type SealedColumn = {
  [T in keyof Database]: { table: T; column: TextColumn<Database[T]>; idColumn: TextColumn<Database[T]>; purpose: string };
}[keyof Database];

/**
 * Every column the key-encryption key seals, so that a rotation leaves nothing under the old
 * key. A new sealed column must be added here (test/key-rotation.test.ts fails on a
 * `*_sealed` column missing from this list). secure_messages.meta_sealed is not here: it is
 * sealed under the message's own data key, which a rotation does not touch.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'connections', column: 'secret_sealed', idColumn: 'id', purpose: CONNECTION_SECRET_PURPOSE },
  { table: 'connections', column: 'client_key_sealed', idColumn: 'id', purpose: CONNECTION_CLIENT_KEY_PURPOSE },
  { table: 'inbound_targets', column: 'secret_sealed', idColumn: 'id', purpose: WEBHOOK_SECRET_PURPOSE },
  { table: 'inbound_targets', column: 'previous_secret_sealed', idColumn: 'id', purpose: WEBHOOK_SECRET_PURPOSE },
  { table: 'dkim_keys', column: 'private_sealed', idColumn: 'id', purpose: DKIM_KEY_PURPOSE },
  { table: 'secure_messages', column: 'data_key_sealed', idColumn: 'id', purpose: DATA_KEY_PURPOSE },
  { table: 'secure_recipients', column: 'token_sealed', idColumn: 'id', purpose: PORTAL_TOKEN_PURPOSE },
  { table: 'sealed_bodies', column: 'data_key_sealed', idColumn: 'message_id', purpose: SEALED_BODY_KEY_PURPOSE },
  { table: 'directory_sync_sources', column: 'bind_password_sealed', idColumn: 'id', purpose: LDAP_BIND_PASSWORD_PURPOSE },
  { table: 'directory_sync_sources', column: 'client_key_sealed', idColumn: 'id', purpose: LDAP_CLIENT_KEY_PURPOSE },
];

export interface SealedValue {
  id: string;
  sealed: string;
}

/** The column's non-null values in id order, a batch at a time: a table of any size is read in bounded memory. */
export async function* sealedBatches(db: Db, column: SealedColumn, batchSize: number): AsyncGenerator<SealedValue[]> {
  const id = sql.ref(column.idColumn);
  const value = sql.ref(column.column);
  let after = '';
  for (;;) {
    const { rows } = await sql<SealedValue>`
      select ${id} as id, ${value} as sealed from ${sql.table(column.table)}
      where ${value} is not null and ${id} > ${after}
      order by ${id} limit ${batchSize}`.execute(db);
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]?.id ?? after;
  }
}

/**
 * Replaces one value only if it is still the one that was read: a value changed meanwhile
 * (a secret rotated, a message shredded) is left as its writer made it. True when replaced.
 */
export async function replaceSealed(db: Db, column: SealedColumn, change: SealedValue & { replacement: string }): Promise<boolean> {
  const result = await sql`
    update ${sql.table(column.table)} set ${sql.ref(column.column)} = ${change.replacement}
    where ${sql.ref(column.idColumn)} = ${change.id} and ${sql.ref(column.column)} = ${change.sealed}`.execute(db);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

export function columnName(column: SealedColumn): string {
  return `${column.table}.${column.column}`;
}

export interface SealedCount {
  /** `table.column`. */
  column: string;
  /** The key id a v2 value carries; null for values without one (the v1 format, or not a sealed value). */
  keyId: string | null;
  values: number;
}

/**
 * How many values each column holds per key id, counted by the database from the v2 prefix
 * (`v2.<11-character kid>.`): a start can tell within a moment whether its keys open the
 * store, however many messages it holds, without reading a value out.
 */
export async function sealedCountsByKeyId(db: Db): Promise<SealedCount[]> {
  const counts: SealedCount[] = [];
  for (const column of SEALED_COLUMNS) {
    const value = sql.ref(column.column);
    const { rows } = await sql<{ key_id: string | null; n: number | string }>`
      select case when ${value} like 'v2.%' then substr(${value}, 4, 11) end as key_id, count(*) as n
      from ${sql.table(column.table)} where ${value} is not null group by key_id`.execute(db);
    for (const row of rows) counts.push({ column: columnName(column), keyId: row.key_id, values: Number(row.n) });
  }
  return counts;
}
