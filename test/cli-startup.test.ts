/**
 * `relaygate --version`, and what a command loads to run: --version alone is answered before
 * commander loads (src/main.ts); the commands are declared without their implementations,
 * which each verb imports when it runs (src/cli/context.ts), so that --help does not load the
 * store, the services or the gateway. What a process
 * loads is read from a module hook that logs each module the ESM loader loads: the entry of
 * every package the code imports goes through it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gatewayEnv } from './support/gateway-process.js';
import { ROOT, relaygateArgv } from './support/relaygate-command.js';
import { tempDir } from './support/temp-dir.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** Packages the gateway needs and a quick command must not load (each ~50-300 ms to import here). */
const GATEWAY_PACKAGES = ['fastify', 'typebox', 'smtp-server', 'mailauth', 'undici', 'nodemailer', 'pg'];
const STORE_PACKAGES = ['kysely', 'better-sqlite3', 'zod', 'yaml'];

/**
 * `relaygate <args>` on a fresh data directory (the embedded store, whatever the engine under
 * test: it is what a quick command is measured on), with the packages it loaded, by name.
 */
async function runLogged(args: string[]): Promise<{ stdout: string; stderr: string; modules: string[]; packages: Set<string> }> {
  const dir = await tempDir('relaygate-startup-');
  try {
    const log = join(dir.path, 'modules.log');
    const hooks = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }`;
    const recorder = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    const argv = ['--import', `data:text/javascript,${encodeURIComponent(recorder)}`, ...relaygateArgv(), ...args];
    const env = gatewayEnv(join(dir.path, 'data'));
    delete env.RELAYGATE_DATABASE_URL;
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: ROOT, env, encoding: 'utf8' });
    const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const packages = new Set(modules.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
    return { stdout, stderr, modules, packages };
  } finally {
    await dir.cleanup();
  }
}

for (const flag of ['--version', '-V']) {
  test(`relaygate ${flag} prints the version in package.json and exits 0, loading neither commander, the store nor the gateway`, {
    timeout: 120_000,
  }, async () => {
    const { stdout, stderr, modules, packages } = await runLogged([flag]);
    assert.equal(stdout, `${pkg.version}\n`);
    assert.equal(stderr, '');
    assert.ok(
      modules.some((url) => /\/(dist|src)\/main\.(js|ts)$/.test(url)),
      `the log saw the CLI load: ${modules.join(', ')}`,
    );
    assert.deepEqual(
      ['commander', ...GATEWAY_PACKAGES, ...STORE_PACKAGES].filter((p) => packages.has(p)),
      [],
    );
  });
}

test("--version among other arguments is commander's, and prints the same", { timeout: 120_000 }, async () => {
  const { stdout, stderr, packages } = await runLogged(['--config', 'none.yaml', '--version']);
  assert.equal(stdout, `${pkg.version}\n`);
  assert.equal(stderr, '');
  assert.ok(packages.has('commander'), `commander answered: ${[...packages].join(', ')}`);
});

/** The command modules (src/cli/commands/) a process loaded, by name. */
const commandModules = (modules: string[]) => modules.flatMap((url) => /\/cli\/commands\/([^/]+)\.(?:js|ts)$/.exec(url)?.[1] ?? []).sort();

/** Whether a module of this path under src/ (dist/ when built) was loaded. */
const loadedModule = (modules: string[], path: string) => modules.some((url) => new RegExp(`/(?:src|dist)/${path}\\.(?:js|ts)$`).test(url));

test("relaygate --help loads neither a command's implementation, the store nor the gateway", { timeout: 120_000 }, async () => {
  const { stdout, modules, packages } = await runLogged(['--help']);
  assert.match(stdout, /^ {2}-V, --version +print the version of Relaygate$/m);
  assert.match(stdout, /^ {2}queue \[command\] +inspect and act on the delivery queue$/m);
  assert.deepEqual(commandModules(modules), []);
  assert.deepEqual(
    [...GATEWAY_PACKAGES, ...STORE_PACKAGES].filter((p) => packages.has(p)),
    [],
  );
});

test('relaygate queue list on the embedded store loads the store and its own command, and not pg, the services, the spool or the gateway', {
  timeout: 120_000,
}, async () => {
  const { stdout, modules, packages } = await runLogged(['queue', 'list']);
  assert.equal(stdout, '(none)\n');
  assert.ok(packages.has('kysely'), `the log saw the store load: ${[...packages].join(', ')}`);
  assert.deepEqual(commandModules(modules), ['queue']);
  assert.deepEqual(
    ['app/admin-services', 'app/open-spool', 'app/gateway'].filter((path) => loadedModule(modules, path)),
    [],
  );
  // yaml parses a --config file, and there is none.
  assert.deepEqual(
    [...GATEWAY_PACKAGES, 'yaml'].filter((p) => packages.has(p)),
    [],
  );
});
