import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { composeMail } from '../src/secure/compose.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { needsPeer } from './support/peers.js';
import { PortalClient } from './support/portal-client.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 180_000 };
const unavailable = browserUnavailable();
const OPENER = 'opener@example.net';
const LOCKED = 'locked@example.net';

async function press(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
}

async function auditActions(lab: PortalLab, id: string): Promise<{ action: string; actor: string }[]> {
  return lab.gw.db((db) => db.selectFrom('audit_log').select(['action', 'actor']).where('target_id', '=', id).orderBy('seq').execute());
}

describe('console: the secure-message workflow (Chromium)', needsPeer(unavailable), () => {
  let lab: PortalLab;
  let browser: Browser;
  let id: string;
  let openerLink: string;
  before(async () => {
    lab = await startPortalLab();
    await lab.gw.db((db) => db.updateTable('organisations').set({ read_receipts: 1 }).execute());
    await createAdmin(lab.gw);
    browser = await launchBrowser();
    const raw = await composeMail({
      from: { name: 'Care Team', address: SECURE_SENDER },
      to: [OPENER, LOCKED].join(', '),
      subject: 'Lab results 21 May',
      text: 'Your lab results: glucose 5.4 mmol/l\n',
      messageId: '<lab-21-may@secure.example.com>',
      date: new Date(),
    });
    const links = await lab.sendSecure(raw, [OPENER, LOCKED]);
    // One recipient reads it (a code mail, then a read receipt); the other's link is locked by wrong codes.
    const opener = new PortalClient(links.get(OPENER) ?? '');
    await opener.signIn(lab, OPENER);
    assert.equal((await opener.page()).status, 200);
    id = await lab.gw.db(async (db) => (await db.selectFrom('secure_messages').select('id').executeTakeFirstOrThrow()).id);
    await lab.gw.db((db) =>
      db.updateTable('secure_recipients').set({ locked_at: Date.now(), otp_failures: 5 }).where('address', '=', LOCKED).where('message_id', '=', id).execute(),
    );
    await waitFor(() => lab.hook.requests.some((r) => r.payload.subject === 'Read: Lab results 21 May'), { what: 'the read receipt' });
    openerLink = links.get(OPENER) ?? '';
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
  });

  test(
    "the list shows each recipient's state and filters; unlock, revoke one recipient, then shred, each confirmed and audited; the log shows what each mail is",
    SLOW_OK,
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await signInConsole(page, lab.gw);
      await page.getByRole('link', { name: 'Secure messages', exact: true }).click();
      await page.waitForURL(/\/console\/secure-messages$/);
      const row = page.locator('tbody tr', { hasText: id });
      assert.match((await row.textContent()) ?? '', /Lab results 21 May/);
      assert.match((await row.textContent()) ?? '', new RegExp(`${OPENER} opened`));
      assert.match((await row.textContent()) ?? '', new RegExp(`${LOCKED} notified\\s+locked`));
      await consoleScreenshot(page, 'secure-messages');

      await page.getByLabel('State').selectOption('locked');
      await press(page, 'Search');
      assert.equal(await page.locator('tbody tr', { hasText: id }).count(), 1, 'the locked filter lost the message');
      await page.getByLabel('Recipient contains').fill('nobody@');
      await press(page, 'Search');
      assert.match((await page.locator('main').textContent()) ?? '', /No secure message matches this search\./);

      // Unlock the locked link, from the keyboard.
      await page.goto(consoleUrl(lab.gw, `/secure-messages/${id}`));
      const unlock = page.getByRole('button', { name: 'Unlock', exact: true });
      await unlock.focus();
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      assert.match((await page.getByRole('status').textContent()) ?? '', /The portal link is unlocked/);
      const unlocked = await lab.gw.db((db) =>
        db.selectFrom('secure_recipients').select(['locked_at', 'otp_failures']).where('address', '=', LOCKED).executeTakeFirstOrThrow(),
      );
      assert.equal(unlocked.locked_at, null);
      assert.equal(Number(unlocked.otp_failures), 0);

      // Revoke one recipient: a confirmation first, then the portal refuses that link only.
      await page.getByLabel('Recipient', { exact: true }).selectOption(OPENER);
      await press(page, 'Revoke this recipient…');
      assert.match((await page.locator('#consequence').textContent()) ?? '', /Their link opens nothing any more/);
      await press(page, 'Revoke the recipient');
      assert.match((await page.getByRole('status').textContent()) ?? '', /access was revoked/);
      const client = new PortalClient(openerLink);
      assert.equal((await client.page()).status, 410, 'the revoked recipient still opens the message');
      const states = await lab.gw.db((db) => db.selectFrom('secure_recipients').select(['address', 'revoked_at']).where('message_id', '=', id).execute());
      assert.notEqual(states.find((r) => r.address === OPENER)?.revoked_at, null);
      assert.equal(states.find((r) => r.address === LOCKED)?.revoked_at, null, 'the other recipient was revoked too');

      // The message log: the gateway's own mails named by what they are (their subjects are sealed).
      await page.goto(consoleUrl(lab.gw, '/messages'));
      const before = (await page.locator('tbody').textContent()) ?? '';
      assert.match(before, /Read receipt for a secure message( \(\w+\))? \(subject sealed\)/);
      assert.match(before, /Your code for the secure message from Care Team/);
      assert.doesNotMatch(before, /Read: Lab results/, 'the log shows the sealed subject of the receipt');
      assert.doesNotMatch(before, /Secure message \(subject sealed\) shredded/i);
      await consoleScreenshot(page, 'message-log-secure');
      await page.goto(consoleUrl(lab.gw, `/secure-messages/${id}`));

      // Shred: Cancel changes nothing; Confirm destroys the key.
      await press(page, 'Shred…');
      assert.match((await page.locator('#consequence').textContent()) ?? '', /Its key is destroyed/);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Cancel' }).click()]);
      assert.equal(
        (await lab.gw.db((db) => db.selectFrom('secure_messages').select('shredded_at').where('id', '=', id).executeTakeFirstOrThrow())).shredded_at,
        null,
      );
      await press(page, 'Shred…');
      await press(page, 'Shred the message');
      assert.match((await page.getByRole('status').textContent()) ?? '', /The message was shredded/);
      const shredded = await lab.gw.db((db) =>
        db.selectFrom('secure_messages').select(['shredded_at', 'data_key_sealed']).where('id', '=', id).executeTakeFirstOrThrow(),
      );
      assert.notEqual(shredded.shredded_at, null);
      assert.equal(shredded.data_key_sealed, null);
      assert.match((await page.locator('main').textContent()) ?? '', /Shredded: there is nothing left to revoke or delete\./);

      const actions = await auditActions(lab, id);
      assert.deepEqual(
        actions.filter((a) => a.actor === `admin:${ADMIN_EMAIL}`).map((a) => a.action),
        ['secure.recipient.unlock', 'secure.recipient.revoke', 'secure.message.shred'],
      );

      // Shredded: the message is marked in the log.
      await page.goto(consoleUrl(lab.gw, '/messages'));
      assert.match((await page.locator('tbody').textContent()) ?? '', new RegExp(`${id}[\\s\\S]*?Secure message \\(subject sealed\\) shredded`, 'i'));
      await context.close();
    },
  );

  test('an unknown id is a 404 page, not an error', SLOW_OK, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, lab.gw);
    const response = await page.goto(consoleUrl(lab.gw, '/secure-messages/01JZZZZZZZZZZZZZZZZZZZZZZZ'));
    assert.equal(response?.status(), 404);
    assert.match((await page.locator('main').textContent()) ?? '', /No secure message 01JZZZZZZZZZZZZZZZZZZZZZZZ/);
    await context.close();
  });
});
