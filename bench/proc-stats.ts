// Linux /proc readers for the processes a scenario measures. Everything is read from /proc
// rather than asked of the processes themselves, so the gateway runs unmodified.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const m = memory(this.pid);
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
