import { newId } from '../lib/ids.js';
import type { UnlockedMessage } from '../secure/vault.js';
import type { PortalLinkStore } from './portal-link-store.js';

/** What the thread shows of one of the recipient's replies. */
export interface ThreadReply {
  sentAt: number;
  text: string;
  files: string[];
}

/** Bound into the AAD: a reply's ciphertext opens only as a reply of this message. */
const PORTAL_REPLY_PURPOSE = 'portal-reply';

/**
 * Keeps what the recipient wrote for their thread, sealed under the message's data key (not
 * the reply mail's own key, which the application's delivery may purge): it is readable only
 * while the message is, and only after the code, as the message is.
 */
export async function keepPortalReply(
  links: PortalLinkStore,
  unlocked: UnlockedMessage,
  recipientId: string,
  reply: { text: string; files: string[]; now: number },
): Promise<void> {
  await links.insertReply({
    id: newId('sprp'),
    messageId: unlocked.row.id,
    recipientId,
    createdAt: reply.now,
    contentSealed: unlocked.sealText(PORTAL_REPLY_PURPOSE, JSON.stringify({ text: reply.text, files: reply.files })),
  });
}

/** The recipient's own replies, oldest first; never another recipient's. */
export async function portalThread(links: PortalLinkStore, unlocked: UnlockedMessage, recipientId: string): Promise<ThreadReply[]> {
  const rows = await links.replies(unlocked.row.id, recipientId);
  return rows.map((row) => {
    const content = JSON.parse(unlocked.openText(PORTAL_REPLY_PURPOSE, row.contentSealed)) as { text: string; files: string[] };
    return { sentAt: row.createdAt, text: content.text, files: content.files };
  });
}
