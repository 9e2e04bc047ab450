/**
 * The package as an operator gets it: `npm pack` from a copy of the sources (so `prepare`
 * builds dist/ from nothing), `npm install <tarball>` into a fresh project, then the
 * installed `relaygate` bin: --help, migrate, and a start that answers /healthz.
 *
 * The install resolves the package's own dependencies (never its devDependencies) through
 * npm, from its cache where it can (--prefer-offline). By default it runs with
 * --ignore-scripts and then reuses this checkout's compiled better-sqlite3 addon (same
 * version, same Node, checked): that native build (~60-130 s on 2 cores) is the only install
 * script among the runtime dependencies, and it is what would make this file slow.
 * RELAYGATE_TEST_PACKAGING_FULL=1 installs with every script, the addon compiled from source
 * as on an operator's machine; .ci/run sets it for one of its runs.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { splitSchema } from '../src/store/postgres/open.js';
import { gatewayEnv } from './support/gateway-process.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { testDatabaseUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FULL = process.env.RELAYGATE_TEST_PACKAGING_FULL === '1';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The tables in the schema of a PostgreSQL store URL, read without Relaygate (which would create them). */
async function tablesIn(databaseUrl: string): Promise<string[]> {
  const { connectionString, schema } = splitSchema(databaseUrl);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      'select table_name as name from information_schema.tables where table_schema = coalesce($1, current_schema())',
      [schema ?? null],
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

/** The caller's npm_* variables (set when the suite runs under `npm test`) would steer the inner npm. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !k.startsWith('RELAYGATE_')) env[k] = v;
  return env;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnv()): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

function mustRun(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const result = run(command, args, cwd, env);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe(`npm pack: the relaygate bin from a clean directory (${FULL ? 'full install, native build from source' : 'install without scripts, native addon reused'})`, () => {
  let tmp: TempDir;
  let tarball: string;
  let app: string;
  let bin: string;

  before(async () => {
    tmp = await tempDir('relaygate-pack-');
    // The sources as a clean clone has them: no dist/, so the tarball's dist/ can only come from `prepare`.
    const source = join(tmp.path, 'source');
    mkdirSync(source);
    const buildInputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src'];
    const shipped = pkg.files.filter((f) => f !== 'dist');
    const alwaysShipped = readdirSync(ROOT).filter((f) => /^(readme|license|licence)(\..*)?$/i.test(f));
    for (const entry of new Set([...buildInputs, ...shipped, ...alwaysShipped])) cpSync(join(ROOT, entry), join(source, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const out = join(tmp.path, 'out');
    mkdirSync(out);
    mustRun('npm', ['pack', '--pack-destination', out], source);
    const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    assert.equal(tarballs.length, 1, `npm pack made ${tarballs.join(', ') || 'nothing'}`);
    tarball = join(out, tarballs[0] as string);

    app = join(tmp.path, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'relaygate-operator', private: true }));
    const scripts = FULL ? [] : ['--ignore-scripts'];
    const install = mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...scripts, tarball], app);
    // Every supported Node installs the package quietly: no dependency may declare an engine it does not run on.
    assert.doesNotMatch(`${install.stdout}${install.stderr}`, /EBADENGINE/, 'the install printed an engine warning');
    if (!FULL) reuseSqliteAddon(app);
    bin = join(app, 'node_modules', '.bin', 'relaygate');
  });

  after(() => tmp?.cleanup());

  test('the tarball holds the bin, the built dist/ and package.json, and nothing of src/ or test/', () => {
    const listing = mustRun('tar', ['-tzf', tarball], tmp.path).stdout.split('\n').filter(Boolean);
    for (const path of ['package/package.json', 'package/bin/relaygate.js', 'package/dist/main.js', 'package/dist/store/sqlite/open.js']) {
      assert.ok(listing.includes(path), `${path} is in the tarball`);
    }
    assert.deepEqual(
      listing.filter((p) => !/^package\/(bin|dist)\//.test(p) && !/^package\/(package\.json|README\.md)$/.test(p)),
      [],
      'only bin/, dist/, package.json and README.md are shipped',
    );
    assert.deepEqual(
      listing.filter((p) => p.endsWith('.ts') || p.includes('/test/')),
      [],
    );
    assert.equal(pkg.bin.relaygate, 'bin/relaygate.js');
  });

  test('the install brings the runtime dependencies and none of the development ones', () => {
    const modules = join(app, 'node_modules');
    assert.ok(existsSync(join(modules, pkg.name, 'dist', 'main.js')));
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(modules, dep, 'package.json')), `dependency ${dep} is installed`);
    for (const dev of Object.keys(pkg.devDependencies)) assert.equal(existsSync(join(modules, dev)), false, `development dependency ${dev} is not installed`);
  });

  test('npx relaygate --help lists the commands', () => {
    const result = mustRun('npx', ['--no', '--', 'relaygate', '--help'], app);
    assert.match(result.stdout, /^Usage: relaygate /m);
    for (const command of ['start', 'migrate', 'domain', 'credential', 'queue']) assert.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'));
  });

  // The version is read from package.json beside dist/ (src/cli/version.ts): the installed layout must have it there.
  test('relaygate --version prints the version of the installed package', () => {
    const result = mustRun(bin, ['--version'], app);
    assert.equal(result.stdout, `${pkg.version}\n`);
  });

  test('relaygate migrate creates the store in an empty data directory, and runs again as a no-op', async () => {
    const dataDir = join(tmp.path, 'data-migrate');
    const databaseUrl = testDatabaseUrl(dataDir);
    const env = { ...npmEnv(), RELAYGATE_DATA_DIR: dataDir, ...(databaseUrl ? { RELAYGATE_DATABASE_URL: databaseUrl } : {}) };
    const first = mustRun(bin, ['migrate'], app, env);
    if (databaseUrl) assert.ok((await tablesIn(databaseUrl)).includes('messages'), `no tables after migrate:\n${first.stdout}${first.stderr}`);
    else assert.ok(existsSync(join(dataDir, 'relaygate.db')), `no relaygate.db after migrate:\n${first.stdout}${first.stderr}`);
    const second = mustRun(bin, ['migrate'], app, env);
    assert.match(second.stdout, /up to date/);
    // The store it made is the one the other commands read.
    const domains = mustRun(bin, ['domain', 'list', '--json'], app, env);
    assert.deepEqual(JSON.parse(domains.stdout), []);
  });

  test('relaygate start serves /healthz and stops cleanly on SIGTERM', async () => {
    const dataDir = join(tmp.path, 'data-start');
    const env = gatewayEnv(dataDir, {});
    for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
    const child = spawn(bin, ['start'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    try {
      const listeners = await waitFor(
        async () => {
          if (gone) throw new Error(`the installed gateway exited during start:\n${output}`);
          const text = await readFile(join(dataDir, 'listeners.json'), 'utf8').catch(() => '');
          const parsed = text ? (JSON.parse(text) as { pid: number; http: number }) : undefined;
          return parsed?.pid === child.pid ? parsed : undefined;
        },
        { what: 'the installed gateway to listen', timeoutMs: 60_000 },
      );
      const health = await fetch(`http://127.0.0.1:${listeners.http}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });
});

/**
 * Puts this checkout's compiled better-sqlite3 addon into the install made with
 * --ignore-scripts, after checking it is the very version the package resolved. On runtimes
 * with Node-API 10 the 13.x line (prebuilt, no install script) is used and this addon is not
 * loaded at all (src/store/sqlite/driver.ts).
 */
function reuseSqliteAddon(app: string): void {
  const ours = join(ROOT, 'node_modules', 'better-sqlite3');
  const theirs = join(app, 'node_modules', 'better-sqlite3');
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(version(theirs), version(ours), 'the installed better-sqlite3 is the version this checkout built');
  const addon = join('build', 'Release', 'better_sqlite3.node');
  if (!existsSync(join(ours, addon))) return;
  mkdirSync(join(theirs, 'build', 'Release'), { recursive: true });
  copyFileSync(join(ours, addon), join(theirs, addon));
}
