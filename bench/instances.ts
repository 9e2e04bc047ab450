// --instances N: the scale-out design under load. For n = 1..N, n gateways (each its own
// process and data dir) share one fresh PostgreSQL schema, one master key and one credential
// hash key, so the one credential made through the first works on all; they relay to the same
// sink, and the load generator spreads its sessions round-robin over their SMTP ports. CPU is
// taken per process group (gateways summed, the PostgreSQL server, load generator, sink, the
// rest of the box) over the load window, which is what says where the bottleneck sits.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type BenchSchema, newBenchSchema } from './bench-schema.js';
import { sleep } from './child.js';
import { epochMs } from './clock.js';
import { type GatewayEntry, type GatewayProcess, gatewayProblems, type SharedStore, startGateway } from './gateway-process.js';
import type { LatencySummary } from './load-result.js';
import { BackendCpuSampler, postgresCpuSeconds } from './postgres-cpu.js';
import { boxCpu, cpuSeconds, diskWrittenBytes, memory } from './proc-stats.js';
import { waitForQuiet } from './quiet.js';
import { DRAIN_IDLE_MS, DRAIN_MAX_MS, runLoadgen } from './scenario.js';
import type { Scenario } from './scenarios.js';
import type { Sink } from './sink.js';

const MB = 1024 * 1024;
const IDLE_MS = 4000;

export interface InstancesContext {
  sink: Sink;
  entry: GatewayEntry;
  workDir: string;
  keepData: boolean;
  /** The database the per-run schemas are made in (no schema parameter needed). */
  databaseUrl: string;
  /** The server's TCP port: the gateways' backends are the postgres processes whose client is a gateway socket to it. */
  postgresPort: number;
  log: (text: string) => void;
}

/** Cores (CPU seconds per second of the load window) by process group. */
export interface GroupCores {
  gateways: number;
  postgres: number;
  /** The part of `postgres` spent in backends whose client was one of the bench's gateways. */
  postgresForGateways: number;
  loadgen: number;
  sink: number;
  /** The bench runner itself (it samples /proc). */
  runner: number;
  /** Process CPU on the box beyond the groups above: other sessions' work. */
  others: number;
  /** Kernel interrupt work (mostly loopback TCP softirq) and hypervisor steal. */
  irq: number;
  steal: number;
  /** Whole box, percent of all CPUs. */
  boxBusyPct: number;
}

export interface InstancesResult {
  instances: number;
  scenario: string;
  schema: string;
  sent: number;
  failed: number;
  delivered: number;
  loadSeconds: number;
  /** Load start until the sink had every accepted message (or its last one, if some never came). */
  deliverySeconds: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  latencyMs: LatencySummary;
  setupMs: LatencySummary;
  /** Over the load window: the figures of the table. */
  cores: GroupCores;
  /** Over load + drain: what delivering the backlog cost. */
  totalCores: { gateways: number; postgres: number; seconds: number };
  /** Cores of the n gateways and of the PostgreSQL server while idle, just before the load. */
  idleCores: { gateways: number; postgres: number };
  /** CPU ms per accepted message over load + drain: a rise with n is contention, not load. */
  msPerMessage: { gateways: number; postgres: number };
  postgresBackends: number;
  /** Per table of the shared schema, per accepted message, from start-up to stop (start-up is a few dozen statements). */
  storeWork: { table: string; scansPerMessage: number; rowWritesPerMessage: number }[];
  gateways: { pid: number; smtpPort: number; loadCores: number; vmHwmMB: number; exit: string }[];
  disk: { writtenMB: number; mbPerSec: number; iowaitPct: number };
  errors: Record<string, number>;
  firstErrors: string[];
  gatewayProblems: { count: number; first: string[] };
  notes: string[];
}

/** One n: start n gateways on a fresh schema, load them, wait for the sink, stop them, drop the schema. */
export async function runInstances(n: number, sc: Scenario, ctx: InstancesContext): Promise<InstancesResult> {
  const schema = newBenchSchema(ctx.databaseUrl);
  const key = () => randomBytes(32).toString('base64');
  const shared: SharedStore = { databaseUrl: schema.url, masterKey: key(), credentialHashKey: key() };
  const dir = join(ctx.workDir, `instances-${n}`);
  const gateways: GatewayProcess[] = [];
  const start = (i: number, credential?: { user: string; pass: string }) => {
    const dataDir = join(dir, `gw${i}`, 'data');
    mkdirSync(dataDir, { recursive: true });
    return startGateway({ entry: ctx.entry, dataDir, logPrefix: join(dir, `gw${i}`), smarthostPort: ctx.sink.port, shared, credential });
  };
  try {
    // The first creates the schema, the tables, the sender domain and the credential ...
    const first = await start(1);
    gateways.push(first);
    // ... the others join that store together, as a scaled-out deployment starts.
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, (_, i) => start(i + 2, { user: first.user, pass: first.pass })));
    for (const r of rest) if (r.status === 'fulfilled') gateways.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    ctx.log(`${n} gateway(s) up on schema ${schema.name}, SMTP ports ${gateways.map((g) => g.smtpPort).join(', ')}`);
    // After start-up (migrations, key set-up, CLI runs), so that it is not in the load window.
    await waitForQuiet(ctx.log);
    const idle = await idleCores(gateways);
    return { ...(await measure(n, sc, ctx, gateways, schema)), idleCores: idle };
  } finally {
    await Promise.all(gateways.filter((g) => g.alive()).map((g) => g.stop()));
    await schema.drop().catch((err: Error) => ctx.log(`could not drop schema ${schema.name}: ${err.message}`));
    if (!ctx.keepData) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What n idle instances cost (timers, lease renewal, polling), over a few seconds without load:
 * the fixed part of the per-message figures, which grows with n whatever the load.
 */
async function idleCores(gateways: GatewayProcess[]): Promise<{ gateways: number; postgres: number }> {
  const gw = () => gateways.reduce((sum, g) => sum + (cpuSeconds(g.pid) ?? 0), 0);
  const [g0, p0, t0] = [gw(), postgresCpuSeconds(), epochMs()];
  await sleep(IDLE_MS);
  const seconds = (epochMs() - t0) / 1000;
  return { gateways: (gw() - g0) / seconds, postgres: (postgresCpuSeconds() - p0) / seconds };
}

async function measure(
  n: number,
  sc: Scenario,
  ctx: InstancesContext,
  gateways: GatewayProcess[],
  schema: BenchSchema,
): Promise<Omit<InstancesResult, 'idleCores'>> {
  const gatewayCpu = () => gateways.map((g) => cpuSeconds(g.pid) ?? 0);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const notes: string[] = [];
  // Baselines are taken once the load generator has loaded and is waiting: its start-up is not measured.
  let base = 0;
  let t0 = 0;
  let gw0: number[] = [];
  let gw1: number[] = [];
  let sink0 = 0;
  let sink1 = 0;
  let pg0 = 0;
  let pg1 = 0;
  let box0 = boxCpu();
  let box1 = box0;
  let disk0 = 0;
  let runner0 = process.cpuUsage();
  let runner1 = { user: 0, system: 0 };
  let sampler: BackendCpuSampler | undefined;
  let backends = { seconds: 0, backends: 0 };
  const first = gateways[0];
  if (!first) throw new Error('no gateway');
  const load = await runLoadgen(
    sc,
    gateways.map((g) => g.smtpPort),
    `${first.user}:${first.pass}`,
    {
      ready() {
        base = ctx.sink.count();
        t0 = epochMs();
        gw0 = gatewayCpu();
        sink0 = cpuSeconds(ctx.sink.pid) ?? 0;
        pg0 = postgresCpuSeconds();
        sampler = new BackendCpuSampler(() => gateways.map((g) => g.pid), ctx.postgresPort, 500);
        box0 = boxCpu();
        disk0 = diskWrittenBytes();
        runner0 = process.cpuUsage();
      },
      // at the result line, not at exit: the generator still waits up to 2 s for its QUITs
      result() {
        gw1 = gatewayCpu();
        sink1 = cpuSeconds(ctx.sink.pid) ?? sink0;
        pg1 = postgresCpuSeconds();
        backends = sampler?.stop() ?? backends;
        box1 = boxCpu();
        runner1 = process.cpuUsage(runner0);
      },
    },
  );

  const all = await ctx.sink.waitFor(base + load.sent, DRAIN_MAX_MS, DRAIN_IDLE_MS);
  const delivered = ctx.sink.count() - base;
  if (!all) notes.push(`sink got ${delivered} of ${load.sent} accepted messages within the drain bound`);
  const landed = Math.min(load.sent, delivered);
  const doneAt = landed > 0 ? (ctx.sink.timeOf(base + landed) ?? epochMs()) : load.endedAt;
  const gw2 = gatewayCpu();
  const pg2 = postgresCpuSeconds();
  const t2 = epochMs();
  const disk2 = diskWrittenBytes();
  if (all) {
    // n workers claim from one queue: a message delivered twice would show up here.
    await sleep(2000);
    const extra = ctx.sink.count() - base - load.sent;
    if (extra > 0) notes.push(`sink got ${extra} message(s) more than were accepted (duplicates, or sends cut after DATA that the gateway still took)`);
  }
  for (const [i, g] of gateways.entries()) if (!g.alive()) notes.push(`gateway ${i + 1} exited during the run`);
  const hwm = gateways.map((g) => (memory(g.pid)?.hwm ?? 0) / MB);

  const loadSeconds = (load.endedAt - load.startedAt) / 1000;
  const boxCores = (k: 'busy' | 'procs' | 'irq' | 'steal') => ((box1[k] - box0[k]) / (box1.total - box0.total)) * cpus().length;
  const cores = {
    gateways: (sum(gw1) - sum(gw0)) / loadSeconds,
    postgres: (pg1 - pg0) / loadSeconds,
    postgresForGateways: backends.seconds / loadSeconds,
    loadgen: load.cpuSeconds / loadSeconds,
    sink: (sink1 - sink0) / loadSeconds,
    runner: (runner1.user + runner1.system) / 1e6 / loadSeconds,
  };
  const ours = cores.gateways + cores.postgres + cores.loadgen + cores.sink + cores.runner;
  const exits = await Promise.all(gateways.map((g) => g.stop()));
  const problems = gateways.map((g) => gatewayProblems(g));
  // Statements per message in the shared store: if they grow with n, the instances get in each other's way there.
  const perMessage = (x: number) => (load.sent ? x / load.sent : 0);
  const storeWork = (await schema.activity().catch(() => []))
    .map((t) => ({ table: t.table, scansPerMessage: perMessage(t.scans), rowWritesPerMessage: perMessage(t.rowWrites) }))
    .filter((t) => t.scansPerMessage + t.rowWritesPerMessage > 0.01)
    .sort((a, b) => b.scansPerMessage + b.rowWritesPerMessage - (a.scansPerMessage + a.rowWritesPerMessage));
  const totalSeconds = (t2 - t0) / 1000;
  return {
    instances: n,
    scenario: sc.id,
    schema: schema.name,
    sent: load.sent,
    failed: load.failed,
    delivered,
    loadSeconds,
    deliverySeconds: Math.max(doneAt, load.endedAt) / 1000 - load.startedAt / 1000,
    acceptedPerSec: load.sent / loadSeconds,
    deliveredPerSec: landed / (Math.max(doneAt, load.endedAt) / 1000 - load.startedAt / 1000),
    latencyMs: load.latency,
    setupMs: load.setup,
    cores: {
      ...cores,
      others: Math.max(0, boxCores('procs') - ours),
      irq: boxCores('irq'),
      steal: boxCores('steal'),
      boxBusyPct: (100 * boxCores('busy')) / cpus().length,
    },
    totalCores: { gateways: (sum(gw2) - sum(gw0)) / totalSeconds, postgres: (pg2 - pg0) / totalSeconds, seconds: totalSeconds },
    msPerMessage: {
      gateways: load.sent ? ((sum(gw2) - sum(gw0)) * 1000) / load.sent : 0,
      postgres: load.sent ? ((pg2 - pg0) * 1000) / load.sent : 0,
    },
    postgresBackends: backends.backends,
    storeWork,
    gateways: gateways.map((g, i) => ({
      pid: g.pid,
      smtpPort: g.smtpPort,
      loadCores: ((gw1[i] ?? 0) - (gw0[i] ?? 0)) / loadSeconds,
      vmHwmMB: hwm[i] ?? 0,
      exit: exits[i] ?? 'unknown',
    })),
    disk: {
      writtenMB: (disk2 - disk0) / MB,
      mbPerSec: (disk2 - disk0) / MB / totalSeconds,
      iowaitPct: (100 * (box1.iowait - box0.iowait)) / (box1.total - box0.total),
    },
    errors: load.errors,
    firstErrors: load.firstErrors,
    gatewayProblems: {
      count: problems.reduce((a, p) => a + p.count, 0),
      first: problems.flatMap((p, i) => p.first.map((line) => `gateway ${i + 1}: ${line}`)).slice(0, 8),
    },
    notes,
  };
}
