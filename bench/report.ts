// The readable table printed at the end, and the JSON file under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './child.js';
import type { ScenarioResult } from './scenario.js';

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export function scenarioTable(results: ScenarioResult[]): string {
  const header = [
    'scenario',
    'sent',
    'accepted msg/s',
    'delivered msg/s',
    'p50 ms',
    'p99 ms',
    'peak RSS MB (sampled / VmHWM)',
    'gateway cores (load)',
    'gateway CPU ms/msg',
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
    `${f(r.peakRssMB, 0)} / ${f(r.vmHwmMB, 0)}`,
    f(r.cpu.gatewayLoadCores, 2),
    f(r.cpu.gatewayMsPerMessage, 2),
    f(r.cpu.loadgenCores, 2),
    `${f(r.cpu.boxBusyPct, 0)} (${f(r.cpu.otherCores, 2)})`,
    errorText(r),
  ]);
  return markdownTable(header, rows);
}

function errorText(r: ScenarioResult): string {
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
