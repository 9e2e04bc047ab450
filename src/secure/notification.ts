import { randomBytes } from 'node:crypto';
import { composeMail } from './compose.js';
import type { SecureMeta } from './vault.js';

export interface NotificationInput {
  meta: SecureMeta;
  recipient: string;
  /** The portal link with the recipient's own token. */
  link: string;
  /** Organisation setting: say "a secure message" instead of repeating the subject line. */
  neutralSubject: boolean;
  retainUntil: number;
  hostname: string;
  now: number;
}

/**
 * The plain mail that tells a recipient a secure message waits: from the sending address (so
 * it is DKIM-signed for the sender's domain on the normal outbound path), with the sender's
 * name, the subject unless the organisation keeps subjects private, and the link. Nothing of
 * the message's content: the link alone is worth nothing without the one-time code, which
 * goes to the same mailbox only when asked for.
 */
export async function notificationMail(o: NotificationInput): Promise<Buffer> {
  const sender = o.meta.fromName ? `${o.meta.fromName} <${o.meta.fromAddress}>` : o.meta.fromAddress;
  const subject = o.neutralSubject || !o.meta.subject ? `Secure message from ${o.meta.fromName || o.meta.fromAddress}` : o.meta.subject;
  const until = new Date(o.retainUntil).toUTCString();
  const text = [
    `${sender} sent you a secure message.`,
    '',
    'Read it here:',
    o.link,
    '',
    'To open it you will be asked for a one-time code, which is sent to this email address.',
    `The message can be read until ${until}.`,
    '',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<p>${escapeHtml(sender)} sent you a secure message.</p>
<p><a href="${escapeHtml(o.link)}" style="display:inline-block;padding:10px 18px;background:#1d4ed8;color:#fff;text-decoration:none;border-radius:6px">Read the secure message</a></p>
<p style="color:#555">To open it you will be asked for a one-time code, which is sent to this email address. The message can be read until ${escapeHtml(until)}.</p>
</body></html>`;
  return composeMail({
    from: { name: o.meta.fromName, address: o.meta.fromAddress },
    to: o.recipient,
    subject,
    text,
    html,
    messageId: `<notify.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
