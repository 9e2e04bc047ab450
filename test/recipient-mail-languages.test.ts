import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import PostalMime from 'postal-mime';
import { formatDate, LOCALES, t } from '../src/i18n/index.js';
import { codeMail } from '../src/portal/code-mail.js';
import { readReceiptMail, replyConfirmationMail } from '../src/portal/reply-mail.js';
import { notificationMail } from '../src/secure/notification.js';
import { tinyPng } from './support/brand.js';

const meta = { subject: 'Uitslag van 13 maart', fromName: 'Zorggroep Noord', fromAddress: 'zorg@secure.example.com', messageId: '<m1@secure.example.com>' };
const NOW = Date.UTC(2026, 2, 13, 9, 30);
const header = (mail: Awaited<ReturnType<typeof PostalMime.parse>>, name: string) => mail.headers.find((h) => h.key === name)?.value;

describe('recipient mails in every language, with Content-Language (RFC 3282)', () => {
  for (const locale of LOCALES) {
    test(`${locale}: notification, one-time code, read receipt and reply confirmation`, async () => {
      const logo = { type: 'image/png' as const, content: tinyPng(), version: 'v1' };
      const notification = await PostalMime.parse(
        await notificationMail({
          meta,
          recipient: 'p@example.net',
          link: 'https://portal.example/m/token',
          neutralSubject: true,
          retainUntil: NOW + 86_400_000,
          messageId: '<n@x>',
          now: NOW,
          locale,
          brand: { name: 'Zorggroep Noord', colour: '#0b5394', logo },
        }),
      );
      assert.equal(header(notification, 'content-language'), locale);
      assert.equal(notification.subject, t(locale, 'notify.subject', { sender: 'Zorggroep Noord' }));
      assert.ok(notification.text?.includes(t(locale, 'notify.until', { date: formatDate(locale, NOW + 86_400_000) })), notification.text);
      assert.ok(notification.text?.startsWith('Zorggroep Noord\n'), 'the organisation is named first');
      assert.match(notification.html ?? '', new RegExp(`<html lang="${locale}">`));
      assert.match(notification.html ?? '', /background:#0b5394;color:#ffffff/);
      assert.match(notification.html ?? '', /<img src="cid:brand-logo@relaygate"/);
      const inline = notification.attachments.find((a) => a.contentId === '<brand-logo@relaygate>');
      assert.equal(inline?.disposition, 'inline');
      assert.equal(inline?.mimeType, 'image/png');

      const code = await PostalMime.parse(
        await codeMail({ meta, recipient: 'p@example.net', code: '123456', validMinutes: 10, hostname: 'gw.example', now: NOW, locale }),
      );
      assert.equal(header(code, 'content-language'), locale);
      assert.equal(code.subject, t(locale, 'code.subject', { sender: 'Zorggroep Noord' }));
      assert.match(code.text ?? '', /^ {4}123456$/m);
      assert.ok(code.text?.includes(t(locale, 'code.once', { minutes: 10 })));

      const receipt = await PostalMime.parse(
        await readReceiptMail({ meta, recipient: 'p@example.net', sender: meta.fromAddress, hostname: 'gw.example', now: NOW, locale }),
      );
      assert.equal(header(receipt, 'content-language'), locale);
      assert.equal(receipt.subject, t(locale, 'receipt.subject', { subject: meta.subject }));
      assert.equal(receipt.text?.trim(), t(locale, 'receipt.text', { recipient: 'p@example.net', subject: meta.subject, date: formatDate(locale, NOW) }));

      const confirmation = await PostalMime.parse(await replyConfirmationMail({ meta, recipient: 'p@example.net', hostname: 'gw.example', now: NOW, locale }));
      assert.equal(header(confirmation, 'content-language'), locale);
      assert.equal(confirmation.subject, t(locale, 'confirm.subject', { sender: 'Zorggroep Noord' }));
      assert.ok(!confirmation.text?.includes(meta.subject), 'the confirmation repeats the subject');
    });
  }

  test('the dates are the language’s own', async () => {
    const de = await PostalMime.parse(
      await readReceiptMail({ meta, recipient: 'p@example.net', sender: meta.fromAddress, hostname: 'gw', now: NOW, locale: 'de' }),
    );
    assert.match(de.text ?? '', /am 13\. März 2026 um 09:30 UTC geöffnet\./);
    const fr = await PostalMime.parse(
      await readReceiptMail({ meta, recipient: 'p@example.net', sender: meta.fromAddress, hostname: 'gw', now: NOW, locale: 'fr' }),
    );
    assert.match(fr.text ?? '', /le 13 mars 2026 à 09:30 UTC\./);
    const amsterdam = { meta, recipient: 'p@example.net', hostname: 'gw', now: NOW, locale: 'nl' as const, timeZone: 'Europe/Amsterdam' };
    const nl = await PostalMime.parse(await replyConfirmationMail(amsterdam));
    assert.match(nl.text ?? '', /op 13 maart 2026 om 10:30 CET beveiligd verstuurd\./);
  });

  test('an SVG logo stays out of the mail (few clients show one); the name and colour remain', async () => {
    const mail = await PostalMime.parse(
      await notificationMail({
        meta,
        recipient: 'p@example.net',
        link: 'https://portal.example/m/token',
        neutralSubject: false,
        retainUntil: NOW,
        messageId: '<n@x>',
        now: NOW,
        locale: 'nl',
        brand: { name: 'Zorggroep Noord', colour: null, logo: { type: 'image/svg+xml', content: Buffer.from('<svg/>'), version: 'v' } },
      }),
    );
    assert.equal(mail.attachments.length, 0);
    assert.equal(mail.subject, meta.subject);
    assert.match(mail.html ?? '', /Zorggroep Noord/);
  });
});
