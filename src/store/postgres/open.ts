import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { ConfigError } from '../../config/config-error.js';
import { migrateToLatest } from '../migrations/index.js';
import type { Database, Db } from '../tables.js';

export interface PostgresStore {
  db: Db;
  /** A commit PostgreSQL acknowledged is already durable (synchronous_commit); nothing to wait for. */
  syncCommitted(): Promise<void>;
  /** Calls `onNotify` on every NOTIFY on `channel` in this store's schema (`channel:schema`), from any instance, over one dedicated connection. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Times are epoch milliseconds in bigint columns and counts are bigint: both are safe as
 * JavaScript numbers, so they are read as numbers, as SQLite gives them. Scoped to this
 * pool rather than set on pg's global parser table.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Opens the shared store and applies the migrations (Kysely's migrator takes a lock, so
 * instances starting together apply each once). A `schema` parameter in the URL keeps
 * Relaygate's tables in a schema of their own, created if missing, in a database that
 * others share.
 */
export async function openPostgres(url: string): Promise<PostgresStore> {
  const { connectionString, schema } = splitSchema(url);
  const settings = { connectionString, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  if (schema) await createSchema(settings, schema).catch((err: unknown) => Promise.reject(unreachable(url, err)));
  const pool = new pg.Pool({ ...settings, max: 10, application_name: 'relaygate' });
  // An idle client that loses its server must not take the process down with it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, schema);
  } catch (err) {
    await db.destroy();
    throw unreachable(url, err);
  }
  const listeners = new Set<pg.Client>();
  return {
    db,
    syncCommitted: async () => undefined,
    async listen(channel, onNotify) {
      const client = new pg.Client({ ...settings, application_name: 'relaygate-listen' });
      client.on('error', () => undefined);
      await client.connect();
      // Channels are per database; the schema in the name keeps deployments sharing one database apart.
      const { rows } = await client.query<{ schema: string }>('select current_schema() as schema');
      const scoped = `${channel}:${rows[0]?.schema ?? 'public'}`;
      client.on('notification', (message) => {
        if (message.channel === scoped) onNotify();
      });
      await client.query(`LISTEN ${pg.escapeIdentifier(scoped)}`);
      listeners.add(client);
      return async () => {
        listeners.delete(client);
        await client.end().catch(() => undefined);
      };
    },
    async close() {
      for (const client of listeners) await client.end().catch(() => undefined);
      listeners.clear();
      await db.destroy();
    },
  };
}

/** The database could not be reached or set up: said with the URL (password hidden) and what the server answered. */
export class StoreUnavailable extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'StoreUnavailable';
  }
}

function unreachable(url: string, err: unknown): Error {
  if (err instanceof ConfigError) return err;
  const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause : err) : new Error(String(err));
  return new StoreUnavailable(
    `PostgreSQL at ${redactedUrl(url)} could not be opened: ${cause.message || (cause as { code?: string }).code || 'no answer'}. Check RELAYGATE_DATABASE_URL, that the server runs and that this user may create tables there`,
    err,
  );
}

export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function splitSchema(url: string): { connectionString: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { connectionString: url };
  if (!SCHEMA_NAME.test(schema))
    throw new ConfigError([
      {
        key: 'databaseUrl',
        source: 'configuration',
        value: redactedUrl(url),
        problem: `has schema=${schema}, which is not a plain schema name`,
        fix: 'use letters, digits and _ (not starting with a digit), e.g. ?schema=relaygate',
      },
    ]);
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

async function createSchema(settings: pg.ClientConfig, schema: string): Promise<void> {
  const client = new pg.Client(settings);
  await client.connect();
  try {
    await client.query(`create schema if not exists ${pg.escapeIdentifier(schema)}`);
  } catch (err) {
    // Two instances creating it at once: one of them wins, which is all that was wanted.
    if ((err as { code?: string }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
}
