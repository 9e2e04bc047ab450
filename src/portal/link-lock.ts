import { newId } from '../lib/ids.js';
import type { LinkLockChanges, LinkLockStore } from './link-lock-store.js';
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
  locks: LinkLockStore;
  clock: { now(): number };
  /** How long the webhook event is retried, like the queue's delivery events. */
  eventExpireAfterMs: number;
}

/** After a refused code: whether the link is locked now (and if it just reached a limit, locks it and tells of it). */
export async function lockedByGuessing(deps: PortalDeps, open: Open, checked: CodeCheck, ip: string): Promise<boolean> {
  if (checked.kind !== 'wrong' && checked.kind !== 'locked') return false;
  const locked = await lockIfGround(
    { locks: deps.stores.locks, clock: deps.clock, eventExpireAfterMs: deps.queue.expireAfterMs },
    open,
    checked.wrongCodes,
    ip,
  );
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
  const forAddress = await deps.locks.wrongCodesOfAddress(open.recipient.address, deps.clock.now());
  if (forAddress < ADDRESS_MAX_WRONG_CODES) return false;
  await lockLink(
    deps,
    open,
    { wrongCodes, reason: `${forAddress} wrong codes for ${open.recipient.address} across its links (limit ${ADDRESS_MAX_WRONG_CODES})` },
    ip,
  );
  return true;
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
  await deps.locks.change(async (tx) => {
    if (!(await tx.lockRecipient(recipient.id, now))) return;
    await tx.endSessions(recipient.id);
    await tx.logEvent({ messageId: message.id, at: now, kind: 'portal-locked', recipient: recipient.address, detail: `${why.reason}; the last from ${ip}` });
    await queueWebhookEvent(tx, deps, open, why, now);
    const detail = { recipient: recipient.address, wrongCodes: why.wrongCodes, reason: why.reason };
    await tx.audit({ name: 'system:portal', ip }, { action: 'secure.recipient.lock', targetType: 'secure-message', targetId: message.id, detail }, now);
  });
}

/**
 * Stored whether or not the sender's domain has a webhook: the dispatcher drops an event
 * nobody can receive, and a lock is rare enough that the row costs nothing.
 */
async function queueWebhookEvent(tx: LinkLockChanges, deps: LockDeps, open: Open, why: { wrongCodes: number; reason: string }, now: number) {
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
  await tx.queueWebhookEvent({
    id,
    senderDomain: sender.slice(sender.lastIndexOf('@') + 1).toLowerCase(),
    payload: JSON.stringify(payload),
    at: now,
    expiresAt: now + deps.eventExpireAfterMs,
  });
}
