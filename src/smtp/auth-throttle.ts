import type { Clock } from '../lib/clock.js';

/**
 * Counts failed AUTH attempts per key (client IP, username) in a fixed window. Once a key
 * reaches its limit, further attempts are refused without checking the secret until the
 * window has passed, which makes guessing pointless and keeps a bad client cheap.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** Bounds memory under a flood of distinct keys. */
  private readonly maxKeys = 100_000;

  constructor(limit: number, windowMs: number, clock: Clock) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.clock = clock;
  }

  blocked(key: string): boolean {
    const entry = this.current(key);
    return entry !== undefined && entry.count >= this.limit;
  }

  fail(key: string): void {
    const entry = this.current(key);
    if (entry) entry.count += 1;
    else {
      if (this.failures.size >= this.maxKeys) this.failures.delete(this.failures.keys().next().value as string);
      this.failures.set(key, { count: 1, since: this.clock.now() });
    }
  }

  private current(key: string): { count: number; since: number } | undefined {
    const entry = this.failures.get(key);
    if (entry && this.clock.now() - entry.since >= this.windowMs) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }
}
