import { hashPortalToken } from '../pipeline/routes/secure.js';
import type { Db, SecureMessagesTable, SecureRecipientsTable } from '../store/tables.js';

/** What a portal link leads to at this moment. */
export type PortalAccess =
  | { kind: 'open'; recipient: SecureRecipientsTable; message: SecureMessagesTable }
  | { kind: 'unknown' }
  /** The sender revoked the message or this recipient's access. */
  | { kind: 'withdrawn'; message: SecureMessagesTable }
  /** Retention is over: the message is (or is about to be) shredded. */
  | { kind: 'expired'; message: SecureMessagesTable }
  /** The sender deleted (shredded) it before its retention ran out. */
  | { kind: 'deleted'; message: SecureMessagesTable }
  /** Too many wrong codes: only the sender or an admin opens it again (link-lock.ts). */
  | { kind: 'locked'; sender: string; message: SecureMessagesTable };

/** The 43 characters of a base64url-encoded 256-bit token. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Looked up afresh on every request, so a revocation or shredding applies to open sessions at once. */
export async function portalAccess(db: Db, token: string, now: number): Promise<PortalAccess> {
  if (!TOKEN_SHAPE.test(token)) return { kind: 'unknown' };
  const recipient = await db.selectFrom('secure_recipients').selectAll().where('token_hash', '=', hashPortalToken(token)).executeTakeFirst();
  if (!recipient) return { kind: 'unknown' };
  const message = await db.selectFrom('secure_messages').selectAll().where('id', '=', recipient.message_id).executeTakeFirst();
  if (!message) return { kind: 'unknown' };
  // Retention shreds at or after retain_until; a shredding before it was the sender's own deletion.
  if (message.shredded_at !== null && message.shredded_at < message.retain_until) return { kind: 'deleted', message };
  if (message.data_key_sealed === null || message.shredded_at !== null || message.retain_until <= now) return { kind: 'expired', message };
  if (message.revoked_at !== null || recipient.revoked_at !== null) return { kind: 'withdrawn', message };
  if (recipient.locked_at !== null) return { kind: 'locked', sender: message.sender, message };
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
