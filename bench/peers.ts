// --peers: the shared harness (shared/bench-peers) measures Postfix, Haraka and the Node
// baseline beside a gateway started here, in one run, so Relaygate's figures become ratios
// (absolute numbers drift by up to ~25% between runs on these machines). The harness starts
// its own smtp-sink on 2600; the gateway's smarthost points there (KIND queue).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT, runBounded } from './child.js';
import { type GatewayEntry, gatewayProblems, startGateway } from './gateway-process.js';
import { waitForQuiet } from './quiet.js';
import { markdownTable } from './report.js';

const HARNESS_SINK_PORT = 2600;
const PEERS = ['postfix', 'haraka', 'node-nodelay'];

export function peersDir(): string {
  return process.env.RELAYGATE_BENCH_PEERS_DIR ?? resolve(REPO_ROOT, '../shared/bench-peers');
}

interface MatrixCell {
  peer: string;
  scenario: string;
  runs: { rate: number; e2eRate: number | null }[];
  median: { rate: number | null; e2eRate: number | null; peerCores: number | null; cpuMsPerMsg: number | null; peakPss: number };
  errors: string;
}

export interface PeerComparison {
  table: string;
  resultsFile: string;
  cells: MatrixCell[];
  /** relaygate / peer, accepted and end-to-end, per TLS scenario. */
  ratios: { scenario: string; versus: string; accepted: number | null; e2e: number | null }[];
  ratioTable: string;
  gatewayProblems: { count: number; first: string[] };
  gatewayExit: string;
  exitCode: number | null;
}

export async function runPeers(o: { entry: GatewayEntry; workDir: string; quick: boolean; log: (text: string) => void }): Promise<PeerComparison> {
  const dir = peersDir();
  if (!existsSync(join(dir, 'run.sh'))) throw new Error(`no bench-peers harness at ${dir} (set RELAYGATE_BENCH_PEERS_DIR)`);
  process.stderr.write(`[bench] peers: bash ${dir}/setup.sh (idempotent; the first run installs packages)\n`);
  const setup = await runBounded('bash', [join(dir, 'setup.sh')], 20 * 60_000);
  if (setup !== 0) throw new Error(`setup.sh failed (exit ${setup})`);

  await waitForQuiet(o.log);
  const dataDir = join(o.workDir, 'peers', 'data');
  mkdirSync(dataDir, { recursive: true });
  const gateway = await startGateway({ entry: o.entry, dataDir, logPrefix: join(o.workDir, 'peers', 'gateway'), smarthostPort: HARNESS_SINK_PORT });
  const resultsDir = join(o.workDir, 'peers', 'results');
  mkdirSync(resultsDir, { recursive: true });
  let exitCode: number | null;
  let gatewayExit: string;
  try {
    const args = [join(dir, 'run.sh'), '--peers', PEERS.join(','), '--only', 'tls', '--runs', o.quick ? '1' : '3'];
    args.push('--extra', `relaygate,${gateway.smtpPort},${gateway.pid},queue,${gateway.user}:${gateway.pass}`);
    process.stderr.write(`[bench] peers: bash ${args.join(' ').replace(gateway.pass, '***')}\n`);
    exitCode = await runBounded('bash', args, 40 * 60_000, { ...process.env, RGBENCH_RESULTS_DIR: resultsDir });
  } finally {
    gatewayExit = await gateway.stop();
  }
  const json = readdirSync(resultsDir).filter((f) => f.endsWith('.json'));
  const file = json[0];
  if (!file) throw new Error(`run.sh wrote no results (exit ${exitCode}); its logs are under /var/tmp/relaygate-bench/logs`);
  const resultsFile = join(resultsDir, file);
  const cells = (JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: MatrixCell[] }).results;
  const md = readFileSync(resultsFile.replace(/\.json$/, '.md'), 'utf8');
  const ratios = ratiosOf(cells);
  return { table: md, resultsFile, cells, ratios, ratioTable: ratioTable(ratios), gatewayProblems: gatewayProblems(gateway), gatewayExit, exitCode };
}

function ratiosOf(cells: MatrixCell[]): PeerComparison['ratios'] {
  const out: PeerComparison['ratios'] = [];
  const div = (a: number | null | undefined, b: number | null | undefined) => (a != null && b ? a / b : null);
  for (const scenario of [...new Set(cells.map((c) => c.scenario))]) {
    const ours = cells.find((c) => c.peer === 'relaygate' && c.scenario === scenario);
    for (const versus of PEERS) {
      const theirs = cells.find((c) => c.peer === versus && c.scenario === scenario);
      if (!ours || !theirs) continue;
      out.push({ scenario, versus, accepted: div(ours.median.rate, theirs.median.rate), e2e: div(ours.median.e2eRate, theirs.median.e2eRate) });
    }
  }
  return out;
}

function ratioTable(ratios: PeerComparison['ratios']): string {
  const f = (x: number | null) => (x == null ? 'n/a' : x.toFixed(2));
  return markdownTable(
    ['scenario', 'relaygate / peer', 'accepted msg/s ratio', 'e2e msg/s ratio'],
    ratios.map((r) => [r.scenario, `relaygate / ${r.versus}`, f(r.accepted), f(r.e2e)]),
  );
}
