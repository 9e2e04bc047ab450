import { randomBytes } from 'node:crypto';
import { type Locale, t } from '../i18n/index.js';
import { composeMail } from '../secure/compose.js';
import type { SecureMeta } from '../secure/vault.js';

/**
 * The one-time code, from the secure message's sending address like the notification (same
 * outbound connection, same DKIM domain), and nothing of the message but who sent it; in the
 * notification's language.
 */
export async function codeMail(o: {
  meta: SecureMeta;
  recipient: string;
  code: string;
  validMinutes: number;
  hostname: string;
  now: number;
  locale: Locale;
}): Promise<Buffer> {
  const sender = o.meta.fromName || o.meta.fromAddress;
  const text = [
    t(o.locale, 'code.intro', { sender }),
    '',
    `    ${o.code}`,
    '',
    t(o.locale, 'code.once', { minutes: o.validMinutes }),
    t(o.locale, 'code.ignore'),
    '',
  ].join('\n');
  return composeMail({
    from: { name: o.meta.fromName, address: o.meta.fromAddress },
    to: o.recipient,
    subject: t(o.locale, 'code.subject', { sender }),
    text,
    messageId: `<code.${randomBytes(12).toString('hex')}@${o.hostname}>`,
    date: new Date(o.now),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All', 'Content-Language': o.locale },
  });
}
