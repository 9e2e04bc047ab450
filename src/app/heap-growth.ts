import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection left alive, in
 * percent: V8 picks 10 % to 300 % from its collector's speed against the program's, and on a
 * gateway it picked near the top. Under 20 sessions of 10 KiB, objects that outlive a session's
 * young-generation collections (its buffers, its parser state) were promoted and piled up from
 * 28 to 88 MB of old space before the first full collection, RSS 166 -> 238 MB (bench c20-10k,
 * VmRSS every 50 ms); at 50 % the old generation stays under 1.5 x what is alive and the peak
 * was 171 MB, for the same gateway CPU per message (6.7 -> 6.8 ms, within the bench's noise).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * The young generation's two semi-spaces grow, by doubling, up to this each (V8's own limit is
 * 16 MB here, and the start alone reached it: 32 MB of RSS, idle or not). With node's
 * --max-semi-space-size=8 the bench measured idle RSS 138 -> 127 MB and the c20-10k peak
 * 169 -> 153 MB, for a gateway CPU per message within the bench's noise (7.2-9.4 ms at 16 MB,
 * 8.8 ms at 8 MB); at 4 MB it was 10.2 ms, more objects outliving their collections. Held
 * from here (boundHeapGrowth), idle RSS was 119-126 MB.
 */
export const MAX_SEMI_SPACE_BYTES = 8 * 1024 * 1024;

/** V8's default --semi-space-growth-factor: each growth doubles the young generation. */
const DEFAULT_GROWTH_FACTOR = 2;

/**
 * For the long-running gateway only, before it loads. V8 fixes the heap's sizes when it creates
 * the isolate (--max-semi-space-size would need a flag on node's command line), but reads these
 * two flags each time it uses them: --heap-growing-percent when it sets the next full
 * collection's limit, --semi-space-growth-factor when the young generation grows. So after
 * each collection the young generation is held where it is once it has reached
 * MAX_SEMI_SPACE_BYTES, and let grow again should V8 have shrunk it (it does after a full
 * collection while little is allocated, as at the first of a burst after idle). Collections
 * are reported after the fact: within a burst it can regrow by two steps before the next
 * report, to 16 MB (seen under c20-10k), which is where it would have been without this.
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  let holding = false;
  const hold = () => {
    const atLimit = semiSpaceBytes() >= MAX_SEMI_SPACE_BYTES;
    if (atLimit === holding) return;
    setFlagsFromString(`--semi-space-growth-factor=${atLimit ? 1 : DEFAULT_GROWTH_FACTOR}`);
    holding = atLimit;
  };
  hold();
  new PerformanceObserver(hold).observe({ entryTypes: ['gc'] });
}

/** One semi-space: the new space's size counts both. */
function semiSpaceBytes(): number {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return (young?.space_size ?? 0) / 2;
}
