// npm run bench [-- --quick] [--peers] [--sink smtp-sink|node] [--gateway auto|dist|build|src] [--only REGEX] [--profile] [--keep]
//
// Relaygate's submission path under load, on 127.0.0.1 only: for each scenario a fresh gateway
// (child process, fresh data dir) relays to a local sink while bench/loadgen.ts submits over
// STARTTLS + AUTH PLAIN, one connection per message. Prints accepted and delivered msg/s,
// acceptance latency, the gateway's peak RSS and CPU; writes bench/results/<UTC>.json.
// --peers then runs the shared Postfix/Haraka comparison against another fresh gateway.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopChildrenOnSignal } from './child.js';
import { codeVersion } from './code-version.js';
import { type EntryChoice, type GatewayEntry, gatewayEntry } from './gateway-process.js';
import { type PeerComparison, runPeers } from './peers.js';
import { waitForQuiet } from './quiet.js';
import { scenarioDetails, scenarioTable, writeResults } from './report.js';
import { runScenario, type ScenarioResult } from './scenario.js';
import { FULL, QUICK } from './scenarios.js';
import { defaultSinkKind, type SinkKind, startSink } from './sink.js';

const USAGE = 'usage: npm run bench -- [--quick] [--peers] [--sink smtp-sink|node] [--gateway auto|dist|build|src] [--only REGEX] [--profile] [--keep]';
let o: { quick: boolean; peers: boolean; sink: string | undefined; gateway: string; only: string; profile: boolean; keep: boolean; help: boolean };
try {
  o = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      sink: { type: 'string' },
      gateway: { type: 'string', default: 'auto' }, // auto: dist/ if not older than src/, else build src/ into the work dir
      only: { type: 'string', default: '.' }, // scenario ids, e.g. --only c20
      profile: { type: 'boolean', default: false }, // gateway under --cpu-prof (slower; for finding hot spots, not for figures)
      keep: { type: 'boolean', default: false }, // keep the work dir: data dirs, logs, profiles
      help: { type: 'boolean', default: false },
    },
  }).values as typeof o;
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (o.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if ((o.sink !== undefined && o.sink !== 'smtp-sink' && o.sink !== 'node') || !['auto', 'dist', 'build', 'src'].includes(o.gateway)) {
  process.stderr.write(`--sink must be smtp-sink or node; --gateway auto, dist, build or src\n${USAGE}\n`);
  process.exit(2);
}

stopChildrenOnSignal();
const started = new Date();
const sinkKind: SinkKind = (o.sink as SinkKind | undefined) ?? defaultSinkKind();
const workDir = mkdtempSync(join(tmpdir(), 'relaygate-bench-'));
const entry: GatewayEntry = gatewayEntry(o.gateway as EntryChoice, workDir);
const ENTRY_TEXT = { dist: 'dist/ (compiled)', build: 'src/ compiled by the bench (dist/ is older than src/)', src: 'src/ through tsx' };
const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);
log(`gateway: ${ENTRY_TEXT[entry.kind]}; sink: ${sinkKind}; work dir ${workDir}`);

const results: ScenarioResult[] = [];
const failures: { id: string; error: string }[] = [];
const only = new RegExp(o.only);
const sink = await startSink(sinkKind);
try {
  for (const sc of (o.quick ? QUICK : FULL).filter((s) => only.test(s.id))) {
    await waitForQuiet(log);
    const t = Date.now();
    log(`${sc.id}: ${sc.label}, up to ${sc.count} messages / ${sc.maxSeconds}s ...`);
    let r: ScenarioResult;
    try {
      r = await runScenario(sc, { sink, entry, workDir, keepData: o.keep, profile: o.profile });
    } catch (err) {
      // one broken scenario (say, a gateway that would not start) must not hide the others
      failures.push({ id: sc.id, error: (err as Error).message });
      log(`${sc.id}: FAILED: ${(err as Error).message}`);
      continue;
    }
    results.push(r);
    log(
      `${sc.id}: ${r.sent} sent, ${r.failed} failed, ${r.acceptedPerSec.toFixed(1)} accepted/s, ${r.deliveredPerSec.toFixed(1)} delivered/s, ` +
        `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, peak RSS ${r.vmHwmMB.toFixed(0)} MB (${((Date.now() - t) / 1000).toFixed(1)}s)`,
    );
  }
} finally {
  await sink.stop();
}

let peers: PeerComparison | undefined;
let peersError: string | undefined;
if (o.peers) {
  try {
    peers = await runPeers({ entry, workDir, quick: o.quick, log });
  } catch (err) {
    peersError = (err as Error).message;
    log(`peers: ${peersError}`);
  }
}

const seconds = (Date.now() - started.getTime()) / 1000;
const meta = {
  date: started.toISOString(),
  durationSeconds: Math.round(seconds),
  quick: o.quick,
  node: process.version,
  cpus: cpus().length,
  kernel: release(),
  gateway: entry.kind,
  code: codeVersion(),
  profiled: o.profile,
  sink: sinkKind,
  // fsync cost depends on it: tmpfs would make the durable queue look free
  dataFs: execFileSync('findmnt', ['-no', 'FSTYPE', '--target', workDir]).toString().trim(),
  workDir,
};
const file = writeResults({ meta, scenarios: results, failures, peers: peers ?? (peersError ? { error: peersError } : undefined) }, started);

const dirty = meta.code.dirty.length ? ` + uncommitted ${meta.code.dirty.join(' ')}` : '';
const out: string[] = [
  '',
  `Relaygate bench, ${meta.date}, ${meta.cpus} CPUs, node ${meta.node}, gateway ${meta.code.commit}${dirty}, run from ${ENTRY_TEXT[entry.kind]}, sink ${meta.sink}, data on ${meta.dataFs}`,
  '',
];
if (results.length) out.push(scenarioTable(results), '', scenarioDetails(results), '');
if (peers) {
  out.push('Peer comparison (shared/bench-peers, this run):', peers.table.trim(), '', 'Ratios (median of runs):', peers.ratioTable, '');
  for (const e of peers.gatewayProblems.first) out.push(`  gateway log: ${e}`);
}
for (const f of failures) out.push(`Scenario ${f.id} failed: ${f.error}`);
if (peersError) out.push(`Peer comparison failed: ${peersError}`, '');
out.push(`Results: ${file} (took ${seconds.toFixed(0)}s)`);
process.stdout.write(`${out.join('\n')}\n`);
if (o.keep || o.profile || failures.length) process.stdout.write(`Logs${o.profile ? ' and profiles' : ''} kept in ${workDir}\n`);
else rmSync(workDir, { recursive: true, force: true });
process.exitCode = failures.length || peersError ? 1 : 0;
