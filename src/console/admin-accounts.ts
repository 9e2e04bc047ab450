import { randomInt } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Actor } from '../directory/context.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { DirectoryError } from '../model/directory-error.js';
import type { AdminRecord, AdminStore } from './console-store.js';
import { FAILURES_PER_ACCOUNT, FAILURES_PER_ACCOUNT_AND_IP, LOCK_WINDOW_MS, type Lock, type SignInLocks } from './sign-in-locks.js';

/** OWASP's minimum for argon2id (19 MiB, 2 passes): about 80 ms here, slow enough to make guessing expensive. */
const ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 12;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export interface Admin {
  id: string;
  email: string;
  mustChangePassword: boolean;
  createdAt: number;
  lastSignInAt: number | null;
  lockedUntil: number | null;
  disabled: boolean;
}

export type SignIn =
  | { ok: true; admin: Admin }
  /** The reason is for the audit log; the person signing in is told the same whatever it is. */
  | { ok: false; reason: 'unknown' | 'wrong-password' | 'disabled' }
  | { ok: false; reason: 'locked'; lock: Lock };

/**
 * Administrator accounts of the web console. Passwords are stored as argon2id hashes only;
 * `create` and `resetPassword` hand out a one-time password that must be changed at the first
 * sign-in. Repeated wrong passwords lock an address out of the account (sign-in-locks.ts).
 */
export function adminAccounts(stores: { admins: AdminStore }, deps: { clock: Clock }) {
  const { admins } = stores;
  const { clock } = deps;

  /** The account-wide lock shows in `relaygate admin list`; an address lock concerns one address only. */
  async function lockedOut(row: AdminRecord, lock: Lock, ip: string, now: number): Promise<void> {
    await admins.change(async (tx) => {
      if (lock === 'account') await tx.lockAdmin(row.id, now + LOCK_WINDOW_MS);
      const failures = lock === 'account' ? FAILURES_PER_ACCOUNT : FAILURES_PER_ACCOUNT_AND_IP;
      await tx.audit(
        { name: 'system:console', ip },
        { action: 'admin.lockout', targetType: 'admin', targetId: row.email, detail: { lock, failures, minutes: LOCK_WINDOW_MS / 60_000 } },
        now,
      );
    });
  }

  async function byEmail(email: string): Promise<AdminRecord | undefined> {
    return admins.adminByEmail(email.trim().toLowerCase());
  }

  return {
    /** Returns the account and the one-time password (shown once), or sets `password` when given. */
    async create(email: string, actor: Actor, password?: string): Promise<{ admin: Admin; oneTimePassword: string | null }> {
      const address = email.trim().toLowerCase();
      if (!EMAIL.test(address)) throw new DirectoryError('invalid', `"${email}" is not an email address`, 'email');
      if (await byEmail(address)) throw new DirectoryError('conflict', `an administrator ${address} exists already`, 'email');
      if (password !== undefined) checkStrength(password);
      const oneTime = password === undefined ? newOneTimePassword() : null;
      const now = clock.now();
      const row: AdminRecord = {
        id: newId('adm'),
        email: address,
        passwordHash: await hash(password ?? oneTime ?? '', ARGON2),
        mustChangePassword: oneTime !== null,
        createdAt: now,
        lastSignInAt: null,
        lastSignInIp: null,
        lockedUntil: null,
        disabledAt: null,
      };
      await admins.change(async (tx) => {
        await tx.insertAdmin(row);
        await tx.audit(actor, { action: 'admin.create', targetType: 'admin', targetId: address, detail: { id: row.id } }, now);
      });
      return { admin: toAdmin(row), oneTimePassword: oneTime };
    },

    async list(): Promise<Admin[]> {
      return (await admins.listAdmins()).map(toAdmin);
    },

    async get(id: string): Promise<Admin | undefined> {
      const row = await admins.adminById(id);
      return row && toAdmin(row);
    },

    /**
     * The slow hash runs whatever the account (unknown, disabled, locked), and the caller gives
     * one answer for every failure: neither its words nor its timing tell which addresses exist
     * or are locked. Locks are per (account, address) first; see sign-in-locks.ts.
     */
    async signIn(email: string, password: string, ip: string, locks: SignInLocks): Promise<SignIn> {
      const row = await byEmail(email);
      const now = clock.now();
      const target = row && { id: row.id, passwordHash: row.passwordHash, lastSignInIp: row.lastSignInIp };
      const held = target ? await locks.lockOf(target, ip) : undefined;
      const passwordOk = await verify(row?.passwordHash ?? (await dummy()), password).catch(() => false);
      if (!row || !target || row.disabledAt !== null) {
        await locks.failed(undefined, ip);
        return { ok: false, reason: row ? 'disabled' : 'unknown' };
      }
      if (held) return { ok: false, reason: 'locked', lock: held };
      if (!passwordOk) {
        const lock = await locks.failed(target, ip);
        if (lock) await lockedOut(row, lock, ip, now);
        return lock ? { ok: false, reason: 'locked', lock } : { ok: false, reason: 'wrong-password' };
      }
      const admin = toAdmin({ ...row, lastSignInAt: now, lastSignInIp: ip });
      await admins.change(async (tx) => {
        await tx.recordSignIn(row.id, now, ip);
        await tx.audit({ name: `admin:${row.email}`, ip }, { action: 'admin.sign-in', targetType: 'admin', targetId: row.email, detail: {} }, now);
      });
      return { ok: true, admin };
    },

    async changePassword(id: string, current: string, next: string, actor: Actor): Promise<void> {
      const row = await admins.adminById(id);
      if (!row) throw new DirectoryError('not_found', 'no such administrator');
      if (!(await verify(row.passwordHash, current).catch(() => false))) throw new DirectoryError('invalid', 'the current password is not right', 'current');
      checkStrength(next);
      if (next === current) throw new DirectoryError('invalid', 'choose a password other than the current one', 'password');
      const now = clock.now();
      const passwordHash = await hash(next, ARGON2);
      await admins.change(async (tx) => {
        await tx.changePassword(id, passwordHash);
        // Other sessions of the account end: whoever knew the old password is signed out.
        await tx.endSessionsOf(id);
        await tx.audit(actor, { action: 'admin.password', targetType: 'admin', targetId: row.email, detail: {} }, now);
      });
    },

    /** A new one-time password (shown once); the account is unlocked and its sessions end. */
    async resetPassword(email: string, actor: Actor): Promise<string> {
      const row = await byEmail(email);
      if (!row) throw new DirectoryError('not_found', `no administrator ${email}; see "relaygate admin list"`, 'email');
      const oneTime = newOneTimePassword();
      const now = clock.now();
      const passwordHash = await hash(oneTime, ARGON2);
      await admins.change(async (tx) => {
        await tx.resetPassword(row.id, passwordHash);
        await tx.endSessionsOf(row.id);
        await tx.audit(actor, { action: 'admin.reset-password', targetType: 'admin', targetId: row.email, detail: {} }, now);
      });
      return oneTime;
    },

    async disable(email: string, actor: Actor): Promise<Admin> {
      const row = await byEmail(email);
      if (!row) throw new DirectoryError('not_found', `no administrator ${email}; see "relaygate admin list"`, 'email');
      const now = clock.now();
      await admins.change(async (tx) => {
        await tx.disableAdmin(row.id, now);
        await tx.endSessionsOf(row.id);
        await tx.audit(actor, { action: 'admin.disable', targetType: 'admin', targetId: row.email, detail: {} }, now);
      });
      return toAdmin({ ...row, disabledAt: now });
    },
  };
}

export type AdminAccounts = ReturnType<typeof adminAccounts>;

function checkStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new DirectoryError('invalid', `a password needs at least ${MIN_PASSWORD_LENGTH} characters; a passphrase of a few words is easiest`, 'password');
}

/** 20 characters from a 31-letter alphabet (about 99 bits), readable aloud: no 0/O, 1/l/I. */
function newOneTimePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const chars = Array.from({ length: 20 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5, 10)}-${chars.slice(10, 15)}-${chars.slice(15)}`;
}

// A real hash of nothing anyone types, verified against when the account does not exist.
let dummyHash: Promise<string> | undefined;
const dummy = () => (dummyHash ??= hash(`unused-${randomInt(1e9)}`, ARGON2));

function toAdmin(row: AdminRecord): Admin {
  return {
    id: row.id,
    email: row.email,
    mustChangePassword: row.mustChangePassword,
    createdAt: row.createdAt,
    lastSignInAt: row.lastSignInAt,
    lockedUntil: row.lockedUntil,
    disabled: row.disabledAt !== null,
  };
}
