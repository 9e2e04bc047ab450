import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import PostalMime from 'postal-mime';
import { CATALOGUES, formatDate, LOCALES, type Locale, t } from '../src/i18n/index.js';
import { composeMail } from '../src/secure/compose.js';
import { SVG_LOGO } from './support/brand.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { HARNESS_ACTOR } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';

const SLOW_OK = { timeout: 120_000 };
const unavailable = browserUnavailable();
/** Screenshots for the review, like test-output/console/ for the console. */
const SHOTS = join(process.cwd(), 'test-output', 'portal');
const PHONE = { width: 390, height: 844 };
/** Chromium's locale for each portal language: what it sends as Accept-Language. */
const BROWSER_LOCALE: Record<Locale, string> = { en: 'en-GB', nl: 'nl-NL', de: 'de-DE', fr: 'fr-FR' };
const ACCENT = 'rgb(11, 83, 148)';

async function message(lab: PortalLab, to: string, o: { subject: string; html: string; contentLanguage?: string }): Promise<string> {
  const raw = await composeMail({
    from: { name: 'Zorggroep Noord', address: SECURE_SENDER },
    to,
    subject: o.subject,
    text: 'text part',
    html: o.html,
    messageId: `<${to.split('@')[0]}@secure.example.com>`,
    date: new Date(Date.UTC(2026, 2, 13, 9, 30)),
    headers: o.contentLanguage ? { 'Content-Language': o.contentLanguage } : {},
  });
  return (await lab.sendSecure(raw, [to])).get(to) ?? '';
}

/** The font the page's text is really drawn with (not the CSS list): the issue saw the browser's default serif. */
async function renderedFont(page: Page, selector: string): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument');
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  return fonts.map((f) => f.familyName).join(', ');
}

async function checkPhoneLayout(page: Page, what: string): Promise<void> {
  const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
  assert.ok(width <= PHONE.width, `${what} scrolls sideways on a 390 px screen (${width} px)`);
}

/**
 * WCAG 2.1 SC 1.4.3 on the page as drawn: every element with its own text, its colour against
 * the first opaque background behind it, at least 4.5:1 (3:1 for large text). Run in the page,
 * from a string: the tests compile without the DOM library.
 */
const CONTRAST_AUDIT = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c; } return [255, 255, 255]; };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('iframe') || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
  }
  return failures;
})()`;

/** Every visible form control has a label a screen reader announces. */
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]), textarea, select, button')]
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()).map((e) => e.outerHTML)`;

async function checkAccessible(page: Page, what: string): Promise<void> {
  assert.deepEqual(await page.evaluate(CONTRAST_AUDIT), [], `${what}: text below the WCAG contrast`);
  assert.deepEqual(await page.evaluate(UNLABELLED), [], `${what}: controls without a label`);
}

async function signIn(page: Page, lab: PortalLab, locale: Locale, recipient: string): Promise<void> {
  const before = lab.sink.messages.length;
  await page.getByRole('button', { name: t(locale, 'landing.sendCode') }).click();
  const code = await lab.codeFor(recipient, before);
  // The page as the recipient sees it once the code is on its way.
  await page.getByText((CATALOGUES[locale]['landing.codeSent'].split('{')[0] ?? '').trim()).waitFor();
  if (locale === 'en' || locale === 'de') await page.screenshot({ path: join(SHOTS, `code-${locale}.png`), fullPage: true });
  await page.getByLabel(t(locale, 'landing.codeLabel')).fill(code);
  await page.getByRole('button', { name: t(locale, 'landing.open') }).click();
}

describe('the portal in four languages, branded, with the thread (Chromium)', needsPeer(unavailable), () => {
  let lab: PortalLab;
  let browser: Browser;
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    lab = await startPortalLab();
    await lab.gw.services((s) =>
      s.secureSettings.update(
        { locale: 'nl', timeZone: 'Europe/Amsterdam', brandName: 'Zorggroep Noord', brandColour: '#0b5394', brandLogo: Buffer.from(SVG_LOGO) },
        HARNESS_ACTOR,
      ),
    );
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  for (const locale of LOCALES) {
    test(
      `${locale}: Accept-Language picks the language; landing, message, thread, reply and sign-out pages are in it, branded, on a phone`,
      SLOW_OK,
      async () => {
        const recipient = `patient-${locale}@example.net`;
        const link = await message(lab, recipient, {
          subject: `Results ${locale}`,
          html: '<p>Dear patient,</p><p>your results are fine.</p><img src="https://tracker.example/pixel.gif" alt="">',
        });
        const context = await browser.newContext({ locale: BROWSER_LOCALE[locale], viewport: PHONE, deviceScaleFactor: 1 });
        const page = await context.newPage();
        await page.goto(link);
        assert.equal(await page.locator('html').getAttribute('lang'), locale);
        await page.getByRole('heading', { name: t(locale, 'landing.heading') }).waitFor();
        assert.equal(await page.locator('header.brand .org span').textContent(), 'Zorggroep Noord');
        const logo = page.getByRole('img', { name: t(locale, 'portal.logoAlt', { name: 'Zorggroep Noord' }) });
        assert.ok(await logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'the logo did not load');
        const button = page.getByRole('button', { name: t(locale, 'landing.sendCode') });
        assert.equal(
          await button.evaluate(
            (b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor,
          ),
          ACCENT,
        );
        const font = await renderedFont(page, 'h1');
        assert.ok(font.length > 0 && !/serif/i.test(font.replace(/sans/gi, '')), `the heading is drawn in ${font}`);
        await checkPhoneLayout(page, `${locale} landing`);
        await checkAccessible(page, `${locale} landing`);
        await page.screenshot({ path: join(SHOTS, `landing-${locale}.png`), fullPage: true });

        await signIn(page, lab, locale, recipient);
        await page.getByRole('heading', { name: `Results ${locale}` }).waitFor();
        assert.equal(await page.locator('html').getAttribute('lang'), locale);
        await page.getByText(t(locale, 'message.remoteImages')).waitFor();
        await page.frameLocator('iframe').getByText('your results are fine.').waitFor();
        assert.equal(await page.locator('dt').nth(2).textContent(), t(locale, 'message.date'));
        // The message's Date (09:30 UTC) in the organisation's time zone, as the language writes it.
        assert.equal(await page.locator('dd').nth(2).textContent(), formatDate(locale, Date.UTC(2026, 2, 13, 9, 30), 'Europe/Amsterdam'));
        assert.match((await page.locator('dd').nth(2).textContent()) ?? '', /10:30/);

        await page.getByLabel(t(locale, 'message.replyLabel', { name: 'Zorggroep Noord' })).fill(`First reply (${locale}) <b>not bold</b>`);
        await page.getByRole('button', { name: t(locale, 'message.replySend') }).click();
        await page.getByRole('heading', { name: t(locale, 'sent.heading') }).waitFor();
        await checkPhoneLayout(page, `${locale} reply sent`);
        if (locale === 'en' || locale === 'de') await page.screenshot({ path: join(SHOTS, `reply-sent-${locale}.png`), fullPage: true });
        await page.getByRole('link', { name: t(locale, 'sent.back') }).click();

        const thread = page.getByRole('region', { name: t(locale, 'thread.heading') });
        await thread.getByText(`First reply (${locale}) <b>not bold</b>`).waitFor();
        assert.equal(await thread.locator('b').count(), 0, 'reply text is shown as text, never as markup');
        await checkPhoneLayout(page, `${locale} message`);
        await checkAccessible(page, `${locale} message`);
        await page.screenshot({ path: join(SHOTS, `message-${locale}.png`), fullPage: true });

        await page.getByRole('button', { name: t(locale, 'message.signOut') }).click();
        await page.getByRole('heading', { name: t(locale, 'signedOut.heading') }).waitFor();
        if (locale === 'en' || locale === 'de') await page.screenshot({ path: join(SHOTS, `signed-out-${locale}.png`), fullPage: true });

        // The thread is behind the code like the message: signed out, the page shows neither.
        await page.goto(link);
        assert.equal(await page.getByText(`First reply (${locale})`).count(), 0);
        await context.close();
      },
    );
  }

  test('the switch changes the language and keeps it; the message’s Content-Language decides when the browser asks for none of the four', SLOW_OK, async () => {
    const link = await message(lab, 'lang@example.net', { subject: 'Résultats', html: '<p>Bonjour</p>', contentLanguage: 'fr-BE' });
    const notification = lab.sink.messages.findLast((m) => m.rcptTo.includes('lang@example.net'));
    const parsed = await PostalMime.parse(notification?.raw ?? Buffer.alloc(0));
    assert.equal(parsed.headers.find((h) => h.key === 'content-language')?.value, 'fr');
    assert.ok(parsed.text?.includes(t('fr', 'notify.readHere')), parsed.text);

    const context = await browser.newContext({ locale: 'ja-JP', viewport: PHONE });
    const page = await context.newPage();
    await page.goto(link);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    await page.getByRole('heading', { name: t('fr', 'landing.heading') }).waitFor();
    await page
      .getByRole('navigation', { name: t('fr', 'language.switch') })
      .getByRole('link', { name: 'Deutsch' })
      .click();
    await page.getByRole('heading', { name: t('de', 'landing.heading') }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'de');
    await page.goto(link);
    assert.equal(await page.locator('html').getAttribute('lang'), 'de', 'the choice is kept');
    await context.close();
  });

  test('a message without Content-Language: the organisation’s default (nl) in the notification', SLOW_OK, async () => {
    await message(lab, 'default@example.net', { subject: 'Uitslag', html: '<p>Hallo</p>' });
    const notification = lab.sink.messages.findLast((m) => m.rcptTo.includes('default@example.net'));
    const parsed = await PostalMime.parse(notification?.raw ?? Buffer.alloc(0));
    assert.equal(parsed.headers.find((h) => h.key === 'content-language')?.value, 'nl');
    assert.ok(parsed.text?.startsWith('Zorggroep Noord\n'), parsed.text);
    assert.ok(parsed.text?.includes(t('nl', 'notify.code')), parsed.text);
  });

  test('keyboard only: the code can be asked for and entered without a mouse; a focused control shows it', SLOW_OK, async () => {
    const link = await message(lab, 'keys@example.net', { subject: 'Keys', html: '<p>Typed</p>' });
    const context = await browser.newContext({ locale: 'en-GB', viewport: PHONE });
    const page = await context.newPage();
    await page.goto(link);
    const before = lab.sink.messages.length;
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Email me a code') break;
    }
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.equal(outline, 'solid', 'the focused button shows no focus ring');
    await page.keyboard.press('Enter');
    const code = await lab.codeFor('keys@example.net', before);
    await page.getByLabel('Code from the mail').waitFor();
    await page.getByLabel('Code from the mail').focus();
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await context.close();
  });

  for (const locale of ['en', 'de'] as const) {
    test(`${locale}: "deleted by the sender" and "expired" have their own pages`, SLOW_OK, async () => {
      const deletedLink = await message(lab, `deleted-${locale}@example.net`, { subject: 'Gone', html: '<p>x</p>' });
      const withdrawnLink = await message(lab, `withdrawn-${locale}@example.net`, { subject: 'Withdrawn', html: '<p>x</p>' });
      const lockedLink = await message(lab, `locked-${locale}@example.net`, { subject: 'Locked', html: '<p>x</p>' });
      await lab.gw.db((db) =>
        db.updateTable('secure_recipients').set({ revoked_at: Date.now() }).where('address', '=', `withdrawn-${locale}@example.net`).execute(),
      );
      await lab.gw.db((db) =>
        db.updateTable('secure_recipients').set({ locked_at: Date.now() }).where('address', '=', `locked-${locale}@example.net`).execute(),
      );
      const expiredLink = await message(lab, `expired-${locale}@example.net`, { subject: 'Old', html: '<p>x</p>' });
      const ids = await lab.gw.db((db) =>
        db
          .selectFrom('secure_recipients')
          .select(['message_id', 'address'])
          .where('address', 'in', [`deleted-${locale}@example.net`, `expired-${locale}@example.net`])
          .execute(),
      );
      const idOf = (prefix: string) => ids.find((r) => r.address.startsWith(prefix))?.message_id ?? '';
      await lab.gw.services((s) => s.secureMessages.shred(idOf('deleted'), HARNESS_ACTOR));
      await lab.gw.db((db) =>
        db
          .updateTable('secure_messages')
          .set({ retain_until: Date.now() - 1000 })
          .where('id', '=', idOf('expired'))
          .execute(),
      );

      const context = await browser.newContext({ locale: BROWSER_LOCALE[locale], viewport: PHONE });
      const page = await context.newPage();
      assert.equal((await page.goto(deletedLink))?.status(), 410);
      await page.getByRole('heading', { name: t(locale, 'error.deleted.title') }).waitFor();
      await page.getByText(t(locale, 'error.deleted.text')).waitFor();
      await page.screenshot({ path: join(SHOTS, `deleted-${locale}.png`), fullPage: true });
      assert.equal((await page.goto(expiredLink))?.status(), 410);
      await page.getByRole('heading', { name: t(locale, 'error.expired.title') }).waitFor();
      await page.screenshot({ path: join(SHOTS, `expired-${locale}.png`), fullPage: true });
      assert.equal((await page.goto(withdrawnLink))?.status(), 410);
      await page.getByRole('heading', { name: t(locale, 'error.withdrawn.title') }).waitFor();
      await page.screenshot({ path: join(SHOTS, `withdrawn-${locale}.png`), fullPage: true });
      assert.equal((await page.goto(lockedLink))?.status(), 423);
      await page.getByRole('heading', { name: t(locale, 'locked.heading') }).waitFor();
      await page.screenshot({ path: join(SHOTS, `locked-${locale}.png`), fullPage: true });
      assert.equal((await page.goto(new URL('/m/nothing-here/at/all', deletedLink).href))?.status(), 404);
      await page.getByRole('heading', { name: t(locale, 'error.notFound.title') }).waitFor();
      await page.screenshot({ path: join(SHOTS, `not-found-${locale}.png`), fullPage: true });
      assert.equal(await page.locator('html').getAttribute('lang'), locale);
      await context.close();
    });
  }

  test('the logo is served as an image that can run nothing, cached for long, never sniffed', SLOW_OK, async () => {
    const link = await message(lab, 'logo@example.net', { subject: 'Logo', html: '<p>x</p>' });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    const src = (await page.locator('header.brand img').getAttribute('src')) ?? '';
    const response = await context.request.get(new URL(src, link).href);
    assert.equal(response.status(), 200);
    const headers = response.headers();
    assert.equal(headers['content-type'], 'image/svg+xml');
    assert.equal(headers['content-security-policy'], "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(await response.text(), SVG_LOGO);
    await context.close();
  });
});
