import { createHash, randomBytes } from 'node:crypto';
import { cookieValue } from '../web/cookies.js';
import type { ConsoleSessionStore } from './console-store.js';

export const CONSOLE_COOKIE = 'relaygate_console';
/** An administrator who walked away is signed out after this. */
export const CONSOLE_IDLE_MS = 30 * 60_000;
/** However active, a session ends after a working day. */
export const CONSOLE_MAX_MS = 12 * 60 * 60_000;

export interface ConsoleSession {
  /** The cookie value: 256 random bits, stored only hashed. */
  id: string;
  adminId: string;
}

const idHash = (id: string) => createHash('sha256').update(id).digest('hex');

/** Sessions live in the store (not in the cookie), so signing out, a password change or a disable ends them everywhere. */
export function consoleSessions(store: ConsoleSessionStore) {
  return {
    async create(adminId: string, now: number): Promise<ConsoleSession> {
      const id = randomBytes(32).toString('base64url');
      await store.insertSession({ idHash: idHash(id), adminId, createdAt: now, expiresAt: now + CONSOLE_IDLE_MS });
      return { id, adminId };
    },

    /** The live session the cookie names, its idle time restarted. */
    async find(cookieHeader: string | undefined, now: number): Promise<ConsoleSession | undefined> {
      const id = cookieValue(cookieHeader, CONSOLE_COOKIE);
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
      const row = await store.sessionByHash(idHash(id));
      if (!row) return undefined;
      const created = row.createdAt;
      if (row.expiresAt <= now || created + CONSOLE_MAX_MS <= now) {
        await store.removeSession(row.idHash);
        return undefined;
      }
      await store.extendSession(row.idHash, Math.min(created + CONSOLE_MAX_MS, now + CONSOLE_IDLE_MS));
      return { id, adminId: row.adminId };
    },

    async end(session: ConsoleSession): Promise<void> {
      await store.removeSession(idHash(session.id));
    },
  };
}

export type ConsoleSessions = ReturnType<typeof consoleSessions>;

/** HttpOnly, Secure (loopback counts as secure to browsers), SameSite=Strict, and only under /console. */
export function consoleCookie(session: ConsoleSession | undefined): string {
  const flags = 'HttpOnly; Secure; SameSite=Strict; Path=/console';
  return session ? `${CONSOLE_COOKIE}=${session.id}; ${flags}` : `${CONSOLE_COOKIE}=; Max-Age=0; ${flags}`;
}
