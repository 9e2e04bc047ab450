import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { composeMail } from '../src/secure/compose.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { needsPeer } from './support/peers.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';

const SLOW_OK = { timeout: 90_000 };
const unavailable = browserUnavailable();

const REPORT = Buffer.from('%PDF-1.4\n% lab report for the browser test\n');

/** Proves the address the way a recipient does: button, code from the mail, code into the form. */
async function signIn(page: Page, lab: PortalLab, link: string, recipient: string): Promise<void> {
  await page.goto(link);
  const before = lab.sink.messages.length;
  await page.getByRole('button', { name: 'Email me a code' }).click();
  const code = await lab.codeFor(recipient, before);
  await page.getByLabel('Code from the mail').fill(code);
  await page.getByRole('button', { name: 'Open the message' }).click();
}

describe('recipient portal in Chromium', needsPeer(unavailable), () => {
  let lab: PortalLab;
  let browser: Browser;
  let context: BrowserContext;
  before(async () => {
    lab = await startPortalLab();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  test('notification → code → read → download → secure reply with an attachment → the application webhook', SLOW_OK, async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const raw = await composeMail({
      from: { name: 'Care Team', address: SECURE_SENDER },
      to: 'patient@example.net',
      subject: 'Your results',
      text: 'Dear patient,\nyour results are attached.\n',
      html: '<p>Dear patient,</p><p>your <b>results</b> are attached.</p>',
      messageId: '<results-42@secure.example.com>',
      date: new Date(),
      attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: REPORT }],
    });
    const link = (await lab.sendSecure(raw, ['patient@example.net'])).get('patient@example.net') ?? '';
    await signIn(page, lab, link, 'patient@example.net');

    await page.getByRole('heading', { name: 'Your results' }).waitFor();
    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, 'relaygate_portal');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.secure, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.path, '/m');
    const frame = page.frameLocator('iframe');
    await frame.getByText('are attached.').waitFor();
    assert.equal(await frame.locator('b').textContent(), 'results');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'report.pdf' }).click()]);
    assert.equal(download.suggestedFilename(), 'report.pdf');
    assert.deepEqual(await readFile(await download.path()), REPORT);

    await page.getByLabel(/Your reply to/).fill('Thank you, I have read them.\nSee my notes attached.');
    await page.getByLabel(/Attachments/).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('my notes\n') });
    await page.getByRole('button', { name: 'Send secure reply' }).click();
    await page.getByRole('heading', { name: 'Your reply was sent' }).waitFor();

    const requests = await lab.hook.waitForRequests(1);
    const reply = requests.find((r) => r.payload.subject === 'Re: Your results');
    assert.ok(reply, `no reply among ${requests.map((r) => r.payload.subject).join(', ')}`);
    assert.deepEqual(reply.signature, { ok: true });
    const p = reply.payload;
    assert.equal(p.envelope.mailFrom, 'patient@example.net');
    assert.deepEqual(p.envelope.recipients, [SECURE_SENDER]);
    const header = (name: string) => p.headers.find((h) => h.name.toLowerCase() === name)?.value;
    assert.match(header('from') ?? '', /patient@example\.net/);
    assert.match(header('to') ?? '', /support@secure\.example\.com/);
    assert.equal(header('in-reply-to'), '<results-42@secure.example.com>');
    assert.equal(header('references'), '<results-42@secure.example.com>');
    assert.equal(p.text.trim(), 'Thank you, I have read them.\nSee my notes attached.');
    assert.deepEqual(
      p.attachments.map((a) => a.filename),
      ['notes.txt'],
    );
    assert.match(p.authenticationResults, /x-relaygate-portal=pass smtp\.mailfrom=patient@example\.net/);
    const row = await lab.gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('address', '=', 'patient@example.net').executeTakeFirstOrThrow());
    assert.ok(row.opened_at && row.replied_at, 'opened_at and replied_at are set');
    await context.close();
  });

  test('script in the message HTML does not run: sanitised away, and the frame is sandboxed under a CSP', SLOW_OK, async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const console: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const frameHeaders = new Map<string, string>();
    page.on('response', (r) => {
      if (r.url().endsWith('/content')) for (const [k, v] of Object.entries(r.headers())) frameHeaders.set(k, v);
    });
    const raw = await composeMail({
      from: { name: 'Care Team', address: SECURE_SENDER },
      to: 'victim@example.net',
      subject: 'Hostile',
      text: 'plain part',
      html: [
        '<p>Visible text</p>',
        '<script>window.marker = "script"; console.log("SCRIPT-RAN"); parent.document.title = "pwned"; alert("script")</script>',
        "<img src=\"x\" onerror=\"window.marker = 'onerror'; console.log('ONERROR-RAN'); alert('onerror')\">",
        '<a href="javascript:console.log(\'JS-LINK-RAN\')">bad link</a>',
        '<svg onload="console.log(\'SVG-RAN\')"></svg><body onload="console.log(\'BODY-RAN\')">',
      ].join(''),
      messageId: '<hostile@secure.example.com>',
      date: new Date(),
    });
    const link = (await lab.sendSecure(raw, ['victim@example.net'])).get('victim@example.net') ?? '';
    await signIn(page, lab, link, 'victim@example.net');
    await page.getByRole('heading', { name: 'Hostile' }).waitFor();
    const frameElement = page.locator('iframe');
    assert.equal(await frameElement.getAttribute('sandbox'), 'allow-popups allow-popups-to-escape-sandbox');
    const frame = page.frameLocator('iframe');
    await frame.getByText('Visible text').waitFor();
    await frame.getByText('bad link').click();

    const content = page.frames().find((f) => f.url().endsWith('/content'));
    assert.ok(content, 'no message frame');
    assert.equal(await content.evaluate(() => (globalThis as { marker?: string }).marker), undefined, 'a script set the marker');
    const markup = await content.content();
    for (const gone of ['<script', 'onerror', 'onload', 'javascript:', 'SCRIPT-RAN']) assert.ok(!markup.includes(gone), `the frame has ${gone}`);
    assert.equal(await frame.getByText('bad link').getAttribute('href'), null);
    assert.match(frameHeaders.get('content-security-policy') ?? '', /^default-src 'none'; .*sandbox allow-popups/);
    assert.notEqual(await page.title(), 'pwned');
    assert.deepEqual(
      console.filter((m) => /RAN/.test(m)),
      [],
    );
    assert.deepEqual(dialogs, []);
    await context.close();
  });
});
