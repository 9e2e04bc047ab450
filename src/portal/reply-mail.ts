import { randomBytes } from 'node:crypto';
import { composeMail } from '../secure/compose.js';
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

/** Written by the gateway when the recipient first opens the message, if the organisation wants them. */
export async function readReceiptMail(o: { meta: SecureMeta; recipient: string; sender: string; hostname: string; now: number }): Promise<Buffer> {
  const at = new Date(o.now).toUTCString();
  return composeMail({
    from: { name: 'Secure message portal', address: `postmaster@${o.hostname}` },
    to: o.sender,
    subject: `Read: ${o.meta.subject || '(no subject)'}`,
    text: `${o.recipient} opened your secure message '${o.meta.subject}' at ${at}.\n`,
    messageId: `<read.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    ...threading(o.meta),
  });
}
