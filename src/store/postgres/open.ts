import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { ConfigError } from '../../config/config-error.js';
import { durableEngine, type StoreDurability } from '../durability.js';
import { migrateToLatest } from '../migrations/index.js';
import { preparedSql } from '../prepared.js';
import type { Database, Db } from '../tables.js';
import { type ConnectionLog, type Listening, listenWithReconnect, type SharedListening } from './listen-connection.js';
import { redactedUrl } from './redacted-url.js';
import { StoreUnavailable } from './store-unavailable.js';

export interface PostgresStore {
  db: Db;
  /** A commit PostgreSQL acknowledged is already durable (synchronous_commit); nothing to wait for. */
  syncCommitted(): Promise<void>;
  /** Always durable here: a failed fsync stops PostgreSQL itself (a PANIC), which then recovers from its WAL. */
  durability: StoreDurability;
  /**
   * Calls `onNotify` on every NOTIFY on `channel` in this store's schema (`channel:schema`),
   * from any instance, over one dedicated connection that is made again when lost.
   */
  listen(channel: string, onNotify: () => void): Promise<Listening>;
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
export interface PostgresOptions {
  /** Shown in pg_stat_activity, so an operator (or a test) can tell this instance's sessions apart; `relaygate` by default. */
  applicationName?: string;
  log?: ConnectionLog;
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
  const { connectionString, schema } = splitSchema(url);
  const applicationName = options.applicationName ?? 'relaygate';
  const settings = {
    connectionString,
    types,
    // A server that does not answer (a failover in progress) fails a checkout instead of holding the SMTP session.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
  if (schema) await createSchema(settings, schema).catch((err: unknown) => Promise.reject(unreachable(url, err)));
  const pool = new pg.Pool({ ...settings, max: 10, application_name: applicationName });
  const connectionLost = lossReporter(options.log);
  // pg-pool handles the error of an idle client (and drops it); a checked-out one between two
  // queries of a transaction has no listener, and its error event would end the process. Its
  // next query fails instead (the transaction is answered 451), and the pool drops it on release.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', connectionLost);
    nameStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, schema);
  } catch (err) {
    await db.destroy();
    throw unreachable(url, err);
  }
  // One LISTEN connection for every channel of the process (the queue's, the directory's).
  let shared: Promise<SharedListening> | undefined;
  const sharedListening = (): Promise<SharedListening> => {
    shared ??= listenWithReconnect({
      settings: { ...settings, application_name: `${applicationName}:listen` },
      ...(options.log ? { log: options.log } : {}),
    }).catch((err: unknown) => {
      shared = undefined;
      throw err;
    });
    return shared;
  };
  return {
    db,
    syncCommitted: async () => undefined,
    durability: durableEngine(),
    async listen(channel, onNotify) {
      const listening = await sharedListening();
      await listening.add(channel, onNotify);
      return {
        state: listening.state,
        async stop() {
          await listening.remove(channel, onNotify);
          if (listening.channels() > 0) return;
          shared = undefined;
          await listening.stop();
        },
      };
    },
    async close() {
      const listening = shared && (await shared.catch(() => undefined));
      shared = undefined;
      await listening?.stop();
      await db.destroy();
    },
  };
}

/**
 * The message path's statements (src/store/prepared.ts) go as named statements: each
 * connection parses and plans one once, then only binds. Other SQL stays unnamed.
 */
function nameStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && Array.isArray(values) && rest.length === 0 && preparedSql.has(text))
      return query({ name: statementName(text), text, values });
    return query(text, values, ...rest);
  };
}

const statementNames = new Map<string, string>();

function statementName(text: string): string {
  const known = statementNames.get(text);
  if (known !== undefined) return known;
  const name = `rg_${statementNames.size + 1}`;
  statementNames.set(text, name);
  return name;
}

const CONNECT_TIMEOUT_MS = 5000;
/** Losing every pooled connection at once (a restart, a failover) is one event to the operator, not ten. */
const LOSS_LOG_INTERVAL_MS = 10_000;

function lossReporter(log: ConnectionLog | undefined): (err: Error) => void {
  let lastLoggedMs = 0;
  let unlogged = 0;
  return (err) => {
    unlogged += 1;
    const nowMs = Date.now();
    if (!log || nowMs - lastLoggedMs < LOSS_LOG_INTERVAL_MS) return;
    log.warn({ reason: err.message, connections: unlogged }, 'PostgreSQL connection lost; the pool opens new ones as needed');
    lastLoggedMs = nowMs;
    unlogged = 0;
  };
}

function unreachable(url: string, err: unknown): Error {
  if (err instanceof ConfigError) return err;
  const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause : err) : new Error(String(err));
  return new StoreUnavailable(
    `PostgreSQL at ${redactedUrl(url)} could not be opened: ${cause.message || (cause as { code?: string }).code || 'no answer'}. Check RELAYGATE_DATABASE_URL, that the server runs and that this user may create tables there`,
    err,
  );
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
