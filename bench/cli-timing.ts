// The CLI's own cost (issue 21: `relaygate --version` <= 0.3 s, `relaygate queue list` <= 0.6 s,
// each well under 100 MB): wall time from spawn to exit and the process's peak RSS, median of
// RUNS runs, on a data dir whose SQLite store holds a few deferred messages (queued through a
// gateway whose smarthost does not answer, as an operator's queue looks during an outage).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from './child.js';
import { type GatewayEntry, startGateway } from './gateway-process.js';
import { markdownTable } from './report.js';
import { runLoadgen } from './scenario.js';

const RUNS = 5;
const QUEUED = 5;

/** The commands measured, as typed after `relaygate`. */
const COMMANDS: string[][] = [['--version'], ['queue', 'list'], ['--help']];

export interface CliTiming {
  command: string;
  runs: number;
  wallMs: { median: number; min: number; max: number };
  maxRssMB: { median: number; max: number };
}

export async function runCliTimings(o: { entry: GatewayEntry; workDir: string; log: (text: string) => void }): Promise<CliTiming[]> {
  const dataDir = join(o.workDir, 'cli-data');
  await queueSomeMail(o.entry, dataDir, join(o.workDir, 'cli-gateway'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RELAYGATE_')) env[k] = v;
  env.RELAYGATE_DATA_DIR = dataDir;
  const listed = await runOnce(o.entry, ['queue', 'list'], env, join(o.workDir, 'cli-rss'));
  const rows = listed.stdout.split('\n').filter((line) => /^[0-9A-Z]{26}\s/.test(line)).length;
  if (rows < QUEUED) throw new Error(`queue list showed ${rows} messages, ${QUEUED} were queued: ${listed.stdout.slice(0, 300)}`);
  const timings: CliTiming[] = [];
  for (const command of COMMANDS) {
    const samples: { wallMs: number; maxRssMB: number }[] = [];
    for (let i = 0; i < RUNS; i++) samples.push(await runOnce(o.entry, command, env, join(o.workDir, 'cli-rss')));
    const wall = samples.map((s) => s.wallMs).sort((a, b) => a - b);
    const rss = samples.map((s) => s.maxRssMB).sort((a, b) => a - b);
    timings.push({
      command: `relaygate ${command.join(' ')}`,
      runs: RUNS,
      wallMs: { median: median(wall), min: wall[0] ?? Number.NaN, max: wall.at(-1) ?? Number.NaN },
      maxRssMB: { median: median(rss), max: rss.at(-1) ?? Number.NaN },
    });
    o.log(`cli: relaygate ${command.join(' ')}: median ${median(wall).toFixed(0)} ms, ${median(rss).toFixed(0)} MB peak RSS`);
  }
  rmSync(dataDir, { recursive: true, force: true });
  return timings;
}

export function cliTable(timings: CliTiming[]): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  return markdownTable(
    ['command', 'wall ms (median, min-max)', 'peak RSS MB (median, max)'],
    timings.map((t) => [t.command, `${f(t.wallMs.median)} (${f(t.wallMs.min)}-${f(t.wallMs.max)})`, `${f(t.maxRssMB.median)} (${f(t.maxRssMB.max)})`]),
  );
}

/** A gateway on dataDir takes QUEUED messages it cannot deliver (nothing listens on its smarthost port), then stops. */
async function queueSomeMail(entry: GatewayEntry, dataDir: string, logPrefix: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const gateway = await startGateway({ entry, dataDir, logPrefix, smarthostPort: await freePort() });
  try {
    const sc = { id: 'cli-queue', label: 'CLI queue', concurrency: 1, size: 2048, count: QUEUED, maxSeconds: 30, hardSeconds: 40 };
    const result = await runLoadgen(sc, [gateway.smtpPort], `${gateway.user}:${gateway.pass}`, { ready() {}, result() {} });
    if (result.sent < QUEUED) throw new Error(`the gateway accepted ${result.sent} of ${QUEUED} messages for the CLI's queue`);
  } finally {
    await gateway.stop();
  }
}

/**
 * One run, timed from spawn to exit. The peak RSS is the child's own getrusage (ru_maxrss),
 * written at exit by a one-line --import: Node reports no child's rusage, and /proc is gone
 * once it has exited.
 */
function runOnce(
  entry: GatewayEntry,
  command: string[],
  env: NodeJS.ProcessEnv,
  rssFile: string,
): Promise<{ wallMs: number; maxRssMB: number; stdout: string }> {
  const hook = `import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));`;
  const args = ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, ...entry.args, ...command];
  return new Promise((resolve, reject) => {
    rmSync(rssFile, { force: true });
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`relaygate ${command.join(' ')} exited ${code}: ${stderr.trim().slice(0, 500)}`));
      resolve({ wallMs, maxRssMB: Number(readFileSync(rssFile, 'utf8')) / 1024, stdout });
    });
  });
}

function median(sorted: number[]): number {
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
