// --instances: the PostgreSQL store the gateways share. Each run gets a schema of its own
// (rgbench_<random>) in the given database: the gateways create it and their tables on start,
// the bench drops it afterwards, so nothing is left behind and other users of the database
// (the test suite, other sessions) are not touched.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** --database-url, else RELAYGATE_BENCH_DATABASE_URL, else RELAYGATE_TEST_DATABASE_URL, else the local test database. */
export function benchDatabaseUrl(flag: string | undefined): string {
  return flag || process.env.RELAYGATE_BENCH_DATABASE_URL || process.env.RELAYGATE_TEST_DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** The URL without its password, for logs and the results file. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** The URL as the bench's own client uses it: the gateway-only `schema` parameter removed. */
function clientUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.delete('schema');
  return u.toString();
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: clientUrl(url), application_name: 'relaygate-bench', connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface ServerFacts {
  version: string;
  /** Settings that decide what a commit costs, and how many connections n gateways may open. */
  settings: Record<string, string>;
  /** TCP port the server listens on (the gateways' backends are found by their connections to it). */
  port: number;
}

/** Checks the server is reachable before any gateway starts, and records what shapes its figures. */
export async function serverFacts(url: string): Promise<ServerFacts> {
  return withClient(url, async (client) => {
    const version = (await client.query<{ v: string }>('select version() as v')).rows[0]?.v ?? 'unknown';
    const names = ['synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', 'max_connections'];
    const rows = (
      await client.query<{ name: string; setting: string; unit: string | null }>('select name, setting, unit from pg_settings where name = any($1)', [names])
    ).rows;
    const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
    return { version, settings, port: Number(new URL(url).port || 5432) };
  });
}

/** What the statements of a run did to one table (pg_stat_user_tables, cumulative since the schema was made). */
export interface TableActivity {
  table: string;
  /** Sequential + index scans: roughly, statements that read the table. */
  scans: number;
  /** Rows inserted + updated + deleted. */
  rowWrites: number;
}

export interface BenchSchema {
  name: string;
  /** The gateways' RELAYGATE_DATABASE_URL: the base URL with ?schema=<name>. */
  url: string;
  /** Per table; read once the gateways have stopped (their backends flush their counters as they end). */
  activity(): Promise<TableActivity[]>;
  drop(): Promise<void>;
}

export function newBenchSchema(baseUrl: string): BenchSchema {
  const name = `rgbench_${randomBytes(6).toString('hex')}`;
  const u = new URL(baseUrl);
  u.searchParams.set('schema', name);
  return {
    name,
    url: u.toString(),
    activity: () =>
      withClient(baseUrl, async (client) => {
        const sql =
          'select relname as table, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans, n_tup_ins + n_tup_upd + n_tup_del as row_writes ' +
          'from pg_stat_user_tables where schemaname = $1';
        const rows = (await client.query<{ table: string; scans: string; row_writes: string }>(sql, [name])).rows;
        return rows.map((r) => ({ table: r.table, scans: Number(r.scans), rowWrites: Number(r.row_writes) }));
      }),
    drop: () => withClient(baseUrl, async (client) => void (await client.query(`drop schema if exists ${pg.escapeIdentifier(name)} cascade`))),
  };
}
