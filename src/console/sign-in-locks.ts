import { createHash } from 'node:crypto';
import type { AuthThrottle } from '../smtp/auth-throttle.js';

/** Wrong passwords for one account from one address before that address is refused for it. */
export const FAILURES_PER_ACCOUNT_AND_IP = 5;
/**
 * Wrong passwords for one account from all addresses together (NIST SP 800-63B §5.2.2: at
 * most 100) before it is refused everywhere but at the address it last signed in from.
 */
export const FAILURES_PER_ACCOUNT = 100;
/** Per client address over all accounts: one address cannot try many accounts quickly. */
export const FAILURES_PER_IP = 20;
export const LOCK_WINDOW_MS = 15 * 60_000;

export interface LockTarget {
  id: string;
  passwordHash: string;
  lastSignInIp: string | null;
}

export type Lock = 'address' | 'account';

/**
 * A failure count in a window, `scope` naming the kind of key: in memory on SQLite, in the
 * store on PostgreSQL (authThrottle in src/smtp/auth-throttle.ts, wired by src/app).
 */
export type ThrottleFactory = (scope: string, limit: number, windowMs: number) => AuthThrottle;

/**
 * Why not one lock per account: anyone who knows an administrator's address could then lock
 * them out by typing wrong passwords. Failures are counted per (account, address): a guesser
 * locks only their own address out of the account. A guesser with many addresses reaches the
 * much higher per-account limit, which still lets the administrator in from the address of
 * their last good sign-in. Each count is keyed by the password it was against too, so a
 * password reset (a new password) starts afresh. Counted in the store on PostgreSQL, so every
 * instance serving the console sees the same failures (see authThrottle).
 */
export function signInLocks(throttle: ThrottleFactory) {
  const pair = throttle('console-sign-in-account-ip', FAILURES_PER_ACCOUNT_AND_IP, LOCK_WINDOW_MS);
  const account = throttle('console-sign-in-account', FAILURES_PER_ACCOUNT, LOCK_WINDOW_MS);
  const address = throttle('console-sign-in-ip', FAILURES_PER_IP, LOCK_WINDOW_MS);
  const accountKey = (target: LockTarget) => `${target.id}:${createHash('sha256').update(target.passwordHash).digest('hex').slice(0, 16)}`;

  async function lockOf(target: LockTarget, ip: string): Promise<Lock | undefined> {
    if (await pair.isBlocked(`${accountKey(target)}|${ip}`)) return 'address';
    if (target.lastSignInIp !== ip && (await account.isBlocked(accountKey(target)))) return 'account';
    return undefined;
  }

  return {
    /** Too many failures from this address over all accounts: refused before any password is checked. */
    addressThrottled: (ip: string) => address.isBlocked(ip),

    /** The lock that keeps `ip` out of the account, if any. */
    lockOf,

    /** Counts a wrong password (or an unknown account); the lock it brought about, if it just did. */
    async failed(target: LockTarget | undefined, ip: string): Promise<Lock | undefined> {
      await address.recordFailure(ip);
      if (!target) return undefined;
      await pair.recordFailure(`${accountKey(target)}|${ip}`);
      await account.recordFailure(accountKey(target));
      return lockOf(target, ip);
    },
  };
}

export type SignInLocks = ReturnType<typeof signInLocks>;
