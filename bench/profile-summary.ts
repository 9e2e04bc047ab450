// --profile: the gateway runs with --cpu-prof, and its .cpuprofile is boiled down to where the
// CPU went: self time per function and per module (a node_modules package or a src/ file).
// Enough to name a slow spot with evidence; open the file in Chrome DevTools for the rest.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled time spent working (idle excluded); percentages are of this. */
  totalMs: number;
  idleMs: number;
  topFunctions: { name: string; ms: number; pct: number }[];
  topModules: { module: string; ms: number; pct: number }[];
}

/**
 * The busiest .cpuprofile in dir: every thread writes one (under tsx, its module-loader thread
 * too), and the gateway's work is on the main thread.
 */
export function summarizeProfileDir(dir: string, top = 15): ProfileSummary | undefined {
  const summaries = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => summarizeProfile(join(dir, f), top));
  return summaries.sort((a, b) => b.totalMs - a.totalMs)[0];
}

export function summarizeProfile(file: string, top: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const where = moduleOf(frame.url);
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    mod.set(where, (mod.get(where) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ k, ms: Math.round(us / 1000), pct: Math.round((1000 * us) / total) / 10 }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    topFunctions: rank(fn).map(({ k, ms, pct }) => ({ name: k, ms, pct })),
    topModules: rank(mod).map(({ k, ms, pct }) => ({ module: k, ms, pct })),
  };
}

/** "nodemailer", "src/queue/spool", "node:internal/…", or "(program)"/"(garbage collector)". */
function moduleOf(url: string): string {
  if (!url) return '(native/vm)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const own = /\/(dist|src)\/(.+?)\.(js|ts)$/.exec(url);
  if (own?.[2]) return `src/${own[2]}`;
  return url.replace(/^file:\/\//, '');
}
