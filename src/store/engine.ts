import { type Kysely, PostgresAdapter } from 'kysely';

/** SQLite is the embedded default; PostgreSQL is the store several instances share. */
export type Engine = 'sqlite' | 'postgres';

/** Read from the dialect the store was opened with, so code given only a Db still knows. */
export function engineOf<T>(db: Kysely<T>): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
