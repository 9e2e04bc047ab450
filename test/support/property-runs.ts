import type { Parameters } from 'fast-check';

/**
 * fast-check parameters for the property tests. A failure prints the seed and the shrunk
 * counterexample; RELAYGATE_PROPERTY_SEED=<seed> replays that run (RELAYGATE_PROPERTY_RUNS
 * scales every test's run count, e.g. 10 for a long soak, 0.1 for a quick look).
 */
export function runs<T>(numRuns: number): Parameters<T> {
  const seed = process.env.RELAYGATE_PROPERTY_SEED;
  const scale = Number(process.env.RELAYGATE_PROPERTY_RUNS ?? 1);
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
  };
}
