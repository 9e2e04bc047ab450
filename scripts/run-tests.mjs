// Runs every test file under test/ with node's test runner. Node 20 does not expand globs
// given to --test, so the files are listed here. RELAYGATE_TEST_ENGINE=postgres runs the
// gateways the tests start on PostgreSQL (RELAYGATE_TEST_DATABASE_URL), one schema each;
// those schemas are dropped after the run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

// A hung test fails instead of hanging CI. Node 20 applies --test-timeout to each test file as
// a whole, Node 24 to each test. 20 minutes is seven times the slowest suite of a full run on
// a 2-core machine (webhook-urls.test.ts, 171 s; the packaging test's build from source adds
// ~2.5 min) and above the longest timeout any test sets itself (15 min), so only a hang gets there.
const TEST_TIMEOUT_MS = 20 * 60_000;

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
// The CLI and gateway children run the compiled code (test/support/relaygate-command.ts):
// built here, so it is always the code under test.
if (process.env.RELAYGATE_TEST_FROM_SOURCE !== '1') {
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (built.status !== 0) {
    console.error('the build failed (npm run build); RELAYGATE_TEST_FROM_SOURCE=1 runs the children from src/ under tsx instead');
    process.exit(built.status ?? 1);
  }
  process.env.RELAYGATE_TEST_BUILT = '1';
}
const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles('test').sort();
console.log(`tests on ${process.env.RELAYGATE_TEST_ENGINE === 'postgres' ? 'PostgreSQL' : 'SQLite'}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
await dropTestSchemas();
process.exit(result.status ?? 1);
