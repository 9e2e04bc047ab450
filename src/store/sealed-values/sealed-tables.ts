import type { Database } from '../tables.js';

type TextColumn<Row> = { [C in keyof Row]-?: Row[C] extends string | null ? C : never }[keyof Row] & string;

/** Where a sealed column (`table.column`, src/secure/sealed-columns.ts) lives, and the column its row id (the AAD) is in. */
export type SealedTable = {
  [T in keyof Database]: { table: T; column: TextColumn<Database[T]>; idColumn: TextColumn<Database[T]> };
}[keyof Database];

const TABLES: readonly SealedTable[] = [
  { table: 'connections', column: 'secret_sealed', idColumn: 'id' },
  { table: 'connections', column: 'client_key_sealed', idColumn: 'id' },
  { table: 'inbound_targets', column: 'secret_sealed', idColumn: 'id' },
  { table: 'inbound_targets', column: 'previous_secret_sealed', idColumn: 'id' },
  { table: 'dkim_keys', column: 'private_sealed', idColumn: 'id' },
  { table: 'secure_messages', column: 'data_key_sealed', idColumn: 'id' },
  { table: 'secure_recipients', column: 'token_sealed', idColumn: 'id' },
  { table: 'sealed_bodies', column: 'data_key_sealed', idColumn: 'message_id' },
  { table: 'directory_sync_sources', column: 'bind_password_sealed', idColumn: 'id' },
  { table: 'directory_sync_sources', column: 'client_key_sealed', idColumn: 'id' },
];

/** The table of a sealed column; a name not listed is a programming error. */
export function sealedTable(name: string): SealedTable {
  const found = TABLES.find((t) => `${t.table}.${t.column}` === name);
  if (!found) throw new Error(`${name} is not a sealed column the store knows (src/store/sealed-values/sealed-tables.ts)`);
  return found;
}
