// Linux /proc readers for the processes a scenario measures. Everything is read from /proc
// rather than asked of the processes themselves, so the gateway runs unmodified.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { epochMs } from './clock.js';

/** Kernel clock ticks per second: the unit of CPU times in /proc/<pid>/stat. */
export const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU seconds of one process, or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * The live processes under `pid` (its children, theirs, …): a gateway with smtp.workers > 1 runs
 * its SMTP sessions in child processes (and from src/, tsx's esbuild service is one too).
 */
export function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/**
 * CPU seconds of a process and everything under it: each live process's own, plus what its
 * children that have ended and been reaped used (cutime + cstime), so an SMTP worker killed
 * and started again meanwhile is still counted. Undefined once `pid` is gone.
 */
export function treeCpuSeconds(pid: number): number | undefined {
  const own = cpuFields(pid);
  if (own === undefined) return undefined;
  return descendants(pid).reduce((sum, child) => sum + (cpuFields(child) ?? 0), own);
}

/** utime + stime + cutime + cstime, in seconds. */
function cpuFields(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks;
  } catch {
    return undefined;
  }
}

export interface Memory {
  /** Resident set now, bytes. */
  rss: number;
  /** Kernel's high-water mark of the resident set over the process's life, bytes. */
  hwm: number;
}

export function memory(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * The resident sets of a process and everything under it, summed (pages the processes share,
 * the Node binary's among them, are counted once per process: an upper bound of what they
 * hold together); `hwm` is the sum of each one's own high-water mark.
 */
export function treeMemory(pid: number): Memory | undefined {
  const own = memory(pid);
  if (!own) return undefined;
  for (const child of descendants(pid)) {
    const m = memory(child);
    if (m) {
      own.rss += m.rss;
      own.hwm += m.hwm;
    }
  }
  return own;
}

/**
 * Jiffies of the whole box (all CPUs) by kind: process work, kernel interrupt work (loopback TCP
 * is largely softirq, charged to no process), hypervisor steal, iowait, and the total.
 */
export function boxCpu(): { busy: number; procs: number; irq: number; steal: number; iowait: number; total: number } {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = first.trim().split(/\s+/).slice(1).map(Number);
  const procs = user + nice + system;
  return { busy: procs + irq + softirq, procs, irq: irq + softirq, steal, iowait, total: procs + idle + iowait + irq + softirq + steal };
}

/** Block device names (vda, sda, nvme0n1) of whole disks, not partitions. */
const DISKS = readFileSync('/proc/diskstats', 'utf8')
  .split('\n')
  .map((l) => l.trim().split(/\s+/)[2] ?? '')
  .filter((name) => /^(vd[a-z]+|sd[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/.test(name));

/** Bytes written to the disks so far (sectors are 512 bytes in /proc/diskstats, whatever the device). */
export function diskWrittenBytes(): number {
  let sectors = 0;
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (DISKS.includes(f[2] ?? '')) sectors += Number(f[9] ?? 0);
  }
  return sectors * 512;
}

/**
 * Samples a process's VmRSS on a fixed interval. VmHWM alone would do for the peak, but the
 * sampled series also shows whether memory falls back after the burst (it is kept in the JSON).
 */
export class RssSampler {
  peak = 0;
  private samples = 0;
  readonly series: { t: number; rss: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs: number,
    /** Epoch ms that series times are relative to. */
    private readonly t0: number,
    /** treeMemory for a gateway whose SMTP workers are child processes. */
    private readonly read: (pid: number) => Memory | undefined = memory,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const m = this.read(this.pid);
    if (!m) return;
    const newPeak = m.rss > this.peak;
    if (newPeak) this.peak = m.rss;
    // Every sample would be thousands of points; keep one in ten, plus every new peak.
    if (this.samples++ % 10 === 0 || newPeak) this.series.push({ t: Math.round(epochMs() - this.t0), rss: m.rss });
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
