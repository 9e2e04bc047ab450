// Runs every test file under test/ with node's test runner. Node 20 does not expand globs
// given to --test, so the files are listed here. RELAYGATE_TEST_ENGINE=postgres runs the
// gateways the tests start on PostgreSQL (RELAYGATE_TEST_DATABASE_URL), one schema each;
// those schemas are dropped after the run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'support' || entry.name === 'fixtures' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

async function dropTestSchemas() {
  const url = process.env.RELAYGATE_TEST_DATABASE_URL;
  if (process.env.RELAYGATE_TEST_ENGINE !== 'postgres' || !url) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('select nspname from pg_namespace where starts_with(nspname, $1)', [`rgt_${run}_`]);
    for (const { nspname } of rows) await client.query(`drop schema if exists ${pg.escapeIdentifier(nspname)} cascade`);
  } finally {
    await client.end();
  }
}

if (process.env.RELAYGATE_TEST_ENGINE === 'postgres' && !process.env.RELAYGATE_TEST_DATABASE_URL) {
  console.error('RELAYGATE_TEST_ENGINE=postgres needs RELAYGATE_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test');
  process.exit(2);
}
// Schemas are named after the run, so runs sharing one server drop only their own.
process.env.RELAYGATE_TEST_RUN ||= randomBytes(4).toString('hex');
const run = process.env.RELAYGATE_TEST_RUN;
const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles('test').sort();
console.log(`tests on ${process.env.RELAYGATE_TEST_ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite'}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
await dropTestSchemas();
process.exit(result.status ?? 1);
