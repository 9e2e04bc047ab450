// One scenario, end to end: a fresh gateway (so its VmHWM is this scenario's peak), the load
// generator child, then a bounded wait until the sink has every accepted message. CPU of the
// gateway, the load generator and the sink is taken from /proc over the same window.
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { exited, REPO_ROOT, startChild, stopChild, tsxArgs } from './child.js';
import { epochMs } from './clock.js';
import { type GatewayEntry, gatewayProblems, startGateway, storeWrittenBytes } from './gateway-process.js';
import type { LatencySummary, LoadResult } from './load-result.js';
import { boxCpu, cpuSeconds, diskWrittenBytes, RssSampler, treeCpuSeconds, treeMemory } from './proc-stats.js';
import { type ProfileSummary, summarizeProfileDir } from './profile-summary.js';
import type { Scenario } from './scenarios.js';
import type { Sink } from './sink.js';

const MB = 1024 * 1024;
/** After the last 250: how long the queue may take to drain into the sink, and how long it may stall. */
export const DRAIN_MAX_MS = 120_000;
export const DRAIN_IDLE_MS = 15_000;

export interface ScenarioResult {
  id: string;
  label: string;
  concurrency: number;
  sizeBytes: number;
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
  /** The gateway's RSS after start and set-up, settled IDLE_SETTLE_MS, before the load generator starts. */
  idleRssMB: number;
  peakRssMB: number;
  peakTargetMB: number | undefined;
  vmHwmMB: number;
  cpu: {
    /** Gateway CPU cores while the load ran, and over load + drain. */
    gatewayLoadCores: number;
    gatewayTotalCores: number;
    gatewayMsPerMessage: number;
    loadgenCores: number;
    sinkCores: number;
    /** Whole box, percent of all CPUs, while the load ran. */
    boxBusyPct: number;
    /** Process CPU on the box beyond the gateway, load generator, sink and runner: other sessions' work. */
    otherCores: number;
    /** Kernel interrupt work (mostly loopback TCP softirq) and hypervisor steal, in cores. */
    irqCores: number;
    stealCores: number;
  };
  /** Whole-disk writes over load + drain (spool, fsyncs, SQLite WAL; anything else on the box too). */
  disk: { writtenMB: number; mbPerSec: number; iowaitPct: number; storeKBPerMessage: number | undefined };
  errors: Record<string, number>;
  firstErrors: string[];
  gatewayProblems: { count: number; first: string[] };
  gatewayExit: string;
  notes: string[];
  rssSeries: { t: number; rss: number }[];
  profile: ProfileSummary | undefined;
}

export interface ScenarioContext {
  sink: Sink;
  entry: GatewayEntry;
  workDir: string;
  keepData: boolean;
  /** Run the gateway under --cpu-prof and summarize where its CPU went. */
  profile: boolean;
}

/** Long enough for the start's last allocations and its timers' first runs to settle. */
const IDLE_SETTLE_MS = 2000;

async function idleRss(pid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  return (treeMemory(pid)?.rss ?? 0) / MB;
}

export async function runScenario(sc: Scenario, ctx: ScenarioContext): Promise<ScenarioResult> {
  const dataDir = join(ctx.workDir, sc.id, 'data');
  mkdirSync(dataDir, { recursive: true });
  const profileDir = ctx.profile ? join(ctx.workDir, sc.id, 'profile') : undefined;
  const gateway = await startGateway({
    entry: ctx.entry,
    dataDir,
    logPrefix: join(ctx.workDir, sc.id, 'gateway'),
    smarthostPort: ctx.sink.port,
    profileDir,
    route: sc.route,
    workers: sc.workers,
  });
  const notes: string[] = [];
  try {
    const idleRssMB = await idleRss(gateway.pid);
    // Baselines are taken once the load generator has loaded and is waiting: its start-up is not measured.
    let base = 0;
    let t0 = 0;
    let gw0 = 0;
    let sink0 = 0;
    let box0 = boxCpu();
    let sampler: RssSampler | undefined;
    let gw1 = 0;
    let sink1 = 0;
    let box1 = box0;
    let disk0 = 0;
    let store0: Promise<number | undefined> = Promise.resolve(undefined);
    let runner0 = process.cpuUsage();
    let runner1 = { user: 0, system: 0 };
    const load = await runLoadgen(sc, [gateway.smtpPort], `${gateway.user}:${gateway.pass}`, {
      ready() {
        base = ctx.sink.count();
        t0 = epochMs();
        sampler = new RssSampler(gateway.pid, 50, t0, treeMemory);
        gw0 = treeCpuSeconds(gateway.pid) ?? 0;
        sink0 = cpuSeconds(ctx.sink.pid) ?? 0;
        box0 = boxCpu();
        disk0 = diskWrittenBytes();
        store0 = storeWrittenBytes(gateway);
        runner0 = process.cpuUsage();
      },
      // at the result line, not at exit: the generator still waits up to 2 s for its QUITs
      result() {
        gw1 = treeCpuSeconds(gateway.pid) ?? gw0;
        sink1 = cpuSeconds(ctx.sink.pid) ?? sink0;
        box1 = boxCpu();
        runner1 = process.cpuUsage(runner0);
      },
    });

    const all = await ctx.sink.waitFor(base + load.sent, DRAIN_MAX_MS, DRAIN_IDLE_MS);
    const delivered = ctx.sink.count() - base;
    if (!all) notes.push(`sink got ${delivered} of ${load.sent} accepted messages within the drain bound`);
    const landed = Math.min(load.sent, delivered);
    const doneAt = landed > 0 ? (ctx.sink.timeOf(base + landed) ?? epochMs()) : load.endedAt;
    const gw2 = treeCpuSeconds(gateway.pid) ?? gw1;
    const sink2 = cpuSeconds(ctx.sink.pid) ?? sink0;
    const t2 = epochMs();
    const disk2 = diskWrittenBytes();
    const [storeBefore, storeAfter] = await Promise.all([store0, storeWrittenBytes(gateway)]);
    sampler?.stop();
    const mem = treeMemory(gateway.pid);
    if (!gateway.alive()) notes.push('the gateway exited during the scenario');

    const loadSeconds = (load.endedAt - load.startedAt) / 1000;
    const boxCores = (k: 'busy' | 'procs' | 'irq' | 'steal') => ((box1[k] - box0[k]) / (box1.total - box0.total)) * cpus().length;
    const ours = [gw1 - gw0, load.cpuSeconds, sink1 - sink0, (runner1.user + runner1.system) / 1e6].reduce((a, b) => a + b, 0) / loadSeconds;
    const deliverySeconds = Math.max(doneAt, load.endedAt) / 1000 - load.startedAt / 1000;
    const gatewayExit = await gateway.stop();
    return {
      id: sc.id,
      label: sc.label,
      concurrency: sc.concurrency,
      sizeBytes: sc.size,
      sent: load.sent,
      failed: load.failed,
      delivered,
      loadSeconds,
      deliverySeconds,
      acceptedPerSec: load.sent / loadSeconds,
      deliveredPerSec: landed / deliverySeconds,
      latencyMs: load.latency,
      setupMs: load.setup,
      idleRssMB,
      peakRssMB: (sampler?.peak ?? 0) / MB,
      peakTargetMB: sc.peakTargetMB,
      vmHwmMB: (mem?.hwm ?? 0) / MB,
      cpu: {
        gatewayLoadCores: (gw1 - gw0) / loadSeconds,
        gatewayTotalCores: (gw2 - gw0) / ((t2 - t0) / 1000),
        gatewayMsPerMessage: load.sent ? ((gw2 - gw0) * 1000) / load.sent : 0,
        loadgenCores: load.cpuSeconds / loadSeconds,
        sinkCores: (sink2 - sink0) / ((t2 - t0) / 1000),
        boxBusyPct: (100 * boxCores('busy')) / cpus().length,
        otherCores: Math.max(0, boxCores('procs') - ours),
        irqCores: boxCores('irq'),
        stealCores: boxCores('steal'),
      },
      disk: {
        writtenMB: (disk2 - disk0) / MB,
        mbPerSec: (disk2 - disk0) / MB / ((t2 - t0) / 1000),
        iowaitPct: (100 * (box1.iowait - box0.iowait)) / (box1.total - box0.total),
        storeKBPerMessage: storeBefore !== undefined && storeAfter !== undefined && load.sent > 0 ? (storeAfter - storeBefore) / 1024 / load.sent : undefined,
      },
      errors: load.errors,
      firstErrors: load.firstErrors,
      gatewayProblems: gatewayProblems(gateway),
      gatewayExit,
      notes,
      rssSeries: sampler?.series ?? [],
      // written by the gateway as it exits, so only after stop()
      profile: profileDir ? summarizeProfileDir(profileDir) : undefined,
    };
  } finally {
    if (gateway.alive()) await gateway.stop();
    if (!ctx.keepData) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The load generator as a child process, killed by PID if it overstays its own hard bound. It
 * says "ready" once loaded; onReady takes the baselines, then it is told to go. Its sessions
 * go round-robin over `ports`.
 */
export async function runLoadgen(sc: Scenario, ports: number[], auth: string, on: { ready(): void; result(): void }): Promise<LoadResult> {
  const args = tsxArgs('loadgen.ts', [
    ...['--port', ports.join(','), '--auth', auth, '--count', String(sc.count), '--concurrency', String(sc.concurrency)],
    ...['--size', String(sc.size), '--max-seconds', String(sc.maxSeconds), '--hard-seconds', String(sc.hardSeconds), '--go-on-stdin'],
  ]);
  const child = startChild(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let ready = false;
  let result = false;
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (!ready && out.includes('ready\n')) {
      ready = true;
      on.ready();
      child.stdin?.end('go\n');
    }
    if (ready && !result && out.slice(out.indexOf('ready\n') + 6).includes('\n')) {
      result = true;
      on.result();
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  const overstay = setTimeout(() => void stopChild(child, 3000), (sc.hardSeconds + 20) * 1000);
  await exited(child);
  clearTimeout(overstay);
  const line = out.trim().split('\n').pop() ?? '';
  if (!ready) throw new Error(`the load generator did not start: ${err.trim().slice(0, 1000)}`);
  try {
    return JSON.parse(line) as LoadResult;
  } catch {
    throw new Error(`the load generator gave no result: ${err.trim().slice(0, 1000) || out.slice(0, 500)}`);
  }
}
