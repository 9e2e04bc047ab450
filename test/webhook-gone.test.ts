import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import type { Json } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { openDialog } from './support/smtp-dialog.js';
import { submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SLOW_OK = { timeout: 400_000 };
const HELD = '450 4.2.1 The receiving application for example.com is disabled here; keep the message and try again later';

function customerMail(subject: string): string {
  return [
    'From: "A Customer" <customer@customer.example>',
    'To: support@example.com',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@customer.example>`,
    '',
    'Hello,',
    '',
  ].join('\r\n');
}

type Target = { id: string; disabledAt: string | null; disabledReason: string | null; url: string };

// A webhook answering 410 Gone (RFC 9110 §15.5.11) disables its target until an administrator
// enables it: the organisation's server keeps new mail (450 4.2.1), queued mail waits here.
describe('a webhook that answers 410 Gone', () => {
  let gw: TestGateway;
  let hook: WebhookReceiver;
  let dns: TestDnsServer;
  let dir: TempDir;
  let token: string;
  let relay: { username: string; secret: string };
  const api = (path: string, method = 'GET') => gw.api(path, { method, token });
  const organisationTarget = async () => (await api('/api/v1/inbound-targets/organisation')).body as Target;
  const audit = async (action: string) => ((await api(`/api/v1/audit?action=${action}`)).body as { items: Json[] }).items;

  /** MAIL and RCPT as the organisation's server sends them; the RCPT reply. */
  async function rcptReply(): Promise<string> {
    const { dialog } = await openDialog(gw.gateway.ports.smtp);
    try {
      await dialog.ehlo('mail.example.com');
      await dialog.startTls();
      await dialog.ehlo('mail.example.com');
      assert.match(await dialog.authPlain(relay.username, relay.secret), /^235 /);
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      return await dialog.send('RCPT TO:<support@example.com>');
    } finally {
      dialog.close();
    }
  }

  before(async () => {
    dns = await startDnsServer({ 'customer.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] } });
    hook = await startWebhookReceiver();
    dir = await tempDir('relaygate-gone-');
    const caFile = join(dir.path, 'webhook-ca.pem');
    await writeFile(caFile, hook.caCert);
    // The receiver listens on 127.0.0.1: only with the flag may a target point there.
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': caFile,
      'inbound.webhookTimeout': '10s',
    });
    token = await gw.createApiToken('gone suite');
    const { secret } = await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      return s.inboundTargets.set({ kind: 'webhook', url: hook.url }, HARNESS_ACTOR);
    });
    hook.secret = secret ?? '';
    relay = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
  });
  after(async () => {
    await gw?.stop();
    await hook?.stop();
    await dns?.stop();
    await dir?.cleanup();
  });

  test('disables the target (event, audit, API, CLI); new mail gets 450 4.2.1, queued mail waits; enable delivers it', SLOW_OK, async () => {
    hook.behaviour = () => ({ status: 410, body: { error: 'this integration was uninstalled' } });
    const { queueId } = await submit(gw.gateway.ports.smtp, relay, {
      from: 'customer@customer.example',
      to: ['support@example.com'],
      raw: customerMail('Gone'),
    });
    const [first] = await hook.waitForRequests(1);
    assert.equal(first?.answered, 410);

    const disabled = await waitFor(async () => {
      const t = await organisationTarget();
      return t.disabledAt ? t : undefined;
    });
    // On a busy machine an attempt may time out before the 410 is read, and be retried: count from here.
    const posted = hook.requests.length;
    assert.match(disabled.disabledReason ?? '', /^webhook answered 410 in \d+ ms: \{"error":"this integration was uninstalled"\}$/);
    const [record, ...more] = await audit('inbound-target.disable');
    assert.equal(more.length, 0, 'disabled once');
    assert.equal(record?.actor, 'system:webhook-delivery');
    assert.deepEqual(record?.detail, { domain: null, url: hook.url, reason: disabled.disabledReason });
    const event = gw.logs.map((line) => JSON.parse(line) as Json).find((line) => line.event === 'inbound-target.disabled');
    assert.deepEqual([event?.target, event?.url, event?.reply], [disabled.id, hook.url, disabled.disabledReason]);

    // The worker tries again (retries every second here): no request is sent, the message stays deferred.
    const q = await gw.queue();
    try {
      const waiting = await waitFor(async () => {
        const m = await q.show(queueId);
        return m?.events.some((e) => e.kind === 'deferred' && /^application: inbound target itg_\w+ is disabled; the message waits/.test(e.detail ?? ''))
          ? m
          : undefined;
      });
      assert.equal(waiting.recipients[0]?.status, 'deferred');
      assert.equal(hook.requests.length, posted, 'nothing is posted to a disabled target');
    } finally {
      await q.close();
    }

    // New mail for it: the organisation's server keeps it and retries (a 4xx, never a bounce).
    assert.equal(await rcptReply(), HELD);

    const env = gatewayEnv(gw.dataDir);
    const shown = await runCli(['inbound', 'show'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      /\n {2}state: {8}disabled since \S+Z \(webhook answered 410 in \d+ ms: .+\); new mail waits at the sender \(450 4\.2\.1\), queued mail waits here; to send again: relaygate inbound enable\n/,
    );
    const listed = await runCli(['inbound', 'list'], env);
    assert.match(listed.stdout, new RegExp(`\\n${disabled.id}\\s+\\(organisation\\)\\s+webhook\\s+\\S+\\s+-\\s+disabled since \\S+Z\\s`));

    hook.behaviour = () => ({ status: 204 });
    const enabled = await runCli(['inbound', 'enable'], env);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(
      enabled.stdout,
      `Enabled: inbound mail for the organisation's domains without a target of their own goes to the webhook ${hook.url} again; the mail that waited is delivered now.\n`,
    );
    const second = (await hook.waitForRequests(posted + 1))[posted];
    assert.equal(second?.answered, 204);
    assert.equal(second?.headers['webhook-id'], first?.headers['webhook-id'], 'the same event, so the application can drop a duplicate');
    const q2 = await gw.queue();
    try {
      await waitFor(async () => ((await q2.show(queueId))?.recipients[0]?.status === 'delivered' ? true : undefined));
    } finally {
      await q2.close();
    }
    assert.deepEqual((await organisationTarget()).disabledAt, null);
    const [enableRecord] = await audit('inbound-target.enable');
    assert.equal(enableRecord?.actor, `cli:${userInfo().username}`);
    assert.match(await rcptReply(), /^250 2\.1\.5 /);

    const again = await runCli(['inbound', 'enable'], env);
    assert.equal(again.stdout, "Inbound mail for the organisation's domains without a target of their own was not disabled; nothing changed.\n");
  });

  test('the API shows the state and enables, for the organisation and a domain', async () => {
    const id = (await organisationTarget()).id;
    await gw.services((s) => s.inboundTargets.disable(id, 'webhook answered 410 in 5 ms', HARNESS_ACTOR));
    const shown = await organisationTarget();
    assert.match(shown.disabledAt ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.equal(shown.disabledReason, 'webhook answered 410 in 5 ms');
    const enabled = await api('/api/v1/inbound-targets/organisation/enable', 'POST');
    assert.equal(enabled.status, 200, enabled.text);
    assert.deepEqual([(enabled.body as Target).disabledAt, (enabled.body as Target).disabledReason], [null, null]);
    const missing = await api('/api/v1/domains/example.com/inbound-target/enable', 'POST');
    assert.equal(missing.status, 404, missing.text);
  });

  test('a delivery event for the application waits while its target is disabled, uncounted, and is sent once it is enabled', SLOW_OK, async () => {
    const id = (await organisationTarget()).id;
    await gw.services((s) => s.inboundTargets.disable(id, 'webhook answered 410 in 6 ms', HARNESS_ACTOR));
    hook.behaviour = () => ({ status: 204 });
    const before = hook.requests.length;
    // An event as the worker records one after an outbound delivery (src/events/delivery-events.ts).
    const now = Date.now();
    await gw.db((db) =>
      db
        .insertInto('event_deliveries')
        .values({
          id: 'evt_waiting',
          sender_domain: 'example.com',
          payload: JSON.stringify({ type: 'message.delivered', id: 'evt_waiting' }),
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          expires_at: now + 60_000,
          last_reply: null,
          created_at: now,
        })
        .execute(),
    );
    const held = await waitFor(() =>
      gw.db(async (db) => {
        const row = await db.selectFrom('event_deliveries').selectAll().where('id', '=', 'evt_waiting').executeTakeFirst();
        return row?.last_reply ? row : undefined;
      }),
    );
    assert.match(held.last_reply ?? '', /^inbound target itg_\w+ is disabled; the message waits until it is enabled again/);
    assert.deepEqual([held.status, held.attempts, hook.requests.length], ['pending', 0, before]);

    assert.equal((await api('/api/v1/inbound-targets/organisation/enable', 'POST')).status, 200);
    const [sent] = (await hook.waitForRequests(before + 1)).slice(before);
    assert.deepEqual([sent?.headers['webhook-id'], sent?.signature], ['evt_waiting', { ok: true }]);
    await waitFor(() =>
      gw.db(async (db) => ((await db.selectFrom('event_deliveries').select('id').where('id', '=', 'evt_waiting').executeTakeFirst()) ? undefined : true)),
    );
  });

  const unavailable = browserUnavailable();
  test('the console shows a disabled target with its reason, and enables it', { ...SLOW_OK, ...needsPeer(unavailable) }, async () => {
    await createAdmin(gw);
    const id = (await organisationTarget()).id;
    await gw.services((s) => s.inboundTargets.disable(id, 'webhook answered 410 in 7 ms', HARNESS_ACTOR));
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.newPage();
      await signInConsole(page, gw);
      await page.goto(consoleUrl(gw, '/inbound'));
      const row = page.getByRole('row', { name: /the organisation's default/ });
      assert.match((await row.textContent()) ?? '', /disabled\s+since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: webhook answered 410 in 7 ms\./i);
      await consoleScreenshot(page, 'inbound-disabled');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: "Enable the organisation's inbound target" }).click()]);
      assert.equal(await page.getByRole('status').textContent(), 'The inbound target was enabled; the mail that waited for it is being delivered.');
      assert.match((await page.getByRole('row', { name: /the organisation's default/ }).textContent()) ?? '', /enabled/i);
      assert.equal((await organisationTarget()).disabledAt, null);
    } finally {
      await browser?.close();
    }
    const [record] = await audit('inbound-target.enable');
    assert.equal(record?.actor, 'admin:ops@example.com');
  });
});
