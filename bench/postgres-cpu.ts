// CPU of the PostgreSQL server on this box, read from /proc like every other figure: the
// server runs as processes named `postgres` (the postmaster, its background processes and one
// backend per connection). Backends come and go with the gateways' pools, so the total also
// counts what the postmaster has reaped (its cutime/cstime), and the part that served the
// bench's own gateways is told apart by the client port in each backend's process title.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { clockTicks } from './proc-stats.js';

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime (reaped children), seconds. */
  reaped: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    const n = (i: number) => Number(f[i] ?? 0) / clockTicks;
    return { pid, comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(f[1]), own: n(11) + n(12), reaped: n(13) + n(14) };
  } catch {
    return undefined; // gone between readdir and read
  }
}

function postgresProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s?.comm === 'postgres') out.push(s);
  }
  return out;
}

/**
 * CPU seconds of the whole server so far: every live postgres process, plus the children each
 * postmaster (a postgres process whose parent is not one) has reaped. The difference of two
 * readings is exact even when backends start and end in between.
 */
export function postgresCpuSeconds(): number {
  const procs = postgresProcesses();
  const pids = new Set(procs.map((p) => p.pid));
  return procs.reduce((sum, p) => sum + p.own + (pids.has(p.ppid) ? 0 : p.reaped), 0);
}

/** Local ports of the TCP connections that `pids` hold to `serverPort` (from their fds and /proc/net/tcp{,6}). */
function clientPorts(pids: number[], serverPort: number): Set<number> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1]?.split(':')[1];
      const remote = f[2]?.split(':')[1];
      if (local && remote && Number.parseInt(remote, 16) === serverPort && inodes.has(f[9] ?? '')) ports.add(Number.parseInt(local, 16));
    }
  }
  return ports;
}

/** The client port in a backend's process title, e.g. "postgres: 15/main: postgres test 127.0.0.1(40952) idle". */
function backendClientPort(pid: number): number | undefined {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const m = /\((\d+)\)/.exec(title);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU of the backends that serve the given processes (the gateways), sampled on an interval:
 * a backend is charged from its CPU at the first reading (0 if it started later) to its last
 * sample, so a backend ending between samples loses at most one interval of its CPU.
 */
export class BackendCpuSampler {
  private readonly base = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly ours = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly clients: () => number[],
    private readonly serverPort: number,
    intervalMs: number,
  ) {
    for (const p of postgresProcesses()) this.base.set(p.pid, p.own);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const ports = clientPorts(this.clients(), this.serverPort);
    for (const p of postgresProcesses()) {
      this.last.set(p.pid, p.own);
      const port = backendClientPort(p.pid);
      if (port !== undefined && ports.has(port)) this.ours.add(p.pid);
    }
  }

  /** Stops sampling; CPU seconds of the gateways' backends since construction, and how many backends that was. */
  stop(): { seconds: number; backends: number } {
    clearInterval(this.timer);
    this.sample();
    let seconds = 0;
    for (const pid of this.ours) seconds += (this.last.get(pid) ?? 0) - (this.base.get(pid) ?? 0);
    return { seconds, backends: this.ours.size };
  }
}
