import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../../src/app/open-store.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { newId } from '../../src/lib/ids.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import type { Db } from '../../src/store/tables.js';
import { ROOT, relaygateArgv } from './relaygate-command.js';
import { testDatabaseUrl } from './test-database.js';
import { waitFor } from './wait-for.js';

/** Environment for a gateway child on ephemeral loopback ports, nothing inherited from RELAYGATE_* of the caller. */
export function gatewayEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RELAYGATE_')) env[k] = v;
  return {
    ...env,
    RELAYGATE_DATA_DIR: dataDir,
    ...(testDatabaseUrl(dataDir) ? { RELAYGATE_DATABASE_URL: testDatabaseUrl(dataDir) } : {}),
    RELAYGATE_SMTP_PORT: '0',
    RELAYGATE_SMTPS_PORT: '0',
    RELAYGATE_SMTP_RELAY_PORT: '0',
    RELAYGATE_HTTP_PORT: '0',
    RELAYGATE_HOSTNAME: 'gateway.test',
    // No direct MX delivery through the system resolver (see gateway.ts).
    RELAYGATE_DELIVERY_DIRECT: 'false',
    RELAYGATE_SANDBOX: 'false',
    // One process, as every test was written for; test/smtp-workers.test.ts asks for more.
    RELAYGATE_SMTP_WORKERS: '1',
    ...extra,
  };
}

/** The sender domains the suite's messages use (support@example.com, app@example.test, …). */
export const TEST_DOMAINS = ['example.com', 'example.test'];

/**
 * Claims a domain the way the domain service leaves it, written directly: that service is
 * not what these tests are about. `verified_by` says who verified it.
 */
export async function insertDomain(
  db: Db,
  name: string,
  { organisationId = DEFAULT_ORGANISATION_ID, status = 'verified' }: { organisationId?: string; status?: 'verified' | 'pending' } = {},
): Promise<string> {
  const id = newId('dom');
  const now = Date.now();
  await db
    .insertInto('domains')
    .values({
      id,
      organisation_id: organisationId,
      name,
      status,
      verification_token: randomBytes(16).toString('hex'),
      created_at: now,
      verified_at: status === 'verified' ? now : null,
      verified_by: status === 'verified' ? 'test-harness' : null,
      last_check_at: null,
      last_check_result: null,
      connector_state: 'connected',
      connector_changed_at: null,
      direct_delivery: 0,
      direct_delivery_changed_at: null,
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return id;
}

/**
 * What an operator does before an application may send: claim and verify the sender domains
 * (forced, no DNS) for the default organisation. Safe to repeat.
 */
export async function verifyTestDomains(config: Config): Promise<void> {
  const store = await openStore(config);
  try {
    for (const name of TEST_DOMAINS) await insertDomain(store.db, name);
  } finally {
    await store.close();
  }
}

/** verifyTestDomains for the data directory of a gateway child's environment (see gatewayEnv). */
export function verifyTestDomainsIn(env: NodeJS.ProcessEnv): Promise<void> {
  return verifyTestDomains(loadConfig({ env, overrides: {} }));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Killed (SIGKILL) after this long: `code` is then null and `timedOut` true. */
  timeoutMs?: number;
  /** Run as this user and group (a test running as root proving a permission problem). */
  uid?: number;
  gid?: number;
  /** Each chunk of standard output as it comes, for a test that acts while the command runs. */
  onStdout?: (chunk: string) => void;
  /** Written to standard input (a password for --…-stdin); otherwise standard input is closed. */
  input?: string;
}

/** Runs `relaygate ARGS` from the sources, as `npx relaygate` would from the build. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, options: CliOptions = {}): Promise<CliResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const { timeoutMs, onStdout, input, ...user } = options;
    const child = spawn(process.execPath, [...relaygateArgv(), ...args], {
      cwd: ROOT,
      env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...user,
    });
    child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(d.toString());
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  ports: { smtp: number; smtps: number; http: number };
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  exited: Promise<number | string>;
}

export interface StartOptions {
  /**
   * Starts it under RLIMIT_FSIZE (bash's `ulimit -f`, then exec, so the pid stays the
   * gateway's): a write past the limit fails with EFBIG, since Node ignores SIGXFSZ.
   */
  fileSizeLimitBytes?: number;
  /** Starts it under this umask (e.g. '000'), the way a careless service manager might. */
  umask?: string;
  /** How long spawnGateway waits for the listeners; 90 s unless given. */
  startTimeoutMs?: number;
}

/** `relaygate start` as a child process, returned at once: for a start that is expected to refuse. */
export function spawnStart(env: NodeJS.ProcessEnv, options: StartOptions = {}): Omit<GatewayProcess, 'ports'> {
  const argv = [process.execPath, ...relaygateArgv(), 'start'];
  const limit = options.fileSizeLimitBytes;
  const shell = [...(limit === undefined ? [] : [`ulimit -f ${Math.ceil(limit / 1024)}`]), ...(options.umask === undefined ? [] : [`umask ${options.umask}`])];
  const [command, ...args] = shell.length === 0 ? argv : ['bash', '-c', `${shell.join(' && ')} && exec "$@"`, 'relaygate', ...argv];
  const child = spawn(command as string, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, output: () => output, exited };
}

/** `relaygate start` as a child process (see spawnStart); resolves once it has written its listeners file. */
export async function spawnGateway(env: NodeJS.ProcessEnv, options: StartOptions = {}): Promise<GatewayProcess> {
  const dataDir = env.RELAYGATE_DATA_DIR as string;
  const { child, output, exited } = spawnStart(env, options);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  // A gateway that exits during start fails the wait at once, with what it said.
  const died = exited.then((code) => Promise.reject(new Error(`gateway exited (${code}) during start:\n${output()}`)));
  died.catch(() => undefined);
  const started = waitFor(
    async () => {
      if (gone) return undefined;
      const text = await readFile(join(dataDir, 'listeners.json'), 'utf8').catch(() => '');
      const parsed = text ? (JSON.parse(text) as { pid: number; smtp: number; smtps: number; http: number }) : undefined;
      return parsed?.pid === child.pid ? parsed : undefined;
    },
    // A start has taken over 30 s on a loaded 2-core machine running several suites at once.
    { what: 'the gateway to listen', timeoutMs: options.startTimeoutMs ?? 90_000 },
  );
  const listeners = await Promise.race([started, died]);
  return { child, ports: { smtp: listeners.smtp, smtps: listeners.smtps, http: listeners.http }, output, exited };
}
