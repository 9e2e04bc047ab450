/**
 * A gateway starting on a PostgreSQL server that other clients share: Kysely's migrator looks
 * for its table across every schema, and a schema dropped in that moment (another tenant's
 * clean-up, a test run ending) used to fail the start with `schema "…" does not exist`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { openPostgres } from '../src/store/postgres/open.js';
import { needsPeer } from './support/peers.js';
import { postgresTestUrl, postgresUnavailable, schemaUrl } from './support/test-database.js';

test('the store opens and migrates while other schemas are created and dropped beside it', {
  timeout: 300_000,
  ...needsPeer(postgresUnavailable()),
}, async () => {
  const admin = new pg.Client({ connectionString: postgresTestUrl() });
  await admin.connect();
  const churnPrefix = `rgt_churn_${randomBytes(4).toString('hex')}_`;
  let churning = true;
  // Each schema holds a table, so the migrator's lookup has rows of it to check.
  const churn = (async () => {
    for (let i = 0; churning; i++) {
      const name = `${churnPrefix}${i}`;
      await admin.query(`create schema ${name}`);
      await admin.query(`create table ${name}.t (a int)`);
      await admin.query(`drop schema ${name} cascade`);
    }
  })();
  const opened: string[] = [];
  try {
    for (let i = 0; i < 30; i++) {
      const url = schemaUrl(`migrate-beside-drops-${randomBytes(6).toString('hex')}`);
      opened.push(new URL(url).searchParams.get('schema') ?? '');
      const store = await openPostgres(url);
      await store.close();
    }
  } finally {
    churning = false;
    await churn;
    for (const schema of opened) await admin.query(`drop schema if exists ${admin.escapeIdentifier(schema)} cascade`);
    await admin.end();
  }
  assert.equal(opened.length, 30);
});
