import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { send, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 180_000 };
const DOMAIN = 'clinic.example';
const SUPPORT = `support@${DOMAIN}`;
const unavailable = browserUnavailable();

/** What a copy button would put on the clipboard: the exact value the page shows. */
const copied = (page: Page, label: string) => page.locator(`button[aria-label="Copy ${label}"]`).getAttribute('data-copy');

/** Submits a form by its button and waits for the page it leads to. */
async function press(page: Page, name: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
}

describe('console setup flow in Chromium', needsPeer(unavailable), () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let gw: TestGateway;
  let browser: Browser;
  before(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink({ tls: 'none' });
    // A long verification timeout: the legs must turn verified by their mails coming back, never by a deadline.
    gw = await startTestGateway({ dnsResolver: dns.address, 'verification.timeout': '5m', 'verification.interval': 0 });
    await createAdmin(gw);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await sink?.stop();
    await dns?.stop();
  });

  test('from nothing to both legs verified, through the pages an administrator uses', SLOW_OK, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInConsole(page, gw);

    // 1. Claim the domain; the page shows the TXT record, a check before publishing says why it failed.
    await page.goto(consoleUrl(gw, '/domains'));
    await page.getByLabel('Domain name').fill(DOMAIN);
    await press(page, 'Claim the domain');
    assert.equal(new URL(page.url()).pathname, `/console/domains/${DOMAIN}`);
    await page.getByText('The domain is claimed.').waitFor();
    assert.equal(await page.locator('.checklist li[aria-current=step] a').textContent(), 'Ownership verified');
    const recordName = await copied(page, 'record name');
    const recordValue = await copied(page, 'record value');
    assert.equal(recordName, `_relaygate.${DOMAIN}`);
    assert.match(recordValue ?? '', /^relaygate-domain-verification=[0-9a-f]{32}$/);
    await consoleScreenshot(page, 'setup-domain-pending');
    await press(page, 'Check again');
    await page.getByText(`_relaygate.${DOMAIN} does not exist (NXDOMAIN)`).waitFor();
    dns.set(recordName ?? '', { txt: [recordValue ?? ''] });
    await press(page, 'Check again');
    await page.getByText('Ownership verified: the TXT record was found.').waitFor();
    assert.equal(await page.locator('.checklist li[aria-current=step] a').textContent(), 'Addresses');

    // 2. An address with an alias, then a second alias added and removed on its row.
    await page.getByLabel('Address', { exact: true }).fill(SUPPORT);
    await page.getByLabel('Aliases (optional)').fill(`help@${DOMAIN}`);
    await page.getByLabel('Description (optional)').fill('Patient questions');
    await press(page, 'Add the address');
    await page.getByText('The address was added.').waitFor();
    await page.getByLabel(`New alias for ${SUPPORT}`).fill(`info@${DOMAIN}`);
    await press(page, 'Add alias');
    await page.getByText('The alias was added.').waitFor();
    await press(page, `Remove alias info@${DOMAIN}`);
    await page.getByText('The alias was removed.').waitFor();
    const address = await gw.services((s) => s.addresses.get(SUPPORT));
    assert.deepEqual(address.aliases, [`help@${DOMAIN}`]);
    await consoleScreenshot(page, 'setup-domain-addresses');

    // 3. A submission credential: its secret shown once, with the warning, and never again.
    await page.goto(consoleUrl(gw, '/credentials'));
    await page.getByLabel('Description').fill('Helpdesk application');
    const created = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create the credential' }).click()]);
    assert.equal(created[0]?.headers()['cache-control'], 'no-store');
    await page.getByText('Copy the secret now: it is shown only this once.').waitFor();
    const username = (await copied(page, 'username')) ?? '';
    const secret = (await copied(page, 'secret')) ?? '';
    assert.match(username, /^sub_/);
    assert.ok(secret.length >= 20, 'a secret is shown');
    assert.ok((await page.content()).includes(secret));
    await consoleScreenshot(page, 'setup-credential-secret-once');
    await page.reload();
    await page.getByText('was shown once, when it was created, and is not shown again').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'a reload does not show the secret again');
    await page.goBack();
    assert.equal(new URL(page.url()).pathname, '/console/credentials');
    assert.ok(!(await page.content()).includes(secret), 'the list never shows a secret');
    await page.goForward();
    await page.getByText('is not shown again').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'forward does not show it either');
    // The shown secret works: an application submits with it.
    const { response } = await submit(
      gw.gateway.ports.smtp,
      { username, secret },
      {
        from: SUPPORT,
        to: ['patient@customer.example'],
        raw: `From: ${SUPPORT}\r\nTo: patient@customer.example\r\nSubject: Your appointment\r\n\r\nHello\r\n`,
      },
    );
    assert.match(response, /^250 /);

    // 4. The inbound credential of the domain's mail server, from the link on the domain page.
    await page.goto(consoleUrl(gw, `/domains/${DOMAIN}`));
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: `Create an inbound credential for ${DOMAIN}` }).click()]);
    assert.equal(await page.getByLabel('Kind').inputValue(), 'inbound');
    assert.equal(await page.getByLabel('Domain (inbound credentials only)').inputValue(), DOMAIN);
    await page.getByLabel('Description').fill('Clinic mail server');
    await press(page, 'Create the credential');
    const inbound = { username: (await copied(page, 'username')) ?? '', secret: (await copied(page, 'secret')) ?? '' };
    assert.match(inbound.username, /^in_/);
    await page.goto(consoleUrl(gw, '/credentials'));
    await page.getByRole('cell', { name: DOMAIN }).first().waitFor();
    const list = await page.content();
    assert.ok(!list.includes(secret) && !list.includes(inbound.secret), 'the list shows no secret');
    await consoleScreenshot(page, 'setup-credentials');

    // Rotation: a new credential, its secret shown once; the old one keeps working for the window, then revocation stops it.
    const first = await gw.services(async (s) => (await s.credentials.list({ limit: 50, offset: 0 })).items.find((c) => c.username === username));
    await page.goto(consoleUrl(gw, `/credentials/${first?.id}`));
    await page.getByLabel('Keep this credential working for').selectOption('1h');
    await press(page, 'Rotate the credential');
    await page.getByText('Copy the secret now: it is shown only this once.').waitFor();
    const rotated = { username: (await copied(page, 'username')) ?? '', secret: (await copied(page, 'secret')) ?? '' };
    assert.notEqual(rotated.username, username);
    await page.goto(consoleUrl(gw, `/credentials/${first?.id}`));
    assert.equal(await page.locator('dd .badge').first().textContent(), 'retiring');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Revoke…' }).click()]);
    await press(page, 'Revoke the credential');
    await page.getByText('The credential was revoked: its next AUTH fails.').waitFor();
    const mail = { from: SUPPORT, to: ['patient@customer.example'], raw: `From: ${SUPPORT}\r\nSubject: Rotated\r\n\r\nHello\r\n` };
    assert.match((await submit(gw.gateway.ports.smtp, rotated, mail)).response, /^250 /);
    await assert.rejects(submit(gw.gateway.ports.smtp, { username, secret }, mail), /535/);

    // 5. A route, the default, and the tester.
    await page.goto(consoleUrl(gw, '/routes'));
    await page.getByLabel('Sender domain').fill(`*.${DOMAIN}`);
    await page.getByLabel('Action', { exact: true }).selectOption('reject');
    await page.getByLabel('Description (optional)').fill('No mail from subdomains');
    await press(page, 'Add the route');
    await page.getByText('The route was added.').waitFor();
    await page.getByLabel('When no rule matches').selectOption('relay');
    await press(page, 'Set the default');
    await page.getByText('The default action was changed.').waitFor();
    await page.getByLabel('Envelope sender').fill(`news@letters.${DOMAIN}`);
    await press(page, 'Test');
    const byRule = (await page.locator('#route-test').textContent()) ?? '';
    assert.match(byRule, /reject, by rule 1, \*\.clinic\.example \(No mail from subdomains\)/);
    await page.getByLabel('Envelope sender').fill(SUPPORT);
    await press(page, 'Test');
    assert.match((await page.locator('#route-test').textContent()) ?? '', /relay, by the default action: no rule matches/);
    await consoleScreenshot(page, 'setup-routes');

    // 6. The outbound connection to the local smarthost, and its step-by-step test.
    await page.goto(consoleUrl(gw, `/domains/${DOMAIN}`));
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: `Set the outbound connection of ${DOMAIN}` }).click()]);
    assert.equal(await page.getByLabel('Domain or address').inputValue(), DOMAIN);
    await page.getByLabel('Smarthost').fill('127.0.0.1');
    await page.getByLabel('TLS').selectOption('none');
    await page.getByLabel('Port (optional)').fill(String(sink.port));
    await press(page, 'Add the connection');
    await page.getByText('The connection was added. Test it below.').waitFor();
    await press(page, 'Test the connection');
    await page.locator('#test-result').waitFor();
    for (const step of ['connect', 'greeting', 'ehlo', 'quit'])
      assert.equal(await page.locator(`li[data-step="${step}"]`).getAttribute('data-status'), 'pass', `${step} passed`);
    assert.match((await page.locator('li[data-step="greeting"] pre.reply').textContent()) ?? '', /^220 /);
    await page.getByText('The connection works: every step passed.').waitFor();
    await consoleScreenshot(page, 'setup-connection-test');

    // 7. Both legs: started from the page, which then follows them without a reload.
    await page.goto(consoleUrl(gw, `/domains/${DOMAIN}`));
    assert.equal(await page.locator('.checklist li[aria-current=step] a').textContent(), 'Both legs verified');
    const before = sink.messages.length;
    await press(page, 'Verify the connection');
    await page.getByText('Verification mails sent.').waitFor();
    assert.equal(await page.locator('#legs-status').getAttribute('data-refresh'), '2000');
    assert.equal(await page.locator('tr[data-leg="outbound"] .badge').textContent(), 'pending');
    await page.evaluate(() => {
      (globalThis as unknown as { stillThisPage: boolean }).stillThisPage = true;
    });
    const mails = await waitFor(
      () => {
        const found = sink.messages.slice(before).filter((m) => m.rcptTo.includes(SUPPORT) && m.mailFrom === SUPPORT);
        return found.length >= 2 ? found : undefined;
      },
      { what: 'the two verification mails at the smarthost' },
    );
    for (const mail of mails) await send(gw.gateway.ports.smtp, inbound, { from: mail.mailFrom, to: mail.rcptTo, raw: mail.raw });
    await page.locator('tr[data-leg="outbound"] .badge', { hasText: 'verified' }).waitFor({ timeout: 30_000 });
    await page.locator('tr[data-leg="inbound"] .badge', { hasText: 'verified' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { stillThisPage?: boolean }).stillThisPage), true, 'updated in place, not reloaded');
    await page.reload();
    assert.equal(await page.locator('.checklist li[aria-current=step]').count(), 0);
    await page.getByText('Every step is done: the domain is connected and verified.').waitFor();
    await consoleScreenshot(page, 'setup-domain-verified');
    await page.goto(consoleUrl(gw, '/domains'));
    await consoleScreenshot(page, 'setup-domains');
    await page.goto(consoleUrl(gw, '/connections'));
    await consoleScreenshot(page, 'setup-connections');

    // Every action is in the audit log under the administrator's name.
    const actions = await gw.db(async (db) =>
      (await db.selectFrom('audit_log').select('action').where('actor', '=', `admin:${ADMIN_EMAIL}`).orderBy('seq').execute()).map((r) => r.action),
    );
    for (const action of [
      'domain.add',
      'domain.check',
      'domain.verify',
      'address.add',
      'address.alias_add',
      'address.alias_remove',
      'credential.create',
      'credential.retire',
      'credential.revoke',
      'route.add',
      'route.default',
      'connection.create',
      'connection.test',
      'domain.verify-connection',
    ])
      assert.ok(actions.includes(action), `${action} is audited as admin:${ADMIN_EMAIL} (found ${actions.join(', ')})`);
    await context.close();
  });
});

interface Answer {
  status: number;
  location: string | null;
  cookie: string | null;
  text: string;
}

async function request(url: string, init: { cookie?: string; form?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(url, {
    method: init.form ? 'POST' : 'GET',
    headers,
    body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    redirect: 'manual',
  });
  return {
    status: response.status,
    location: response.headers.get('location'),
    cookie: response.headers.get('set-cookie')?.split(';')[0] ?? null,
    text: await response.text(),
  };
}

const csrfIn = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

describe('console setup forms over HTTP', () => {
  let gw: TestGateway;
  let cookie: string;
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
    const form = await request(consoleUrl(gw, '/sign-in'));
    const signed = await request(consoleUrl(gw, '/sign-in'), {
      form: { csrf: csrfIn(form.text), email: ADMIN_EMAIL, password: ADMIN_PASSWORD, next: '/console' },
    });
    cookie = signed.cookie ?? '';
  });
  after(() => gw?.stop());

  test('a refused claim names the field: the message next to the name input, which keeps what was typed', async () => {
    const page = await request(consoleUrl(gw, '/domains'), { cookie });
    const answer = await request(consoleUrl(gw, '/domains'), { cookie, form: { csrf: csrfIn(page.text), name: 'Clinic.Example' } });
    assert.equal(answer.status, 422);
    const input = /<input [^>]*id="claim-name"[^>]*>/.exec(answer.text)?.[0] ?? '';
    assert.match(input, /value="Clinic.Example"/);
    assert.match(input, /aria-invalid="true"/);
    assert.match(input, /aria-describedby="claim-name-hint claim-name-error"/);
    assert.match(answer.text, /<p class="field-error" id="claim-name-error">&#34;Clinic.Example&#34; must be lowercase: use &#34;clinic.example&#34;<\/p>/);
    assert.equal(await gw.services(async (s) => (await s.domains.list({ limit: 50, offset: 0 })).items.some((d) => d.name === 'clinic.example')), false);
  });

  test('typed markup comes back as text, never as markup', async () => {
    const page = await request(consoleUrl(gw, '/routes'), { cookie });
    const answer = await request(consoleUrl(gw, '/routes'), { cookie, form: { csrf: csrfIn(page.text), match: '<script>x</script>', action: 'relay' } });
    assert.equal(answer.status, 422);
    assert.ok(!answer.text.includes('<script>x</script>'));
    assert.match(answer.text, /id="route-match" name="match"[^>]*value="&#60;script&#62;x&#60;\/script&#62;"/);
    assert.match(answer.text, /id="route-match-error"/);
  });

  test('an inbound credential with a client certificate name: no secret to show, the name on its page; a wildcard is refused by field', async () => {
    const page = await request(consoleUrl(gw, '/credentials'), { cookie });
    assert.match(page.text, /id="credential-tlsClientName"/);
    const form = { csrf: csrfIn(page.text), kind: 'inbound', domain: 'example.com', description: 'Exchange Online connector' };
    const refused = await request(consoleUrl(gw, '/credentials'), { cookie, form: { ...form, tlsClientName: '*.example.com' } });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /id="credential-tlsClientName-error">&#34;\*\.example\.com&#34; is a wildcard/);
    const created = await request(consoleUrl(gw, '/credentials'), { cookie, form: { ...form, tlsClientName: 'mail.example.com' } });
    assert.equal(created.status, 303);
    const shown = await request(new URL(created.location ?? '', consoleUrl(gw)).href, { cookie });
    assert.match(shown.text, /This credential has no secret/);
    assert.match(shown.text, /valid for <code>mail\.example\.com<\/code>/);
    const [made] = (await gw.services((s) => s.credentials.list({ limit: 50, offset: 0, kind: 'inbound' }))).items;
    assert.equal(made?.tlsClientName, 'mail.example.com');
    const detail = await request(consoleUrl(gw, `/credentials/${made?.id}`), { cookie });
    assert.match(detail.text, /<dt>Client certificate for<\/dt><dd><code>mail\.example\.com<\/code> \(relay port, no secret\)<\/dd>/);
  });

  test('a POST without the CSRF token changes nothing', async () => {
    const answer = await request(consoleUrl(gw, '/domains'), { cookie, form: { name: 'forged.example' } });
    assert.equal(answer.status, 403);
    assert.equal(await gw.services(async (s) => (await s.domains.list({ limit: 50, offset: 0 })).items.some((d) => d.name === 'forged.example')), false);
  });

  test('the connection test of a STARTTLS smarthost with an untrusted certificate stops at TLS; the secret is never shown back', async () => {
    const smarthost = await startSmtpSink({ tls: 'starttls', auth: { user: 'relay', pass: 'sm4rthost-secret' } });
    try {
      const page = await request(consoleUrl(gw, '/connections'), { cookie });
      const form = { csrf: csrfIn(page.text), scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', tlsMode: 'starttls', port: String(smarthost.port) };
      const created = await request(consoleUrl(gw, '/connections'), { cookie, form: { ...form, username: 'relay', secret: 'sm4rthost-secret' } });
      assert.equal(created.status, 303);
      const path = created.location?.replace(/\?.*$/, '') ?? '';
      const shown = await request(`http://127.0.0.1:${gw.gateway.ports.http}${path}`, { cookie });
      assert.ok(!shown.text.includes('sm4rthost-secret'));
      assert.match(shown.text, /A secret is set and is never shown/);
      const tested = await request(`http://127.0.0.1:${gw.gateway.ports.http}${path}/test`, { cookie, form: { csrf: csrfIn(page.text) } });
      assert.equal(tested.status, 200);
      const status = (step: string) => new RegExp(`data-step="${step}" data-status="([a-z]+)"`).exec(tested.text)?.[1];
      assert.deepEqual(['connect', 'greeting', 'ehlo', 'starttls', 'tls'].map(status), ['pass', 'pass', 'pass', 'pass', 'fail']);
      assert.match(tested.text, /<dt>Trusted<\/dt><dd><strong>no<\/strong>: /);
      assert.equal(status('auth'), 'skip', 'no AUTH over an untrusted channel');
      assert.ok(!tested.text.includes('sm4rthost-secret'));
    } finally {
      await smarthost.stop();
    }
  });

  test('an unknown domain, credential or connection is a 404 page', async () => {
    for (const path of ['/domains/nowhere.example', '/credentials/cred_nope', '/connections/conn_nope'])
      assert.equal((await request(consoleUrl(gw, path), { cookie })).status, 404, path);
  });
});
