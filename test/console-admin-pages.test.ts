/**
 * The console does what the CLI and the API do (issue 22): inbound direct delivery on a
 * domain's page, refused with the DNS check's reasons; the inbound target set, changed and
 * its signing secret rotated (then a real delivery is signed with the new one); API tokens
 * created, used against /api/v1 and revoked; the credential pages name the real ports.
 * Real Chromium against a gateway on the local DNS server (the `ad` flag stands for a
 * validating resolver), a local MX host presenting the certificate its TLSA record pins, and
 * an HTTPS webhook receiver that checks every signature.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { verifyWebhook } from '../src/inbound/webhook-signature.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { freePort } from './support/free-port.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { insertDomain } from './support/gateway-process.js';
import { type MxHosts, startMxHosts } from './support/mx-hosts.js';
import { needsPeer } from './support/peers.js';
import { submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SLOW_OK = { timeout: 180_000 };
const unavailable = browserUnavailable();
const MX_ADDRESS = '127.0.0.161';
const HOSTNAME = 'relay.console.test';

const copied = (page: Page, label: string) => page.locator(`button[aria-label="Copy ${label}"]`).getAttribute('data-copy');

async function press(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
}

const spkiSha256 = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

describe('console: the administrator does what the CLI and the API do (Chromium)', needsPeer(unavailable), () => {
  let gw: TestGateway;
  let browser: Browser;
  let dns: TestDnsServer;
  let mx: MxHosts;
  let hook: WebhookReceiver;
  let dir: TempDir;
  const ports = { submission: 0, implicitTls: 0, relay: 0 };

  before(async () => {
    dir = await tempDir('relaygate-console-admin-');
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['mx.dane.test']);
    mx = await startMxHosts([{ name: 'mx.dane.test', address: MX_ADDRESS, cert: { cert: leaf.chain, key: leaf.key } }]);
    const signed = { ad: true, soa: { ttl: 300, minimum: 300 } };
    dns = await startDnsServer({
      // Signed, with a TLSA record pinning the MX host's key: DNSSEC + DANE.
      'dane.test': { ...signed, mx: [{ exchange: 'mx.dane.test', priority: 10 }] },
      'mx.dane.test': { ...signed, a: [MX_ADDRESS] },
      '_25._tcp.mx.dane.test': { ...signed, tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(leaf.cert) }] },
      // The same records without DNSSEC: not possible.
      'unsigned.test': { mx: [{ exchange: 'mx.unsigned.test', priority: 10 }] },
      'mx.unsigned.test': { a: [MX_ADDRESS] },
      'customer.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] },
    });
    hook = await startWebhookReceiver();
    const webhookCa = join(dir.path, 'webhook-ca.pem');
    await writeFile(webhookCa, hook.caCert);
    const mxCa = join(dir.path, 'mx-ca.pem');
    await writeFile(mxCa, ca.caCert);
    ports.submission = await freePort();
    ports.implicitTls = await freePort();
    ports.relay = await freePort();
    gw = await startTestGateway({
      hostname: HOSTNAME,
      'smtp.port': ports.submission,
      'smtp.smtpsPort': ports.implicitTls,
      'smtp.relayPort': ports.relay,
      dnsResolver: dns.address,
      'delivery.mxPort': mx.port,
      'delivery.caFile': mxCa,
      'delivery.connectTimeout': '5s',
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': webhookCa,
      'inbound.webhookTimeout': '10s',
    });
    await gw.db(async (db) => {
      await insertDomain(db, 'dane.test');
      await insertDomain(db, 'unsigned.test');
    });
    await gw.services((s) => s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR));
    await createAdmin(gw);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await hook?.stop();
    await mx?.stop();
    await dns?.stop();
    await dir?.cleanup();
  });

  const audited = (action: string) => gw.services(async (s) => (await s.audit.list({ limit: 50, offset: 0, action })).items);

  test('direct delivery: refused with the reasons where DNSSEC is missing; on with DNSSEC + DANE; off again', SLOW_OK, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, gw);

    await page.goto(consoleUrl(gw, '/domains/unsigned.test'));
    await press(page, 'Turn direct delivery on');
    const alert = page.locator('#direct-delivery ~ .form-error[role="alert"], section[aria-labelledby="direct-delivery"] [role="alert"]').first();
    assert.match(
      (await alert.textContent()) ?? '',
      /Not turned on: secure messages cannot be delivered directly to unsigned\.test: not possible, because its MX records are not DNSSEC-signed/,
    );
    assert.equal((await gw.services((s) => s.domains.get('unsigned.test'))).directDelivery.enabled, false);
    await page.getByRole('link', { name: 'Run the DNS check now' }).click();
    const verdict = page.locator('#direct-delivery-verdict');
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /fail\s+not possible, because:\s*its MX records are not DNSSEC-signed/);

    await page.goto(consoleUrl(gw, '/domains/dane.test'));
    assert.match((await page.locator('#direct-delivery-state').textContent()) ?? '', /Direct delivery: off/);
    await page.getByRole('link', { name: 'Run the DNS check now' }).click();
    await verdict.waitFor();
    assert.match((await verdict.textContent()) ?? '', /pass\s+DNSSEC \+ DANE/);
    // The keyboard reaches the switch and presses it, as a mouse would.
    const on = page.getByRole('button', { name: 'Turn direct delivery on' });
    await on.focus();
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await page.getByText(/Inbound direct delivery is on\. The DNS check says DNSSEC \+ DANE/).waitFor();
    assert.match((await page.locator('#direct-delivery-state').textContent()) ?? '', /Direct delivery: on since/);
    assert.equal((await gw.services((s) => s.domains.get('dane.test'))).directDelivery.enabled, true);
    await consoleScreenshot(page, 'domain-direct-delivery');

    await press(page, 'Turn direct delivery off');
    await page.getByText('Inbound direct delivery is off: recipients at this domain get the portal notification.').waitFor();
    assert.equal((await gw.services((s) => s.domains.get('dane.test'))).directDelivery.enabled, false);
    const records = await audited('domain.direct-delivery.enable');
    assert.deepEqual(
      records.map((r) => [r.actor, r.targetId]),
      [['admin:ops@example.com', 'dane.test']],
    );
    await context.close();
  });

  test('the inbound target: set, refused by field, changed, its secret rotated; the next delivery is signed with the new secret only', SLOW_OK, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, gw);
    await page.goto(consoleUrl(gw, '/inbound'));

    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel('Webhook URL (webhooks)').fill(`${hook.url}#old`);
    await press(page, 'Save the target');
    const url = page.getByLabel('Webhook URL (webhooks)');
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    await page.getByText(/webhook URL refused: the URL must not have a fragment/).waitFor();

    await url.fill(hook.url.replace('/hooks/mail', '/hooks/old'));
    await press(page, 'Save the target');
    const first = (await copied(page, 'signing secret')) ?? '';
    assert.match(first, /^whsec_/);
    await page.reload();
    assert.equal(await page.locator('button[aria-label="Copy signing secret"]').count(), 0, 'the secret is shown once');

    await page.goto(consoleUrl(gw, '/inbound'));
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: "Change the target for the organisation's default" }).click()]);
    assert.equal(await page.getByLabel('Webhook URL (webhooks)').inputValue(), hook.url.replace('/hooks/mail', '/hooks/old'));
    await page.getByLabel('Kind').selectOption('smtp');
    await page.getByLabel('Webhook URL (webhooks)').fill('');
    await page.getByLabel('Forward to (forwards)').fill('helpdesk@app.example');
    await page.getByLabel('Synchronous mode (webhooks)').selectOption('on');
    await press(page, 'Save the target');
    assert.equal(await page.getByLabel('Synchronous mode (webhooks)').getAttribute('aria-invalid'), 'true');
    await page.getByText('synchronous mode needs a webhook: a forward cannot answer for the application').waitFor();

    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel('Forward to (forwards)').fill('');
    await page.getByLabel('Webhook URL (webhooks)').fill(hook.url);
    await page.getByLabel('Synchronous mode (webhooks)').selectOption('off');
    await press(page, 'Save the target');
    await page.getByText('The inbound target was saved.').waitFor();
    assert.match((await page.getByRole('row', { name: /the organisation's default/ }).textContent()) ?? '', /\/hooks\/mail/);

    await page.getByLabel('Webhook of').selectOption('');
    await page.getByLabel('Keep the previous secret signing for').selectOption('now');
    await press(page, 'Rotate the signing secret');
    const rotated = (await copied(page, 'signing secret')) ?? '';
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, first);
    await page.getByText('no longer signs').waitFor();
    await consoleScreenshot(page, 'inbound-secret');

    hook.secret = rotated;
    const relay = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
    const mail = ['From: <customer@customer.example>', 'To: support@example.com', 'Subject: After the rotation', '', 'Hello', ''].join('\r\n');
    await submit(gw.gateway.ports.smtp, relay, { from: 'customer@customer.example', to: ['support@example.com'], raw: mail });
    const [delivered] = await hook.waitForRequests(1);
    assert.ok(delivered);
    assert.deepEqual(delivered.signature, { ok: true }, 'signed with the new secret');
    assert.equal(delivered.payload.subject, 'After the rotation');
    const withOld = verifyWebhook(first, delivered.headers, delivered.body, { nowSec: Math.floor(Date.now() / 1000) });
    assert.equal(withOld.ok, false, 'the old secret, retired at once, no longer signs');
    const records = await audited('inbound-target.rotate-secret');
    assert.equal(records[0]?.actor, 'admin:ops@example.com');
    await context.close();
  });

  test('API tokens: created (shown once), used against /api/v1, listed with its last use, revoked after confirming', SLOW_OK, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, gw);
    await page.goto(consoleUrl(gw, '/'));
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'API tokens' }).click()]);
    assert.equal(await page.getByRole('link', { name: 'API tokens' }).getAttribute('aria-current'), 'page');

    await press(page, 'Create the token');
    assert.equal(await page.getByLabel('Description').getAttribute('aria-invalid'), 'true');
    await page.getByText('description must not be empty: say what will use this token').waitFor();

    await page.getByLabel('Description').fill('Terraform');
    await page.getByLabel('Scope').selectOption('admin');
    await press(page, 'Create the token');
    const secret = (await copied(page, 'token')) ?? '';
    assert.match(secret, /^rgt_/);
    await page.reload();
    assert.equal(await page.locator('button[aria-label="Copy token"]').count(), 0, 'the token is shown once');

    assert.equal((await gw.api('/api/v1/domains', { token: secret })).status, 200);
    await page.goto(consoleUrl(gw, '/tokens'));
    const row = page.getByRole('row', { name: /Terraform/ });
    assert.match((await row.textContent()) ?? '', /admin.*UTC.*UTC\s*from 127\.0\.0\.1.*active/s);
    assert.ok(!(await page.content()).includes(secret), 'the list never shows a secret');

    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Revoke the token Terraform' }).click()]);
    await page.getByText(/Revoke the admin token Terraform/).waitFor();
    await press(page, 'Revoke the token');
    await page.getByText('The token was revoked: its next request is refused with 401.').waitFor();
    assert.match((await page.getByRole('row', { name: /Terraform/ }).textContent()) ?? '', /revoked/);
    assert.equal((await gw.api('/api/v1/domains', { token: secret })).status, 401);
    for (const action of ['token.create', 'token.revoke']) {
      const records = await audited(action);
      assert.ok(
        records.some((r) => r.actor === 'admin:ops@example.com'),
        `${action} is audited under the administrator's name`,
      );
    }
    await context.close();
  });

  test('the credential pages name the gateway and its configured submission, implicit-TLS and relay ports', SLOW_OK, async () => {
    assert.deepEqual([gw.gateway.ports.smtp, gw.gateway.ports.smtps, gw.gateway.ports.relay], [ports.submission, ports.implicitTls, ports.relay]);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, gw);
    await page.goto(consoleUrl(gw, '/credentials'));
    await page.getByLabel('Kind').selectOption('submission');
    await page.getByLabel('Description').fill('Helpdesk application');
    await press(page, 'Create the credential');
    assert.equal(await copied(page, 'server name'), HOSTNAME);
    assert.equal(await copied(page, 'submission port'), String(ports.submission));
    assert.equal(await copied(page, 'implicit TLS port'), String(ports.implicitTls));
    const server = (await page.locator('dl.server').textContent()) ?? '';
    assert.ok(!/\b587\b|\b465\b/.test(server), `no hard-coded port: ${server}`);
    await consoleScreenshot(page, 'credential-ports');

    await page.goto(consoleUrl(gw, '/credentials'));
    await page.getByLabel('Kind').selectOption('inbound');
    await page.getByLabel('Domain (inbound credentials only)').selectOption('example.com');
    await page.getByLabel('Description').fill('Exchange relay 2');
    await press(page, 'Create the credential');
    assert.equal(await copied(page, 'relay port'), String(ports.relay));
    assert.equal(await copied(page, 'server name'), HOSTNAME);
    await context.close();
  });
});
