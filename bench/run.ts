// npm run bench [-- --quick] [--peers] [--sink smtp-sink|node] [--gateway auto|dist|build|src] [--only REGEX] [--profile] [--keep]
// npm run bench -- --instances N [--database-url URL] [--quick] [--only REGEX] [--sink ...] [--gateway ...] [--keep]
//
// Relaygate's submission path under load, on 127.0.0.1 only: for each scenario a fresh gateway
// (child process, fresh data dir) relays to a local sink while bench/loadgen.ts submits over
// STARTTLS + AUTH PLAIN, one connection per message. Prints accepted and delivered msg/s,
// acceptance latency, the gateway's peak RSS and CPU, and the CLI's wall time and peak RSS
// (bench/cli-timing.ts; --only cli for that alone); writes bench/results/<UTC>.json.
// --peers then runs the shared Postfix/Haraka comparison against another fresh gateway.
// --instances N instead runs the scale-out series (bench/instances.ts): 1, 2, ... N gateways
// sharing one PostgreSQL schema, one scenario shape (c20-10k unless --only picks another).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDatabaseUrl, redactUrl, type ServerFacts, serverFacts } from './bench-schema.js';
import { stopChildrenOnSignal } from './child.js';
import { type CliTiming, cliTable, runCliTimings } from './cli-timing.js';
import { codeVersion } from './code-version.js';
import { type EntryChoice, type GatewayEntry, gatewayEntry } from './gateway-process.js';
import { type InstancesResult, runInstances } from './instances.js';
import { type PeerComparison, runPeers } from './peers.js';
import { waitForQuiet } from './quiet.js';
import { instancesDetails, instancesTable, scenarioDetails, scenarioTable, writeResults } from './report.js';
import { runScenario, type ScenarioResult } from './scenario.js';
import { FULL, QUICK } from './scenarios.js';
import { defaultSinkKind, type SinkKind, startSink } from './sink.js';

const USAGE =
  'usage: npm run bench -- [--quick] [--peers] [--sink smtp-sink|node] [--gateway auto|dist|build|src] [--only REGEX] [--profile] [--keep]\n' +
  '       npm run bench -- --instances N [--database-url URL] [--quick] [--only REGEX] [--sink smtp-sink|node] [--gateway auto|dist|build|src] [--keep]';
let o: {
  quick: boolean;
  peers: boolean;
  sink: string | undefined;
  gateway: string;
  only: string | undefined;
  profile: boolean;
  keep: boolean;
  instances: string | undefined;
  'database-url': string | undefined;
  help: boolean;
};
try {
  o = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      sink: { type: 'string' },
      gateway: { type: 'string', default: 'auto' }, // auto: dist/ if not older than src/, else build src/ into the work dir
      only: { type: 'string' }, // scenario ids, e.g. --only c20 (all by default; with --instances, the first match, c20-10k by default)
      profile: { type: 'boolean', default: false }, // gateway under --cpu-prof (slower; for finding hot spots, not for figures)
      keep: { type: 'boolean', default: false }, // keep the work dir: data dirs, logs, profiles
      instances: { type: 'string' }, // the scale-out series: 1..N gateways on one PostgreSQL schema
      'database-url': { type: 'string' }, // with --instances; else RELAYGATE_BENCH_DATABASE_URL, RELAYGATE_TEST_DATABASE_URL, the local test database
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
const instances = o.instances === undefined ? undefined : Number(o.instances);
if (instances !== undefined && !(Number.isInteger(instances) && instances >= 1 && instances <= 16)) {
  process.stderr.write(`--instances must be a whole number from 1 to 16\n${USAGE}\n`);
  process.exit(2);
}
if (instances === undefined ? o['database-url'] !== undefined : o.peers || o.profile) {
  process.stderr.write(`--database-url goes with --instances; --peers and --profile do not\n${USAGE}\n`);
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

process.exitCode = instances === undefined ? await scenarioMode() : await instancesMode(instances);

/** The scenarios (and --peers): the default mode. Resolves with the exit code. */
async function scenarioMode(): Promise<number> {
  const results: ScenarioResult[] = [];
  const failures: { id: string; error: string }[] = [];
  const only = new RegExp(o.only ?? '.');
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
          `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, idle RSS ${r.idleRssMB.toFixed(0)} MB, peak RSS ${r.vmHwmMB.toFixed(0)} MB${r.peakTargetMB ? ` (target ≤ ${r.peakTargetMB})` : ''} (${((Date.now() - t) / 1000).toFixed(1)}s)`,
      );
    }
  } finally {
    await sink.stop();
  }

  // The CLI section (bench/cli-timing.ts) runs with the scenarios, or alone with --only cli.
  let cli: CliTiming[] | undefined;
  if (only.test('cli')) {
    try {
      await waitForQuiet(log);
      cli = await runCliTimings({ entry, workDir, log });
    } catch (err) {
      failures.push({ id: 'cli', error: (err as Error).message });
      log(`cli: FAILED: ${(err as Error).message}`);
    }
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
  const meta = runMeta();
  const file = writeResults({ meta, scenarios: results, cli, failures, peers: peers ?? (peersError ? { error: peersError } : undefined) }, started);

  const out: string[] = ['', `Relaygate bench, ${meta.date}, ${codeLine(meta)}`, ''];
  if (results.length) out.push(scenarioTable(results), '', scenarioDetails(results), '');
  if (cli)
    out.push(`CLI (wall from spawn to exit and peak RSS, median of ${cli[0]?.runs ?? 0} runs; a store holding a few queued messages):`, cliTable(cli), '');
  if (peers) {
    out.push('Peer comparison (shared/bench-peers, this run):', peers.table.trim(), '', 'Ratios (median of runs):', peers.ratioTable, '');
    for (const e of peers.gatewayProblems.first) out.push(`  gateway log: ${e}`);
  }
  for (const f of failures) out.push(`Scenario ${f.id} failed: ${f.error}`);
  if (peersError) out.push(`Peer comparison failed: ${peersError}`, '');
  out.push(`Results: ${file} (took ${seconds.toFixed(0)}s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  keepOrRemoveWorkDir(failures.length > 0);
  return failures.length || peersError ? 1 : 0;
}

/** --instances N: the scale-out series on PostgreSQL, 1..N gateways. Resolves with the exit code. */
async function instancesMode(max: number): Promise<number> {
  const databaseUrl = benchDatabaseUrl(o['database-url']);
  let server: ServerFacts;
  try {
    server = await serverFacts(databaseUrl);
  } catch (err) {
    log(`PostgreSQL at ${redactUrl(databaseUrl)} is not reachable: ${(err as Error).message} (set --database-url or RELAYGATE_BENCH_DATABASE_URL)`);
    return 1;
  }
  const pattern = new RegExp(o.only ?? '^c20-10k$');
  const sc = (o.quick ? QUICK : FULL).find((s) => pattern.test(s.id));
  if (!sc) {
    log(`no scenario matches --only ${o.only}`);
    return 2;
  }
  log(`instances 1..${max} on ${redactUrl(databaseUrl)} (${server.version.split(' on ')[0]}), each run in a fresh schema; ${sc.id}: ${sc.label}`);
  const results: InstancesResult[] = [];
  const failures: { instances: number; error: string }[] = [];
  const sink = await startSink(sinkKind);
  try {
    for (let n = 1; n <= max; n++) {
      // runInstances waits for the box to go quiet once its gateways are up, not before
      const t = Date.now();
      log(`${n} instance(s): up to ${sc.count} messages / ${sc.maxSeconds}s ...`);
      try {
        const r = await runInstances(n, sc, { sink, entry, workDir, keepData: o.keep, databaseUrl, postgresPort: server.port, log });
        results.push(r);
        log(
          `${n} instance(s): ${r.sent} sent, ${r.failed} failed, ${r.acceptedPerSec.toFixed(1)} accepted/s, ${r.deliveredPerSec.toFixed(1)} delivered/s, ` +
            `p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms (${((Date.now() - t) / 1000).toFixed(1)}s)`,
        );
      } catch (err) {
        failures.push({ instances: n, error: (err as Error).message });
        log(`${n} instance(s): FAILED: ${(err as Error).message}`);
      }
    }
  } finally {
    await sink.stop();
  }

  const seconds = (Date.now() - started.getTime()) / 1000;
  const meta = { ...runMeta(), mode: 'instances', scenario: sc, database: { url: redactUrl(databaseUrl), version: server.version, settings: server.settings } };
  const file = writeResults({ meta, instances: results, failures }, started);
  const settings = Object.entries(server.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const out: string[] = [
    '',
    `Relaygate bench --instances ${max}, ${meta.date}, ${codeLine(meta)}`,
    `Scenario ${sc.id} (${sc.label}, up to ${sc.count} messages / ${sc.maxSeconds}s) against n gateways on one PostgreSQL schema; ${server.version.split(' on ')[0]}, ${settings}`,
    '',
  ];
  if (results.length) {
    out.push(instancesTable(results), '');
    out.push(
      'CPU columns are cores (CPU seconds per second of the load window); "for gateways" is the part of the PostgreSQL server in backends whose client was one of these gateways; others = the rest of the box (other sessions).',
      `This machine has ${availableParallelism()} cores: every instance, PostgreSQL, the load generator and the sink compete for the same ${availableParallelism()}, so the figures show how the design scales (contention in the shared store), not what more hardware would give.`,
      '',
      instancesDetails(results),
      '',
    );
  }
  for (const f of failures) out.push(`${f.instances} instance(s) failed: ${f.error}`);
  out.push(`Results: ${file} (took ${seconds.toFixed(0)}s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  keepOrRemoveWorkDir(failures.length > 0);
  return failures.length ? 1 : 0;
}

function keepOrRemoveWorkDir(failed: boolean): void {
  if (o.keep || o.profile || failed) process.stdout.write(`Logs${o.profile ? ' and profiles' : ''} kept in ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
}

function runMeta() {
  const seconds = (Date.now() - started.getTime()) / 1000;
  return {
    date: started.toISOString(),
    durationSeconds: Math.round(seconds),
    quick: o.quick,
    node: process.version,
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    kernel: release(),
    gateway: entry.kind,
    code: codeVersion(),
    profiled: o.profile,
    sink: sinkKind,
    // fsync cost depends on it: tmpfs would make the durable queue look free
    dataFs: execFileSync('findmnt', ['-no', 'FSTYPE', '--target', workDir]).toString().trim(),
    workDir,
  };
}

function codeLine(meta: ReturnType<typeof runMeta>): string {
  const dirty = meta.code.dirty.length ? ` + uncommitted ${meta.code.dirty.join(' ')}` : '';
  return `${meta.cpus} CPUs, node ${meta.node}, gateway ${meta.code.commit}${dirty}, run from ${ENTRY_TEXT[entry.kind]}, sink ${meta.sink}, data on ${meta.dataFs}`;
}
