import type { Clock } from '../lib/clock.js';
import type { CounterWindow, SharedCounters } from './auth-counters.js';

/**
 * Counts failed AUTH attempts per key (client IP, user name) in a window. Once a key reaches
 * its limit, further attempts are refused without checking the secret until the window has
 * passed, which makes guessing pointless and keeps a bad client cheap.
 */
export interface AuthThrottle {
  isBlocked(key: string): Promise<boolean>;
  recordFailure(key: string): Promise<void>;
}

/**
 * The throttle for the store's engine: in memory on SQLite, where one instance owns the
 * store and an AUTH costs no write; in the store on PostgreSQL, so that a guesser spreading
 * attempts over several instances meets one limit. `scope` names the kind of key (e.g.
 * `smtp-auth-ip`); throttles with different limits need different scopes.
 */
export function authThrottle(counters: SharedCounters, scope: string, limit: number, windowMs: number, clock: Clock): AuthThrottle {
  return counters.shared ? new SharedFailureThrottle(counters, scope, limit, windowMs, clock) : new FailureThrottle(limit, windowMs, clock);
}

/** In this process's memory, in a fixed window from a key's first failure. */
export class FailureThrottle implements AuthThrottle {
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

  async isBlocked(key: string): Promise<boolean> {
    const entry = this.current(key);
    return entry !== undefined && entry.count >= this.limit;
  }

  async recordFailure(key: string): Promise<void> {
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

/**
 * Sub-buckets per window: each failure is forgotten between 9/10 of the window and the
 * whole window after it, a sliding window to within a tenth.
 */
const BUCKETS_PER_WINDOW = 10;

/** In rate_counters, shared by every instance on the store. */
export class SharedFailureThrottle implements AuthThrottle {
  private readonly window: CounterWindow;
  private readonly limit: number;

  constructor(counters: SharedCounters, scope: string, limit: number, windowMs: number, clock: Clock) {
    this.limit = limit;
    this.window = counters.window({ scope, bucketMs: windowMs / BUCKETS_PER_WINDOW, buckets: BUCKETS_PER_WINDOW }, clock);
  }

  async isBlocked(key: string): Promise<boolean> {
    return (await this.window.count(key)) >= this.limit;
  }

  recordFailure(key: string): Promise<void> {
    return this.window.add(key);
  }
}
