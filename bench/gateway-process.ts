// Starts the gateway as a child process the way an operator would (the CLI's `start`, configured
// by environment), with a fresh data directory, and creates its submission credential.
import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exited, REPO_ROOT, sleep, startChild, stopChild } from './child.js';

const execFileAsync = promisify(execFile);

export interface GatewayEntry {
  /**
   * 'dist': node bin/relaygate.js (the repo's compiled dist/); 'build': src/ compiled by the bench
   * into its work dir; 'src': node --import tsx src/main.ts (tsx's loader thread adds ~60 MB RSS).
   */
  kind: 'dist' | 'build' | 'src';
  args: string[];
}

export type EntryChoice = 'auto' | GatewayEntry['kind'];

/**
 * The compiled CLI when dist/ is at least as new as every source file; otherwise src/ compiled
 * afresh into the work dir: the bench never writes dist/ (not its to write), never measures
 * stale code, and measures compiled code as operators run it.
 */
export function gatewayEntry(choice: EntryChoice, workDir: string): GatewayEntry {
  const built = join(REPO_ROOT, 'dist/main.js');
  const fresh = existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(REPO_ROOT, 'src'));
  if (choice === 'dist' || (choice === 'auto' && fresh)) return { kind: 'dist', args: [join(REPO_ROOT, 'bin/relaygate.js')] };
  if (choice === 'src') return { kind: 'src', args: ['--import', 'tsx', join(REPO_ROOT, 'src/main.ts')] };
  return { kind: 'build', args: [compileInto(join(workDir, 'build'))] };
}

/** tsc with the project's build config, out of tree; node_modules and "type": "module" are linked in. */
function compileInto(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  // tsc still emits when there are type errors (src/ mid-change): measure that, but say so.
  if (!existsSync(join(dir, 'dist/main.js'))) throw new Error(`compiling src/ failed (tsc exit ${result.status})`);
  if (result.status !== 0) process.stderr.write(`[bench] tsc reported errors in src/ (exit ${result.status}); measuring what it emitted\n`);
  // The CLI reads its version from the package.json beside dist/ (src/cli/version.ts).
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'module', version })}\n`);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist/main.js');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export interface GatewayProcess {
  pid: number;
  smtpPort: number;
  httpPort: number;
  user: string;
  pass: string;
  stdoutLog: string;
  stderrLog: string;
  /** Whether it is still running (it must be, until stop()). */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after the grace period; resolves with how it ended. */
  stop(): Promise<string>;
}

export interface GatewayOptions {
  entry: GatewayEntry;
  dataDir: string;
  logPrefix: string;
  smarthostPort: number;
  /** When set, the gateway runs with --cpu-prof and writes its profile here on exit. */
  profileDir?: string | undefined;
  /** `secure`: example.com is routed secure (relaygate route add example.com secure). */
  route?: 'secure' | undefined;
  /**
   * Several gateways on one PostgreSQL store (--instances): the URL (with its schema) and the
   * keys every instance must share, so that a credential made through one works on all.
   */
  shared?: SharedStore | undefined;
  /** smtp.workers: SMTP acceptor processes sharing the listeners; 1 (one process, as every run before it) unless given. */
  workers?: number | undefined;
  /** Already made through another instance on the same store: skip the domain and credential set-up. */
  credential?: { user: string; pass: string } | undefined;
}

export interface SharedStore {
  databaseUrl: string;
  masterKey: string;
  credentialHashKey: string;
}

export async function startGateway(o: GatewayOptions): Promise<GatewayProcess> {
  const env = gatewayEnv(o);
  const stdoutLog = `${o.logPrefix}.stdout.log`;
  const stderrLog = `${o.logPrefix}.stderr.log`;
  // Straight into files: the gateway's output never passes through the runner's event loop.
  const out = openSync(stdoutLog, 'w');
  const errOut = openSync(stderrLog, 'w');
  const profile = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const child = startChild(process.execPath, [...profile, ...o.entry.args, 'start'], { cwd: REPO_ROOT, env, stdio: ['ignore', out, errOut] });
  closeSync(out);
  closeSync(errOut);
  try {
    const listeners = await waitForListeners(o.dataDir, child, stderrLog);
    if (listeners.pid !== child.pid) throw new Error(`listeners.json names pid ${listeners.pid}, but the child is ${child.pid}`);
    const credential = o.credential ?? (await provision(o, env));
    return {
      pid: listeners.pid,
      smtpPort: listeners.smtp,
      httpPort: listeners.http,
      user: credential.user,
      pass: credential.pass,
      stdoutLog,
      stderrLog,
      alive: () => child.exitCode === null && child.signalCode === null,
      async stop() {
        const { code, signal } = await stopChild(child, 20_000);
        return signal ? `killed by ${signal}` : `exit ${code}`;
      },
    };
  } catch (err) {
    await stopChild(child, 5000);
    throw err;
  }
}

/** The operator's set-up, through the CLI against the gateway's store: sender domain, route, submission credential. */
async function provision(o: GatewayOptions, env: NodeJS.ProcessEnv): Promise<{ user: string; pass: string }> {
  // The load generator sends as bench@example.com: claim the domain as an operator would,
  // verified by hand (no DNS here), or every message is refused 550 5.7.1.
  for (const verb of [
    ['domain', 'add', 'example.com'],
    ['domain', 'verify', 'example.com', '--force'],
    ...(o.route === 'secure' ? [['route', 'add', 'example.com', 'secure']] : []),
  ]) {
    await execFileAsync(process.execPath, [...o.entry.args, ...verb, '--json'], { cwd: REPO_ROOT, env, timeout: 30_000 });
  }
  const { stdout } = await execFileAsync(
    process.execPath,
    [...o.entry.args, 'credential', 'create', '--kind', 'submission', '--description', 'bench', '--json'],
    { cwd: REPO_ROOT, env, timeout: 30_000 },
  );
  const credential = JSON.parse(stdout) as { username: string; secret: string };
  return { user: credential.username, pass: credential.secret };
}

function gatewayEnv(o: GatewayOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Any RELAYGATE_* of the caller's shell would change what is measured (or be refused as unknown).
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RELAYGATE_')) env[k] = v;
  return {
    ...env,
    RELAYGATE_DATA_DIR: o.dataDir,
    RELAYGATE_HOSTNAME: 'relaygate.bench.invalid',
    RELAYGATE_SMTP_PORT: '0',
    RELAYGATE_SMTPS_PORT: '0',
    RELAYGATE_SMTP_RELAY_PORT: '0',
    RELAYGATE_HTTP_PORT: '0',
    RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${o.smarthostPort}?tls=none`,
    RELAYGATE_LOG_LEVEL: 'warn',
    // 25 MiB messages plus our Received header; stated here so the bench does not lean on the default.
    RELAYGATE_SMTP_MAX_MESSAGE_BYTES: String(40 * 1024 * 1024),
    // Short, so that stopping between scenarios does not wait on stragglers for the default 30 s.
    RELAYGATE_SHUTDOWN_TIMEOUT: '5s',
    // Every load generator session comes from 127.0.0.1, up to 50 at once.
    RELAYGATE_SMTP_MAX_CONNECTIONS_PER_IP: '0',
    // Stated, not the default (the number of CPUs): the scenarios say how many they measure.
    RELAYGATE_SMTP_WORKERS: String(o.workers ?? 1),
    ...(o.shared
      ? {
          RELAYGATE_DATABASE_URL: o.shared.databaseUrl,
          RELAYGATE_MASTER_KEY: o.shared.masterKey,
          RELAYGATE_CREDENTIAL_HASH_KEY: o.shared.credentialHashKey,
        }
      : {}),
  };
}

interface Listeners {
  pid: number;
  host: string;
  smtp: number;
  smtps: number;
  http: number;
}

async function waitForListeners(dataDir: string, child: ChildProcess, stderrLog: string): Promise<Listeners> {
  const path = join(dataDir, 'listeners.json');
  const died = exited(child);
  let dead = false;
  void died.then(() => {
    dead = true;
  });
  for (let i = 0; i < 600; i++) {
    if (dead) throw new Error(`the gateway exited during start-up: ${readFileSync(stderrLog, 'utf8').trim().slice(0, 1000)}`);
    if (existsSync(path)) {
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as Listeners;
      } catch {
        // caught half-written; read again
      }
    }
    await sleep(50);
  }
  throw new Error('the gateway did not write listeners.json within 30 s');
}

/** Warnings and errors the gateway logged (pino JSON lines at level >= 40), and anything on stderr. */
export function gatewayProblems(g: Pick<GatewayProcess, 'stdoutLog' | 'stderrLog'>): { count: number; first: string[] } {
  const first: string[] = [];
  let count = 0;
  const note = (text: string) => {
    count++;
    if (first.length < 5) first.push(text.slice(0, 400));
  };
  for (const line of readFileSync(g.stdoutLog, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue; // the start-up banner
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; reply?: string; err?: { message?: string } };
      if ((entry.level ?? 0) >= 40) note([entry.msg, entry.reply, entry.err?.message].filter(Boolean).join(': '));
    } catch {
      note(line);
    }
  }
  for (const line of readFileSync(g.stderrLog, 'utf8').split('\n')) {
    if (line.trim() === '' || /SIGTERM received/.test(line)) continue;
    note(`stderr: ${line}`);
  }
  return { count, first };
}

/** What the gateway's embedded store has written so far (its relaygate_store_written_bytes_total); undefined on PostgreSQL or when /metrics does not tell. */
export async function storeWrittenBytes(gateway: Pick<GatewayProcess, 'httpPort'>): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
    const line = /^relaygate_store_written_bytes_total (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
    return line?.[1] === undefined ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}
