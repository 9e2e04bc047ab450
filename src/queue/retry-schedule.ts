export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Exponential backoff (initial × 2^(attempt-1), capped) with ±20 % jitter, so that the
 * messages deferred by one smarthost outage do not all come back in the same second.
 * Never later than the expiry: the last attempt happens at expiry, and its failure bounces.
 */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, now: number, expiresAt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempts - 1));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.min(expiresAt, Math.round(now + jittered));
}
