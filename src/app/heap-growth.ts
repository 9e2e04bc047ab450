import { setFlagsFromString } from 'node:v8';

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
 * For the long-running gateway only, before it loads: V8 reads this flag each time it sets the
 * next collection's limit, so setting it once the VM runs takes effect at the next full
 * collection (unlike the heap's sizes, which V8 fixes when it creates the isolate).
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
