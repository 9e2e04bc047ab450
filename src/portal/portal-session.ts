import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/tables.js';
import { cookieValue } from '../web/cookies.js';

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

export async function createSession(db: Db, recipientId: string, now: number): Promise<PortalSession> {
  const id = randomBytes(32).toString('base64url');
  await db
    .insertInto('portal_sessions')
    .values({ id_hash: idHash(id), recipient_id: recipientId, created_at: now, expires_at: now + SESSION_IDLE_MS })
    .execute();
  return { id, recipientId };
}

/** The live session the cookie names, its idle time restarted; undefined (and expired rows removed) otherwise. */
export async function findSession(db: Db, cookieHeader: string | undefined, now: number): Promise<PortalSession | undefined> {
  const id = cookieValue(cookieHeader, SESSION_COOKIE);
  if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const row = await db.selectFrom('portal_sessions').selectAll().where('id_hash', '=', idHash(id)).executeTakeFirst();
  if (!row) return undefined;
  if (row.expires_at <= now || row.created_at + SESSION_MAX_MS <= now) {
    await db.deleteFrom('portal_sessions').where('id_hash', '=', row.id_hash).execute();
    return undefined;
  }
  await db
    .updateTable('portal_sessions')
    .set({ expires_at: Math.min(row.created_at + SESSION_MAX_MS, now + SESSION_IDLE_MS) })
    .where('id_hash', '=', row.id_hash)
    .execute();
  return { id, recipientId: row.recipient_id };
}

export async function endSession(db: Db, session: PortalSession): Promise<void> {
  await db.deleteFrom('portal_sessions').where('id_hash', '=', idHash(session.id)).execute();
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
