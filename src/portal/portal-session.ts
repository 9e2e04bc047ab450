import { createHash, randomBytes } from 'node:crypto';
import { cookieValue } from '../web/cookies.js';
import type { PortalSessionStore } from './portal-session-store.js';

export const SESSION_COOKIE = 'relaygate_portal';
/** Idle sessions end after this; a phone left on a table does not stay signed in. */
export const SESSION_IDLE_MS = 30 * 60_000;
/** However active, a session ends after this and the address is proved again. */
export const SESSION_MAX_MS = 4 * 60 * 60_000;

export interface PortalSession {
  /** The cookie value: 256 random bits, never stored. */
  id: string;
  recipientId: string;
}

function idHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export async function createSession(sessions: PortalSessionStore, recipientId: string, now: number): Promise<PortalSession> {
  const id = randomBytes(32).toString('base64url');
  await sessions.insertSession({ idHash: idHash(id), recipientId, createdAt: now, expiresAt: now + SESSION_IDLE_MS });
  return { id, recipientId };
}

/** The live session the cookie names, its idle time restarted; undefined (and expired rows removed) otherwise. */
export async function findSession(sessions: PortalSessionStore, cookieHeader: string | undefined, now: number): Promise<PortalSession | undefined> {
  const id = cookieValue(cookieHeader, SESSION_COOKIE);
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const row = await sessions.findSession(idHash(id));
  if (!row) return undefined;
  if (row.expiresAt <= now || row.createdAt + SESSION_MAX_MS <= now) {
    await sessions.removeSession(row.idHash);
    return undefined;
  }
  await sessions.extendSession(row.idHash, Math.min(row.createdAt + SESSION_MAX_MS, now + SESSION_IDLE_MS));
  return { id, recipientId: row.recipientId };
}

export async function endSession(sessions: PortalSessionStore, session: PortalSession): Promise<void> {
  await sessions.removeSession(idHash(session.id));
}

/**
 * HttpOnly: no script reads it. Secure: never over plain HTTP, except to loopback, which
 * browsers count as a secure context (Chromium stores it on http://127.0.0.1, checked by the
 * browser test). SameSite=Strict: no other site's page or link makes a request that carries it.
 * Path=/m: the admin API and console never see it. No Max-Age: it ends with the browser too.
 */
export function sessionCookie(session: PortalSession | undefined): string {
  const flags = 'HttpOnly; Secure; SameSite=Strict; Path=/m';
  return session ? `${SESSION_COOKIE}=${session.id}; ${flags}` : `${SESSION_COOKIE}=; Max-Age=0; ${flags}`;
}
