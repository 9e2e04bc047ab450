import { createHash } from 'node:crypto';

/**
 * The engine the suite runs against: `RELAYGATE_TEST_ENGINE=postgres npm test` runs every
 * gateway the tests start on PostgreSQL (RELAYGATE_TEST_DATABASE_URL), each in a schema of
 * its own; otherwise on the embedded SQLite file.
 */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.RELAYGATE_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** Tables of test gateways live in schemas named after the run; scripts/run-tests.mjs drops its run's schemas at the end. */
const TEST_SCHEMA_PREFIX = `rgt_${process.env.RELAYGATE_TEST_RUN ?? 'adhoc'}_`;

/** The server tests that need PostgreSQL use, or undefined (they skip, saying so, or fail under RELAYGATE_TEST_REQUIRE_PEERS=1). */
export function postgresTestUrl(): string | undefined {
  return process.env.RELAYGATE_TEST_DATABASE_URL || undefined;
}

export const NO_POSTGRES = 'RELAYGATE_TEST_DATABASE_URL is not set (CI sets it; e.g. postgres://postgres@127.0.0.1:5432/test)';

/** Why a test that needs PostgreSQL whatever the engine under test (several instances on one store) cannot run, or undefined; for needsPeer. */
export function postgresUnavailable(): string | undefined {
  return postgresTestUrl() ? undefined : NO_POSTGRES;
}

const ENGINE_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL' } as const;

/**
 * Options of a test about one engine alone: on the other it skips, saying so in the same
 * words everywhere. Not a missing peer: the other pass of the suite runs it.
 */
export function onlyOn(engine: 'sqlite' | 'postgres', why: string): { skip?: string } {
  if (TEST_ENGINE === engine) return {};
  const runs = engine === 'postgres' ? ' (RELAYGATE_TEST_ENGINE=postgres runs it)' : '';
  return { skip: `${ENGINE_NAMES[engine]} only; this pass is on ${ENGINE_NAMES[TEST_ENGINE]}${runs}: ${why}` };
}

/** A database URL whose schema belongs to `name` (a test's data directory) alone. */
export function schemaUrl(name: string): string {
  const base = postgresTestUrl();
  if (!base) throw new Error(`RELAYGATE_TEST_ENGINE=postgres needs ${NO_POSTGRES}`);
  const url = new URL(base);
  url.searchParams.set('schema', `${TEST_SCHEMA_PREFIX}${createHash('sha256').update(name).digest('hex').slice(0, 24)}`);
  return url.toString();
}

/** The store setting of a gateway on `dataDir` for the engine under test: none for SQLite, its own schema for PostgreSQL. */
export function testDatabaseUrl(dataDir: string): string | undefined {
  return TEST_ENGINE === 'postgres' ? schemaUrl(dataDir) : undefined;
}
