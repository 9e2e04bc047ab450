import type { Clock } from '../lib/clock.js';
import type { CounterWindow, SharedCounters } from './auth-counters.js';
import { type AuthThrottle, authThrottle } from './auth-throttle.js';

export interface AuthAttempt {
  username: string;
  ip: string;
  /** The credential has allowed networks and the client is not in them (credential-login.ts). */
  outsideAllowedNetworks: boolean;
}

/**
 * The per-user-name AUTH lock, shaped so that knowing a user name is not enough to lock its
 * application out (NIST SP 800-63B §5.2.2 names both measures):
 * - failures from outside a credential's allowed networks are counted apart, and lock only
 *   clients outside them, who could not use the credential anyway;
 * - an address that authenticated as the user name within the known-source window is not
 *   held by the lock at all: it stays bound by the per-address throttle only.
 * On PostgreSQL the counts and the known sources are shared by every instance on the store.
 */
export interface UserLock {
  isLocked(attempt: AuthAttempt): Promise<boolean>;
  recordFailure(attempt: AuthAttempt): Promise<void>;
  recordSuccess(attempt: AuthAttempt): Promise<void>;
}

export interface UserLockOptions {
  failuresPerUser: number;
  failureWindowMs: number;
  knownSourceWindowMs: number;
}

export function userLock(counters: SharedCounters, o: UserLockOptions, clock: Clock): UserLock {
  const inside = authThrottle(counters, 'smtp-auth-user', o.failuresPerUser, o.failureWindowMs, clock);
  const outside = authThrottle(counters, 'smtp-auth-user-outside', o.failuresPerUser, o.failureWindowMs, clock);
  const known = new KnownSources(counters, o.knownSourceWindowMs, clock);
  const failures = (attempt: AuthAttempt): AuthThrottle => (attempt.outsideAllowedNetworks ? outside : inside);
  return {
    async isLocked(attempt) {
      // The known-source lookup only when the lock is reached: most AUTHs cost one read here.
      if (!(await failures(attempt).isBlocked(attempt.username))) return false;
      return !(await known.has(attempt));
    },
    recordFailure: (attempt) => failures(attempt).recordFailure(attempt.username),
    recordSuccess: (attempt) => known.remember(attempt),
  };
}

/** A day in hourly buckets: a success is remembered for between 23/24 and all of the window. */
const KNOWN_SOURCE_BUCKETS = 24;
/** Bounds the memory of which sources were written this bucket; forgetting only costs a write. */
const MAX_REMEMBERED = 10_000;

/**
 * Addresses that authenticated as a user name recently, in the store on both engines, so
 * that a restart does not forget them and open a window for a lock-out. Written at most
 * once per bucket per address and user name by each process, not on every AUTH.
 */
class KnownSources {
  private readonly window: CounterWindow;
  private readonly bucketMs: number;
  private readonly clock: Clock;
  private readonly written = new Map<string, number>();

  constructor(counters: SharedCounters, windowMs: number, clock: Clock) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / KNOWN_SOURCE_BUCKETS));
    this.window = counters.window({ scope: 'smtp-auth-known-source', bucketMs: this.bucketMs, buckets: KNOWN_SOURCE_BUCKETS }, clock);
    this.clock = clock;
  }

  async has(attempt: AuthAttempt): Promise<boolean> {
    return (await this.window.count(keyOf(attempt))) > 0;
  }

  async remember(attempt: AuthAttempt): Promise<void> {
    const key = keyOf(attempt);
    const bucket = Math.floor(this.clock.now() / this.bucketMs);
    if (this.written.get(key) === bucket) return;
    if (this.written.size >= MAX_REMEMBERED) this.written.clear();
    await this.window.add(key);
    this.written.set(key, bucket);
  }
}

/** An address has no spaces, so the first one splits the key unambiguously whatever the user name holds. */
function keyOf(attempt: AuthAttempt): string {
  return `${attempt.ip} ${attempt.username}`;
}
