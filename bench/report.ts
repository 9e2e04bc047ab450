// The readable table printed at the end, and the JSON file under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './child.js';
import type { InstancesResult } from './instances.js';
import type { ScenarioResult } from './scenario.js';
import { IDLE_TARGET_MB } from './scenarios.js';

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function scenarioTable(results: ScenarioResult[]): string {
  const header = [
    'scenario',
    'sent',
    'accepted msg/s',
    'delivered msg/s',
    'p50 ms',
    'p99 ms',
    `idle RSS MB (target ≤ ${IDLE_TARGET_MB})`,
    'peak RSS MB (sampled / VmHWM)',
    'peak target MB',
    'gateway cores (load)',
    'gateway CPU ms/msg',
    'store KB/msg',
    'loadgen cores',
    'box busy % (others, cores)',
    'errors',
  ];
  const rows = results.map((r) => [
    r.id,
    `${r.sent}${r.failed ? ` (+${r.failed} failed)` : ''}`,
    f(r.acceptedPerSec),
    `${f(r.deliveredPerSec)}${r.delivered < r.sent ? ` (${r.delivered}/${r.sent})` : ''}`,
    f(r.latencyMs.p50),
    f(r.latencyMs.p99),
    f(r.idleRssMB, 0),
    `${f(r.peakRssMB, 0)} / ${f(r.vmHwmMB, 0)}`,
    r.peakTargetMB === undefined ? '–' : `≤ ${r.peakTargetMB}`,
    f(r.cpu.gatewayLoadCores, 2),
    f(r.cpu.gatewayMsPerMessage, 2),
    r.disk.storeKBPerMessage === undefined ? '–' : f(r.disk.storeKBPerMessage, 1),
    f(r.cpu.loadgenCores, 2),
    `${f(r.cpu.boxBusyPct, 0)} (${f(r.cpu.otherCores, 2)})`,
    errorText(r),
  ]);
  return markdownTable(header, rows);
}

/** --instances: one row per n; CPU in cores over the load window, by process group. */
export function instancesTable(results: InstancesResult[]): string {
  const header = [
    'instances',
    'sent',
    'accepted msg/s',
    'delivered msg/s',
    'p50 ms',
    'p99 ms',
    'gateway CPU',
    'postgres CPU (for gateways)',
    'loadgen CPU',
    'sink CPU',
    'others',
    'box busy %',
    'errors',
  ];
  const rows = results.map((r) => [
    String(r.instances),
    `${r.sent}${r.failed ? ` (+${r.failed} failed)` : ''}`,
    f(r.acceptedPerSec),
    `${f(r.deliveredPerSec)}${r.delivered < r.sent ? ` (${r.delivered}/${r.sent})` : ''}`,
    f(r.latencyMs.p50),
    f(r.latencyMs.p99),
    f(r.cores.gateways, 2),
    `${f(r.cores.postgres, 2)} (${f(r.cores.postgresForGateways, 2)})`,
    f(r.cores.loadgen, 2),
    f(r.cores.sink, 2),
    f(r.cores.others, 2),
    f(r.cores.boxBusyPct, 0),
    errorText(r),
  ]);
  return markdownTable(header, rows);
}

/** Growth against the 1-instance row, then per run what the table leaves out. */
export function instancesDetails(results: InstancesResult[]): string {
  const out: string[] = [];
  const one = results.find((r) => r.instances === 1);
  if (one && results.length > 1) {
    const growth = results
      .filter((r) => r !== one)
      .map((r) => `${r.instances}: accepted x${f(r.acceptedPerSec / one.acceptedPerSec, 2)}, delivered x${f(r.deliveredPerSec / one.deliveredPerSec, 2)}`);
    out.push(`Against 1 instance: ${growth.join('; ')}`);
  }
  for (const r of results) {
    out.push(
      `${r.instances} instance(s), ${r.scenario}, schema ${r.schema}: load ${f(r.loadSeconds)}s, sink had ${r.delivered} of ${r.sent} after ${f(r.deliverySeconds)}s; ` +
        `latency p50/p90/p99/max ${r.latencyMs.p50}/${r.latencyMs.p90}/${r.latencyMs.p99}/${r.latencyMs.max} ms, of which connect+STARTTLS+AUTH p50/p99 ${r.setupMs.p50}/${r.setupMs.p99} ms; ` +
        `CPU ms per message (load+drain) gateways ${f(r.msPerMessage.gateways, 2)}, postgres ${f(r.msPerMessage.postgres, 2)}; ` +
        `idle before the load: gateways ${f(r.idleCores.gateways, 3)}, postgres ${f(r.idleCores.postgres, 3)} cores; ` +
        `cores over load+drain (${f(r.totalCores.seconds)}s) gateways ${f(r.totalCores.gateways, 2)}, postgres ${f(r.totalCores.postgres, 2)}; ` +
        `runner ${f(r.cores.runner, 2)}, irq/softirq ${f(r.cores.irq, 2)}, steal ${f(r.cores.steal, 2)} cores; ${r.postgresBackends} backends served the gateways; ` +
        `disk writes ${f(r.disk.writtenMB, 0)} MB (${f(r.disk.mbPerSec, 1)} MB/s), iowait ${f(r.disk.iowaitPct, 0)}% of the box`,
    );
    out.push(
      `  per gateway (cores during load, VmHWM MB, exit): ${r.gateways.map((g, i) => `#${i + 1} ${f(g.loadCores, 2)} / ${f(g.vmHwmMB, 0)} / ${g.exit}`).join(', ')}`,
    );
    const work = r.storeWork.slice(0, 6).map((t) => `${t.table} ${f(t.scansPerMessage, 1)}/${f(t.rowWritesPerMessage, 1)}`);
    if (work.length) out.push(`  store work per message (table scans/row writes): ${work.join(', ')}`);
    for (const e of r.firstErrors) out.push(`  client error: ${e}`);
    for (const e of r.gatewayProblems.first) out.push(`  gateway log: ${e}`);
  }
  return out.join('\n');
}

function errorText(r: Pick<ScenarioResult, 'errors' | 'gatewayProblems' | 'notes'>): string {
  const parts = Object.entries(r.errors).map(([k, n]) => `${n}x ${k}`);
  if (r.gatewayProblems.count) parts.push(`gateway logged ${r.gatewayProblems.count} warning(s)/error(s)`);
  parts.push(...r.notes);
  return parts.join('; ') || '0';
}

export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Details the table leaves out: latency split, first errors, gateway log lines. */
export function scenarioDetails(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(
      `${r.id} (${r.label}): load ${f(r.loadSeconds)}s, sink had ${r.delivered} of ${r.sent} after ${f(r.deliverySeconds)}s; latency p50/p90/p99/max ${r.latencyMs.p50}/${r.latencyMs.p90}/${r.latencyMs.p99}/${r.latencyMs.max} ms, ` +
        `of which connect+STARTTLS+AUTH p50/p99 ${r.setupMs.p50}/${r.setupMs.p99} ms; gateway cores over load+drain ${f(r.cpu.gatewayTotalCores, 2)}, sink cores ${f(r.cpu.sinkCores, 2)}; ` +
        `kernel irq/softirq ${f(r.cpu.irqCores, 2)} cores, steal ${f(r.cpu.stealCores, 2)}; disk writes ${f(r.disk.writtenMB, 0)} MB (${f(r.disk.mbPerSec, 0)} MB/s), iowait ${f(r.disk.iowaitPct, 0)}% of the box; gateway ${r.gatewayExit}`,
    );
    for (const e of r.firstErrors) out.push(`  client error: ${e}`);
    for (const e of r.gatewayProblems.first) out.push(`  gateway log: ${e}`);
    if (r.profile) {
      out.push(`  gateway CPU profile, main thread (${r.profile.totalMs} ms busy, ${r.profile.idleMs} ms idle; ${r.profile.file}):`);
      out.push(`    by module: ${r.profile.topModules.map((m) => `${m.module} ${m.pct}%`).join(', ')}`);
      for (const fn of r.profile.topFunctions.slice(0, 10)) out.push(`    ${String(fn.pct).padStart(5)}%  ${fn.name}`);
    }
  }
  return out.join('\n');
}

/** bench/results/<UTC timestamp>.json; the folder is made here, at run time. */
export function writeResults(data: unknown, startedAt: Date): string {
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const path = join(dir, `${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
