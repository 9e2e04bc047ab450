import { hashPortalToken } from '../pipeline/routes/secure.js';
import type { PortalLinkStore, PortalMessage, PortalRecipient } from './portal-link-store.js';

/** What a portal link leads to at this moment. */
export type PortalAccess =
  | { kind: 'open'; recipient: PortalRecipient; message: PortalMessage }
  | { kind: 'unknown' }
  /** The sender revoked the message or this recipient's access. */
  | { kind: 'withdrawn'; message: PortalMessage }
  /** Retention is over: the message is (or is about to be) shredded. */
  | { kind: 'expired'; message: PortalMessage }
  /** The sender deleted (shredded) it before its retention ran out. */
  | { kind: 'deleted'; message: PortalMessage }
  /** Too many wrong codes: only the sender or an admin opens it again (link-lock.ts). */
  | { kind: 'locked'; sender: string; message: PortalMessage };

/** The 43 characters of a base64url-encoded 256-bit token. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Looked up afresh on every request, so a revocation or shredding applies to open sessions at once. */
export async function portalAccess(links: PortalLinkStore, token: string, now: number): Promise<PortalAccess> {
  if (!TOKEN_SHAPE.test(token)) return { kind: 'unknown' };
  const recipient = await links.recipientByToken(hashPortalToken(token));
  if (!recipient) return { kind: 'unknown' };
  const message = await links.message(recipient.messageId);
  if (!message) return { kind: 'unknown' };
  // Retention shreds at or after retain_until; a shredding before it was the sender's own deletion.
  if (message.shreddedAt !== null && message.shreddedAt < message.retainUntil) return { kind: 'deleted', message };
  if (!message.hasDataKey || message.shreddedAt !== null || message.retainUntil <= now) return { kind: 'expired', message };
  if (message.revokedAt !== null || recipient.revokedAt !== null) return { kind: 'withdrawn', message };
  if (recipient.lockedAt !== null) return { kind: 'locked', sender: message.sender, message };
  return { kind: 'open', recipient, message };
}

/** `p*****t@example.net`: enough for the recipient to recognise, little for a passer-by. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const shown = local.length <= 2 ? `${local[0] ?? ''}*` : `${local[0]}${'*'.repeat(Math.min(local.length - 2, 6))}${local[local.length - 1]}`;
  return `${shown}@${domain}`;
}
