import { randomBytes } from 'node:crypto';
import { formatDate, type Locale, t } from '../i18n/index.js';
import { composeMail } from '../secure/compose.js';
import { dispositionNotificationMail } from '../secure/disposition-notification.js';
import type { ReadReceiptFormat } from '../secure/secure-settings.js';
import type { SecureMeta } from '../secure/vault.js';

export interface ReplyAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

function replySubject(subject: string): string {
  return /^re:/i.test(subject.trim()) ? subject : `Re: ${subject || '(no subject)'}`;
}

/** Threads on the original Message-ID (RFC 5322 §3.6.4) so the application files it with its ticket. */
function threading(meta: SecureMeta): { inReplyTo?: string; references?: string } {
  return meta.messageId ? { inReplyTo: meta.messageId, references: meta.messageId } : {};
}

/** The secure reply as the application receives it: from the address the recipient proved, to the sending address. */
export async function replyMail(o: {
  meta: SecureMeta;
  recipient: string;
  sender: string;
  text: string;
  attachments: ReplyAttachment[];
  hostname: string;
  now: number;
}): Promise<Buffer> {
  return composeMail({
    from: { name: '', address: o.recipient },
    to: o.sender,
    subject: replySubject(o.meta.subject),
    text: o.text,
    messageId: `<reply.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    ...threading(o.meta),
    attachments: o.attachments,
  });
}

/**
 * Written by the gateway when the recipient first opens the message, if the organisation wants
 * them; in the message's language. `mdn`: the same words as an RFC 8098 disposition notification.
 */
export async function readReceiptMail(o: {
  meta: SecureMeta;
  recipient: string;
  sender: string;
  hostname: string;
  now: number;
  locale: Locale;
  timeZone?: string | undefined;
  format?: ReadReceiptFormat | undefined;
}): Promise<Buffer> {
  const subject = o.meta.subject || t(o.locale, 'message.noSubject');
  const mail = {
    from: { name: t(o.locale, 'portal.name'), address: `postmaster@${o.hostname}` },
    to: o.sender,
    subject: t(o.locale, 'receipt.subject', { subject }),
    text: `${t(o.locale, 'receipt.text', { recipient: o.recipient, subject, date: formatDate(o.locale, o.now, o.timeZone) })}\n`,
    messageId: `<read.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All', 'Content-Language': o.locale },
    ...threading(o.meta),
  };
  if (o.format !== 'mdn') return composeMail(mail);
  return dispositionNotificationMail({ ...mail, reportingHost: o.hostname, recipient: o.recipient, originalMessageId: o.meta.messageId || undefined });
}

/**
 * Tells the recipient their reply left, from the sending address like the code mail. It
 * repeats nothing of what they wrote (that stays behind the code) nor the subject.
 */
export async function replyConfirmationMail(o: {
  meta: SecureMeta;
  recipient: string;
  hostname: string;
  now: number;
  locale: Locale;
  timeZone?: string | undefined;
}): Promise<Buffer> {
  const sender = o.meta.fromName || o.meta.fromAddress;
  return composeMail({
    from: { name: o.meta.fromName, address: o.meta.fromAddress },
    to: o.recipient,
    subject: t(o.locale, 'confirm.subject', { sender }),
    text: [t(o.locale, 'confirm.text', { sender, date: formatDate(o.locale, o.now, o.timeZone) }), '', t(o.locale, 'confirm.note'), ''].join('\n'),
    messageId: `<replied.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All', 'Content-Language': o.locale },
  });
}
