import { randomBytes } from 'node:crypto';
import { formatDate, type Locale, t } from '../i18n/index.js';
import { DEFAULT_ACCENT } from './brand-colour.js';
import { composeMail } from './compose.js';
import type { Branding } from './secure-settings.js';
import type { SecureMeta } from './vault.js';

export interface NotificationInput {
  meta: SecureMeta;
  recipient: string;
  /** The portal link with the recipient's own token. */
  link: string;
  /** Organisation setting: say "a secure message" instead of repeating the subject line. */
  neutralSubject: boolean;
  retainUntil: number;
  /** From notificationMessageId: the caller links it to the secure message, so mail answering it is a reply. */
  messageId: string;
  now: number;
  /** The mail's language (mailLocale: the message's Content-Language, else the organisation's default). */
  locale?: Locale | undefined;
  /** The organisation's name, logo and colour; without it the mail is unbranded. */
  brand?: (Pick<Branding, 'name' | 'colour' | 'logo'> & { timeZone?: string | undefined }) | undefined;
}

/** A fresh Message-ID for one notification attempt. */
export function notificationMessageId(hostname: string): string {
  return `<notify.${randomBytes(12).toString('hex')}@${hostname}>`;
}

const LOGO_CID = 'brand-logo@relaygate';

/**
 * The plain mail that tells a recipient a secure message waits: from the sending address (so
 * it is DKIM-signed for the sender's domain on the normal outbound path), with the sender's
 * name, the subject unless the organisation keeps subjects private, and the link. Nothing of
 * the message's content: the link alone is worth nothing without the one-time code, which
 * goes to the same mailbox only when asked for. In the message's language, with the
 * organisation's branding; a PNG logo travels inline (a remote one would be blocked by most
 * clients and would tell when the mail was read), an SVG one not at all (few clients show it).
 */
export async function notificationMail(o: NotificationInput): Promise<Buffer> {
  const locale = o.locale ?? 'en';
  const sender = o.meta.fromName ? `${o.meta.fromName} <${o.meta.fromAddress}>` : o.meta.fromAddress;
  const subject = o.neutralSubject || !o.meta.subject ? t(locale, 'notify.subject', { sender: o.meta.fromName || o.meta.fromAddress }) : o.meta.subject;
  const until = formatDate(locale, o.retainUntil, o.brand?.timeZone);
  const brandName = o.brand?.name ?? null;
  const text = [
    ...(brandName ? [brandName, ''] : []),
    t(locale, 'notify.intro', { sender }),
    '',
    t(locale, 'notify.readHere'),
    o.link,
    '',
    t(locale, 'notify.code'),
    t(locale, 'notify.until', { date: until }),
    '',
  ].join('\n');
  const accent = /^#[0-9a-f]{6}$/.test(o.brand?.colour ?? '') ? (o.brand?.colour as string) : DEFAULT_ACCENT;
  const png = o.brand?.logo?.type === 'image/png' ? o.brand.logo : null;
  const logo = png
    ? `<img src="cid:${LOGO_CID}" alt="${escapeHtml(brandName ?? '')}" style="max-height:48px;max-width:200px;vertical-align:middle;border:0">`
    : '';
  const header =
    logo || brandName
      ? `<div style="border-top:4px solid ${accent};padding:12px 0;font-weight:bold;font-size:18px">${logo}${logo && brandName ? ' ' : ''}${escapeHtml(brandName ?? '')}</div>\n`
      : '';
  const html = `<!doctype html><html lang="${locale}"><body style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;line-height:1.5;color:#1f2328">
${header}<p>${escapeHtml(t(locale, 'notify.intro', { sender }))}</p>
<p><a href="${escapeHtml(o.link)}" style="display:inline-block;padding:10px 18px;background:${accent};color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold">${escapeHtml(t(locale, 'notify.button'))}</a></p>
<p style="color:#59636e">${escapeHtml(t(locale, 'notify.code'))} ${escapeHtml(t(locale, 'notify.until', { date: until }))}</p>
</body></html>`;
  return composeMail({
    from: { name: o.meta.fromName, address: o.meta.fromAddress },
    to: o.recipient,
    subject,
    text,
    html,
    messageId: o.messageId,
    date: new Date(o.now),
    headers: { 'Content-Language': locale },
    attachments: png ? [{ filename: 'logo.png', contentType: 'image/png', content: png.content, cid: LOGO_CID }] : undefined,
  });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
