import { sql, type Transaction } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import { newId } from '../lib/ids.js';
import type { Database, Db } from '../store/tables.js';
import { type CodeCheck, LINK_MAX_WRONG_CODES } from './one-time-code.js';
import type { Open } from './portal-context.js';
import type { PortalDeps } from './portal-deps.js';

/**
 * Wrong codes one address may see over all its live links (messages not yet shredded) before
 * the link being guessed locks too: someone holding several links of one mailbox gets 50
 * guesses in all, not 20 per link. A recipient with many messages who mistypes now and then
 * stays far below it; an unlock gives back that link's share.
 */
export const ADDRESS_MAX_WRONG_CODES = 50;

export interface LockDeps {
  db: Db;
  clock: { now(): number };
  /** How long the webhook event is retried, like the queue's delivery events. */
  eventExpireAfterMs: number;
}

/** After a refused code: whether the link is locked now (and if it just reached a limit, locks it and tells of it). */
export async function lockedByGuessing(deps: PortalDeps, open: Open, checked: CodeCheck, ip: string): Promise<boolean> {
  if (checked.kind !== 'wrong' && checked.kind !== 'locked') return false;
  const locked = await lockIfGround({ db: deps.db, clock: deps.clock, eventExpireAfterMs: deps.queue.expireAfterMs }, open, checked.wrongCodes, ip);
  if (locked)
    deps.log.warn({ event: 'portal.link.locked', recipient: open.recipient.id, wrongCodes: checked.wrongCodes, ip }, 'portal link locked after wrong codes');
  return locked;
}

/** After a wrong code: locks the link if it, or its address across links, reached its limit. True when the link is now locked. */
export async function lockIfGround(deps: LockDeps, open: Open, wrongCodes: number, ip: string): Promise<boolean> {
  if (wrongCodes >= LINK_MAX_WRONG_CODES) {
    await lockLink(deps, open, { wrongCodes, reason: `${wrongCodes} wrong codes for this link (limit ${LINK_MAX_WRONG_CODES})` }, ip);
    return true;
  }
  const forAddress = await wrongCodesOfAddress(deps.db, open.recipient.address, deps.clock.now());
  if (forAddress < ADDRESS_MAX_WRONG_CODES) return false;
  await lockLink(
    deps,
    open,
    { wrongCodes, reason: `${forAddress} wrong codes for ${open.recipient.address} across its links (limit ${ADDRESS_MAX_WRONG_CODES})` },
    ip,
  );
  return true;
}

async function wrongCodesOfAddress(db: Db, address: string, now: number): Promise<number> {
  const row = await db
    .selectFrom('secure_recipients as r')
    .innerJoin('secure_messages as m', 'm.id', 'r.message_id')
    .select((eb) => eb.fn.sum<number | null>('r.otp_failures').as('total'))
    .where(sql<string>`lower(r.address)`, '=', address.toLowerCase())
    .where('m.shredded_at', 'is', null)
    .where('m.retain_until', '>', now)
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}

/**
 * Locks the link and, in the same transaction, tells the sender and the admins: a
 * `portal-locked` event in the message's log (console timeline, `relaygate queue show`), a
 * `secure.link.locked` webhook event for the sender's application, an audit record. Open
 * sessions end. Only the request that actually locks it records anything.
 */
export async function lockLink(deps: LockDeps, open: Open, why: { wrongCodes: number; reason: string }, ip: string): Promise<void> {
  const now = deps.clock.now();
  const { message, recipient } = open;
  await deps.db.transaction().execute(async (trx) => {
    const locked = await trx
      .updateTable('secure_recipients')
      .set({ locked_at: now })
      .where('id', '=', recipient.id)
      .where('locked_at', 'is', null)
      .executeTakeFirst();
    if (Number(locked.numUpdatedRows) !== 1) return;
    await trx.deleteFrom('portal_sessions').where('recipient_id', '=', recipient.id).execute();
    await trx
      .insertInto('events')
      .values({ message_id: message.id, at: now, kind: 'portal-locked', recipient: recipient.address, detail: `${why.reason}; the last from ${ip}` })
      .execute();
    await queueWebhookEvent(trx, deps, open, why, now);
    const detail = { recipient: recipient.address, wrongCodes: why.wrongCodes, reason: why.reason };
    await appendAudit(trx, { name: 'system:portal', ip }, { action: 'secure.recipient.lock', targetType: 'secure-message', targetId: message.id, detail }, now);
  });
}

/**
 * Stored whether or not the sender's domain has a webhook: the dispatcher drops an event
 * nobody can receive, and a lock is rare enough that the row costs nothing.
 */
async function queueWebhookEvent(trx: Transaction<Database>, deps: LockDeps, open: Open, why: { wrongCodes: number; reason: string }, now: number) {
  const id = newId('evt');
  const sender = open.message.sender;
  const payload = {
    type: 'secure.link.locked',
    id,
    at: new Date(now).toISOString(),
    queueId: open.message.id,
    mailFrom: sender,
    recipient: open.recipient.address,
    wrongCodes: why.wrongCodes,
    reason: why.reason,
  };
  await trx
    .insertInto('event_deliveries')
    .values({
      id,
      sender_domain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(),
      payload: JSON.stringify(payload),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      expires_at: now + deps.eventExpireAfterMs,
      last_reply: null,
      created_at: now,
    })
    .execute();
}
