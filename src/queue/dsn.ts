import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../lib/rfc5322-date.js';

export interface FailedRecipient {
  address: string;
  orcpt?: string | undefined;
  status: string;
  reply: string;
  /** The host that gave the reply, when one did. */
  remoteMta?: string | undefined;
}

export interface DsnInput {
  reportingMta: string;
  queueId: string;
  originalSender: string;
  arrivalDate: number;
  envId?: string | undefined;
  failed: FailedRecipient[];
  /** The original header block, CRLF line endings, ending with CRLF; absent when the body could not be read. */
  originalHeaders?: Buffer | undefined;
  now: number;
}

/**
 * A non-delivery report in the RFC 3464 format: multipart/report with a human-readable
 * part, a message/delivery-status part and the original headers (RFC 3462 text/rfc822-headers;
 * the body is never returned, as it may be large or confidential).
 */
export function buildDsn(input: DsnInput): Buffer {
  const boundary = `rg-dsn-${randomBytes(12).toString('hex')}`;
  const postmaster = `MAILER-DAEMON@${input.reportingMta}`;
  const list = input.failed.map((f) => `  <${f.address}>: ${f.reply}`).join('\r\n');
  const perMessage = [`Reporting-MTA: dns; ${input.reportingMta}`, `X-Relaygate-Queue-ID: ${input.queueId}`, `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`];
  if (input.envId) perMessage.splice(1, 0, `Original-Envelope-Id: ${input.envId}`);
  const perRecipient = input.failed.map((f) => {
    const fields = [];
    if (f.orcpt) fields.push(`Original-Recipient: ${f.orcpt}`);
    fields.push(`Final-Recipient: rfc822; ${f.address}`, 'Action: failed', `Status: ${f.status}`);
    if (f.remoteMta) fields.push(`Remote-MTA: dns; ${f.remoteMta}`);
    fields.push(`Diagnostic-Code: smtp; ${f.reply}`, `Last-Attempt-Date: ${rfc5322Date(input.now)}`);
    return fields.join('\r\n');
  });
  const text = [
    `From: Mail Delivery System <${postmaster}>`,
    `To: <${input.originalSender}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <${input.queueId}.${randomBytes(6).toString('hex')}@${input.reportingMta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated delivery status notification.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `This is the mail gateway at ${input.reportingMta}.`,
    '',
    'Your message could not be delivered to one or more recipients.',
    'It has been given up on; the reasons are below.',
    ...(input.originalHeaders ? [] : ['The message itself could not be read back, so its header section is not included.']),
    '',
    list,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    perMessage.join('\r\n'),
    '',
    perRecipient.join('\r\n\r\n'),
    '',
  ].join('\r\n');
  // RFC 3462 §1: the third part, the returned content, is optional.
  if (!input.originalHeaders) return Buffer.from(`${text}\r\n--${boundary}--\r\n`);
  const third = [`--${boundary}`, 'Content-Type: text/rfc822-headers', ''].join('\r\n');
  return Buffer.concat([Buffer.from(`${text}\r\n${third}\r\n`), input.originalHeaders, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
