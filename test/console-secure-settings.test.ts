import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { SVG_LOGO, tinyPng } from './support/brand.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';

const SLOW_OK = { timeout: 120_000 };
const unavailable = browserUnavailable();

async function press(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
}

describe('console: the language and branding of secure messages (Chromium)', needsPeer(unavailable), () => {
  let gw: TestGateway;
  let browser: Browser;
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
  });

  test(
    'language, name and colour are saved; a colour too light and an unsafe SVG are refused at their field; the logo is uploaded and removed',
    SLOW_OK,
    async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signInConsole(page, gw);
      await page.goto(consoleUrl(gw, '/secure'));
      assert.equal(await page.getByRole('link', { name: 'Secure messages' }).getAttribute('aria-current'), 'page');

      await page.getByLabel('Language of recipient mails').selectOption('de');
      await page.getByLabel('Organisation name').fill('Praxis Süd');
      await page.getByLabel('Accent colour').fill('#ffcc00');
      await press(page, 'Save');
      const colour = page.getByLabel('Accent colour');
      assert.equal(await colour.getAttribute('aria-invalid'), 'true');
      await page.getByText(/brandColour #ffcc00 gives white text a contrast of only 1\.\d\d:1/).waitFor();
      assert.equal(await page.getByLabel('Organisation name').inputValue(), 'Praxis Süd', 'what was typed is kept');
      await colour.fill('#0B5394');
      await press(page, 'Save');
      await page.getByText('The settings were saved.').waitFor();
      const saved = await gw.services((s) => s.secureSettings.get());
      assert.deepEqual([saved.locale, saved.brandName, saved.brandColour], ['de', 'Praxis Süd', '#0b5394']);

      await page.getByLabel('Logo file').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg onload="alert(1)"></svg>') });
      await press(page, 'Upload the logo');
      await page.getByText(/the SVG holds an event handler attribute/).waitFor();
      assert.equal((await gw.services((s) => s.secureSettings.get())).brandLogo, null);

      await page.getByLabel('Logo file').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(SVG_LOGO) });
      await press(page, 'Upload the logo');
      await page.getByText('The logo was saved.').waitFor();
      const shown = page.getByRole('img', { name: 'The current logo' });
      assert.ok(await shown.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'the logo does not show');
      await consoleScreenshot(page, 'secure-settings');

      await page
        .getByLabel('Logo file')
        .setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.concat([tinyPng(), Buffer.alloc(110 * 1024)]) });
      await press(page, 'Upload the logo');
      await page.getByText(/^the logo is 111 KiB; at most 100 KiB/).waitFor();
      await press(page, 'Remove the logo');
      await page.getByText('The logo was removed.').waitFor();
      assert.equal((await gw.services((s) => s.secureSettings.get())).brandLogo, null);
      await context.close();
    },
  );
});
