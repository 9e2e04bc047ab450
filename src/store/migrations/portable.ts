import type { CreateTableBuilder, Kysely } from 'kysely';
import { engineOf } from '../engine.js';

/** An `id` primary key numbered by the engine: SQLite's rowid alias, PostgreSQL's bigserial. */
export function serialId(db: Kysely<unknown>) {
  return <T extends string>(table: CreateTableBuilder<T, never>) =>
    engineOf(db) === 'postgres'
      ? table.addColumn('id', 'bigserial', (c) => c.primaryKey())
      : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** Raw bytes: SQLite's blob, PostgreSQL's bytea. */
export function bytesType(db: Kysely<unknown>): 'blob' | 'bytea' {
  return engineOf(db) === 'postgres' ? 'bytea' : 'blob';
}
