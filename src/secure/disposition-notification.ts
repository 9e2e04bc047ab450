import MimeNode from 'nodemailer/lib/mime-node';

export interface DispositionNotice {
  from: { name: string; address: string };
  to: string;
  subject: string;
  /** The human-readable first part, in the message's language. */
  text: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
  inReplyTo?: string | undefined;
  references?: string | undefined;
  /** The gateway's host name: the Reporting-UA, since the portal displayed the message. */
  reportingHost: string;
  /** The address that opened the message: Original- and Final-Recipient. */
  recipient: string;
  /** The original's Message-ID, with its angle brackets; absent when it had none. */
  originalMessageId?: string | undefined;
}

const NON_ASCII = /[^\x20-\x7e]/;

/**
 * A read receipt as an RFC 8098 message disposition notification, for applications that file
 * receipts by parsing them: `multipart/report; report-type=disposition-notification`, a text part
 * for people and a `message/disposition-notification` part for programs. The recipient opened the
 * message in the portal (a manual action) and the gateway sent this because the organisation
 * asked for receipts, not because the recipient agreed to each one: hence
 * `manual-action/MDN-sent-automatically; displayed` (§3.2.6). An internationalised address is
 * reported with the `utf-8` address type in a `message/global-disposition-notification` part
 * (RFC 6533 §3, §6), since the plain type must stay ASCII.
 */
export async function dispositionNotificationMail(o: DispositionNotice): Promise<Buffer> {
  const international = NON_ASCII.test(o.recipient);
  const addressType = international ? 'utf-8' : 'rfc822';
  const fields = [
    `Reporting-UA: ${o.reportingHost}; Relaygate`,
    `Original-Recipient: ${addressType};${o.recipient}`,
    `Final-Recipient: ${addressType};${o.recipient}`,
    ...(o.originalMessageId ? [`Original-Message-ID: ${o.originalMessageId}`] : []),
    'Disposition: manual-action/MDN-sent-automatically; displayed',
    '',
  ].join('\r\n');

  const options = { newline: '\r\n', disableFileAccess: true, disableUrlAccess: true };
  const root = new MimeNode('multipart/report; report-type=disposition-notification', options);
  root.setHeader('From', o.from);
  root.setHeader('To', o.to);
  root.setHeader('Subject', o.subject);
  root.setHeader('Message-ID', o.messageId);
  root.setHeader('Date', o.date);
  if (o.inReplyTo) root.setHeader('In-Reply-To', o.inReplyTo);
  if (o.references) root.setHeader('References', o.references);
  for (const [key, value] of Object.entries(o.headers)) root.setHeader(key, value);
  root.createChild('text/plain; charset=utf-8').setContent(o.text);
  // A message/* part must not be base64 or quoted-printable (RFC 2046 §5.2.1): 7bit, or 8bit for the global type.
  root
    .createChild(international ? 'message/global-disposition-notification' : 'message/disposition-notification')
    .setHeader('Content-Transfer-Encoding', international ? '8bit' : '7bit')
    .setContent(fields);
  return root.build();
}
