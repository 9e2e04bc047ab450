// One clock for every bench process: epoch milliseconds with sub-millisecond resolution, so
// times reported by the load generator child and seen by the runner can be subtracted.
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
