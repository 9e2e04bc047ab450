import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { secureRecipients, timeline } from '../src/console/watch/message-timeline.js';
import type { DeliveryEvidence } from '../src/model/outcome.js';
import { subjectOf } from '../src/pipeline/header-subject.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 90_000 };
const DEFER_REPLY = '451 4.3.0 mailbox busy, try later';
const unavailable = browserUnavailable();

describe('subjectOf: the Subject as the message log shows it', () => {
  const cases: [string, string, string | null][] = [
    ['plain', 'From: a@example.com\r\nSubject: Hello\r\n', 'Hello'],
    ['field name in any case', 'SUBJECT: upper\r\n', 'upper'],
    ['RFC 2047 Q encoding', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n', 'Grüße'],
    ['RFC 2047 B encoding', 'Subject: =?UTF-8?B?w6TDtsO8?=\r\n', 'äöü'],
    // RFC 2047 §6.2: white space between adjacent encoded-words is dropped, also across a fold.
    ['encoded words folded across lines', 'Subject: =?UTF-8?Q?Rechnung_?=\r\n =?UTF-8?Q?f=C3=BCr_Mai?=\r\n', 'Rechnung für Mai'],
    ['folded plain text (RFC 5322 §2.2.3)', 'Subject: a long\r\n subject\r\nTo: x@example.com\r\n', 'a long subject'],
    ['missing', 'To: x@example.com\r\n', null],
    ['empty', 'Subject: \r\n', ''],
    // Only shown, never acted on: a broken encoded-word is kept as written, the message is not refused.
    ['malformed encoded-word kept as written', 'Subject: =?UTF-8?Q?broken\r\n', '=?UTF-8?Q?broken'],
    ['a base64 word that decodes to nothing is kept as written', 'Subject: =?UTF-8?B?###?=\r\n', '=?UTF-8?B?###?='],
  ];
  for (const [name, header, expected] of cases) test(name, () => assert.equal(subjectOf(Buffer.from(header)), expected));

  test('cut at 998 characters, the line limit of RFC 5322 §2.1.1', () => {
    assert.equal(subjectOf(Buffer.from(`Subject: ${'x'.repeat(2000)}\r\n`))?.length, 998);
  });
});

const EVIDENCE: DeliveryEvidence = {
  policy: 'dane',
  override: null,
  tlsRequired: null,
  mxHost: 'mx.example.net',
  mxAddress: '192.0.2.25:25',
  dnssec: { mx: 'secure', tlsa: 'secure' },
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
  peerAuthentication: 'DANE-EE',
  tlsaMatch: '3 1 1',
  spkiSha256: 'ab'.repeat(32),
  mtaSts: null,
  policyFailures: [],
  reply: '250 2.0.0 ok',
};

describe('message timeline rendering', () => {
  const base = { mailFrom: 'a@example.com', sizeBytes: 2048, receivedAt: 1_700_000_000_000, expiresAt: 1_700_400_000_000, completedAt: null, isDsn: false };
  const received = {
    at: base.receivedAt,
    kind: 'received',
    recipient: null,
    detail: '{"from":"a@example.com","rcpt":1,"size":2048,"ip":"198.51.100.7"}',
    evidence: null,
  };

  test('a direct delivery shows its TLS evidence; a bounce links its DSN', () => {
    const page = timeline(
      {
        ...base,
        id: 'OUT1',
        direction: 'outbound',
        recipients: [],
        events: [
          received,
          { at: base.receivedAt + 1500, kind: 'delivered', recipient: 'x@example.net', detail: '250 2.0.0 ok', evidence: EVIDENCE },
          { at: base.receivedAt + 2000, kind: 'bounced', recipient: 'y@example.net', detail: 'remote-reply: 550 5.1.1 no such user', evidence: null },
          { at: base.receivedAt + 2000, kind: 'dsn', recipient: null, detail: 'DSN1', evidence: null },
        ],
      },
      undefined,
    ).value;
    assert.match(page, /<dt>Client IP<\/dt><dd>198\.51\.100\.7<\/dd>/);
    assert.match(page, /<dt>Size<\/dt><dd>2\.0 KiB<\/dd>/);
    assert.match(page, /2 s after acceptance/);
    assert.match(page, /<h4>TLS evidence<\/h4>/);
    assert.match(page, /<dt>TLS<\/dt><dd>TLSv1\.3, TLS_AES_256_GCM_SHA384<\/dd>/);
    assert.match(page, /<dt>Peer authentication<\/dt><dd>DANE-EE \(TLSA 3 1 1 matched\)<\/dd>/);
    assert.match(page, /<dt>DNSSEC<\/dt><dd>MX secure, TLSA secure<\/dd>/);
    assert.match(page, /550 5\.1\.1 no such user/);
    assert.match(page, /<a href="\/console\/messages\/DSN1">message DSN1<\/a>/);
  });

  test("an inbound message's attempts are hand-offs to the application, and remote text is escaped", () => {
    const page = timeline(
      {
        ...base,
        id: 'IN1',
        direction: 'inbound',
        recipients: [],
        events: [
          received,
          { at: base.receivedAt + 10, kind: 'deferred', recipient: 'app@example.com', detail: 'webhook: 503 <b>down</b>', evidence: null },
          { at: base.receivedAt + 20, kind: 'delivered', recipient: 'app@example.com', detail: 'webhook: 200', evidence: null },
        ],
      },
      undefined,
    ).value;
    assert.match(page, /<h3>Routed<\/h3><p>Inbound/);
    assert.match(page, /Hand-off to the application \(webhook or forward\) 1 <span class="badge deferred">/);
    assert.match(page, /Hand-off to the application \(webhook or forward\) 2 <span class="badge delivered">/);
    assert.match(page, /webhook: 503 &#60;b&#62;down&#60;\/b&#62;/);
  });

  test('secure recipients: state, channel, and the evidence of a direct delivery', () => {
    const recipient = { revoked: false, revokedAt: null, fallbackReason: null, notifiedAt: null, openedAt: null, repliedAt: null, bouncedAt: null };
    const page = secureRecipients({
      id: 'S1',
      sender: 'a@example.com',
      subject: null,
      createdAt: 0,
      retainUntil: 0,
      revokedAt: null,
      shreddedAt: null,
      recipientCount: 2,
      recipients: [
        { ...recipient, address: 'p@example.net', status: 'delivered', deliveredVia: 'direct', evidence: EVIDENCE },
        { ...recipient, address: 'q@example.org', status: 'notified', deliveredVia: 'portal', fallbackReason: 'MX not DNSSEC-signed' },
      ].map((r) => ({ evidence: null, ...r }) as Parameters<typeof secureRecipients>[0]['recipients'][number]),
    }).value;
    assert.match(page, /p@example\.net<\/td><td><span class="badge delivered">/);
    assert.match(page, /<summary>TLS evidence<\/summary>/);
    assert.match(page, /portal instead: MX not DNSSEC-signed/);
  });
});

/** The console over plain HTTP, as a browser without JavaScript uses it: a session cookie and the CSRF token of each page. */
class ConsoleClient {
  cookie = '';
  constructor(private readonly gw: TestGateway) {}

  static async signIn(gw: TestGateway): Promise<ConsoleClient> {
    const client = new ConsoleClient(gw);
    const form = await client.get('/sign-in');
    const response = await client.post('/sign-in', { csrf: csrfOf(form.text), next: '/console', email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    assert.equal(response.status, 303, 'signed in');
    return client;
  }

  async get(path: string): Promise<{ status: number; text: string; location: string | null }> {
    const response = await fetch(consoleUrl(this.gw, path), { headers: { cookie: this.cookie }, redirect: 'manual' });
    return { status: response.status, text: await response.text(), location: response.headers.get('location') };
  }

  async post(path: string, form: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
    const response = await fetch(consoleUrl(this.gw, path), {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${this.gw.gateway.ports.http}` },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
    const set = response.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0] ?? '';
    return { status: response.status, text: await response.text(), location: response.headers.get('location') };
  }
}

function csrfOf(page: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(token, 'the page carries a CSRF token');
  return token;
}

/** The queue ids linked from a message log page, in page order. */
const linkedIds = (page: string) => [...page.matchAll(/href="\/console\/messages\/([0-9A-Z]+)"/g)].map((m) => m[1]);

/** The headline number under a dashboard label. */
function headline(page: string, label: string): number {
  const value = new RegExp(`<dt>${label}</dt><dd><strong>(\\d+)</strong>`).exec(page)?.[1];
  assert.ok(value !== undefined, `the dashboard shows "${label}"`);
  return Number(value);
}

describe('console: watching the gateway', () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let gw: TestGateway;
  let http: ConsoleClient;
  const ids = { delivered: '', deferred: '', forBrowser: '' };

  before(async () => {
    dns = await startDnsServer({
      'example.com': { mx: [{ exchange: 'mx.example.com', priority: 10 }], txt: ['v=spf1 -all'] },
      'mx.example.com': { a: ['127.0.0.1'] },
    });
    sink = await startSmtpSink();
    sink.behaviour = { rcpt: (address) => (address.endsWith('@example.org') ? DEFER_REPLY : undefined) };
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`, dnsResolver: dns.address });
    await createAdmin(gw);
    const credential = await gw.createCredential('watching');
    const send = async (to: string, subject: string) =>
      (await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.com', to: [to], raw: applicationMessage(subject) })).queueId;
    ids.delivered = await send('customer@example.net', 'Invoice 4711 is ready');
    ids.deferred = await send('busy@example.org', 'Password reset');
    ids.forBrowser = await send('slow@example.org', 'Weekly digest');
    await sink.waitForMessages(1);
    const queue = await gw.queue();
    try {
      await waitFor(
        async () => {
          const states = await Promise.all(Object.values(ids).map(async (id) => (await queue.show(id))?.recipients[0]?.status));
          return states.join() === 'delivered,deferred,deferred' || undefined;
        },
        { what: 'one message delivered and two deferred' },
      );
    } finally {
      await queue.close();
    }
    http = await ConsoleClient.signIn(gw);
  });

  after(async () => {
    await gw?.stop();
    await sink?.stop();
    await dns?.stop();
  });

  test('the message log lists the messages, newest first, and finds them by subject, recipient, status, sender and id', async () => {
    const all = await http.get('/messages');
    assert.equal(all.status, 200);
    assert.deepEqual(linkedIds(all.text), [ids.forBrowser, ids.deferred, ids.delivered]);
    assert.match(all.text, /Invoice 4711 is ready/);

    const bySubject = await http.get('/messages?subject=invoice');
    assert.deepEqual(linkedIds(bySubject.text), [ids.delivered], 'subject search is case-insensitive');
    const byRecipient = await http.get('/messages?recipient=busy%40example');
    assert.deepEqual(linkedIds(byRecipient.text), [ids.deferred]);
    const byStatus = await http.get('/messages?status=deferred');
    assert.deepEqual(linkedIds(byStatus.text), [ids.forBrowser, ids.deferred]);
    const delivered = await http.get('/messages?status=delivered&direction=outbound');
    assert.deepEqual(linkedIds(delivered.text), [ids.delivered]);
    const byId = await http.get(`/messages?id=${ids.deferred.toLowerCase()}`);
    assert.deepEqual(linkedIds(byId.text), [ids.deferred]);
    const wildcard = await http.get('/messages?sender=%25');
    assert.deepEqual(linkedIds(wildcard.text), [], 'a % typed in the box is a character, not a wildcard');
    const none = await http.get('/messages?sender=nobody%40example.com');
    assert.match(none.text, /No message matches this search/);
  });

  test("a message's timeline shows receipt, routing, each attempt with the remote reply", async () => {
    const page = await http.get(`/messages/${ids.deferred}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<h3>Received<\/h3>/);
    assert.match(page.text, /<dt>Client IP<\/dt><dd>127\.0\.0\.1<\/dd>/);
    assert.match(page.text, /<dt>Credential<\/dt><dd><code>[^<]+<\/code> watching<\/dd>/);
    assert.match(page.text, /<h3>Routed<\/h3><p>Outbound/);
    assert.match(page.text, /<h3>Delivery attempt 1 <span class="badge deferred">deferred<\/span><\/h3>/);
    assert.ok(page.text.includes(DEFER_REPLY), 'the smarthost reply is shown');
    assert.match(page.text, /href="\/console\/domains\/example\.com\/dns"/, 'links to the DNS report of the sender domain');

    const delivered = await http.get(`/messages/${ids.delivered}`);
    assert.match(delivered.text, /<h3>Delivery attempt 1 <span class="badge delivered">delivered<\/span><\/h3>/);
    assert.match(delivered.text, /<dt>Remote reply<\/dt><dd><code>250 /);
    assert.match(delivered.text, /<dt>Subject<\/dt><dd>Invoice 4711 is ready<\/dd>/);

    assert.equal((await http.get('/messages/NOSUCHMESSAGE')).status, 404);
  });

  test('retry and delete are POST forms with the CSRF token, and are audited with the administrator', async () => {
    const page = await http.get(`/messages/${ids.deferred}`);
    assert.equal((await http.post(`/messages/${ids.deferred}/retry`, { csrf: 'forged' })).status, 403, 'a POST without the token is refused');

    const retried = await http.post(`/messages/${ids.deferred}/retry`, { csrf: csrfOf(page.text) });
    assert.equal(retried.status, 303);
    assert.equal(retried.location, `/console/messages/${ids.deferred}?done=retried`);
    assert.match((await http.get(`/messages/${ids.deferred}?done=retried`)).text, /Retried by an operator/);

    const confirm = await http.get(`/messages/${ids.deferred}/delete`);
    assert.match(confirm.text, /Delete the message/);
    const deleted = await http.post(`/messages/${ids.deferred}/delete`, { csrf: csrfOf(confirm.text) });
    assert.equal(deleted.status, 303);
    assert.equal(deleted.location, '/console/messages?done=deleted');
    assert.equal((await http.get(`/messages/${ids.deferred}`)).status, 404);

    const audit = await gw.services((s) => s.audit.list({ limit: 10, offset: 0 }));
    const actions = audit.items.filter((r) => r.action.startsWith('queue.')).map((r) => [r.action, r.actor, r.targetId]);
    assert.deepEqual(actions, [
      ['queue.delete', `admin:${ADMIN_EMAIL}`, ids.deferred],
      ['queue.retry', `admin:${ADMIN_EMAIL}`, ids.deferred],
    ]);
    const auditPage = await http.get('/audit?action=queue.delete');
    assert.match(auditPage.text, /The chain of \d+ record\(s\) is intact/);
    assert.match(auditPage.text, new RegExp(`<td>admin:${ADMIN_EMAIL}</td>`));
    assert.doesNotMatch(auditPage.text, /<code>queue\.retry<\/code><\/td>/, 'the filter leaves other actions out');
  });

  test('the dashboard counts the traffic and draws the charts as inline SVG with their numbers', async () => {
    const page = await http.get('');
    assert.equal(page.status, 200);
    // The delivered message and the one still deferred: the deleted one took its records with it.
    assert.equal(headline(page.text, 'Messages out'), 2);
    assert.ok(headline(page.text, 'Delivered') >= 1);
    assert.ok(headline(page.text, 'Deferred') >= 1);
    assert.equal(headline(page.text, 'Messages in'), 0);
    assert.ok(headline(page.text, 'Queue now') >= 1, 'the deferred message waits');
    const charts = page.text.match(/<svg class="chart"[^>]*role="img"/g) ?? [];
    assert.equal(charts.length, 5);
    assert.match(page.text, /<title id="chart-out-title">Messages out, last 24 hours<\/title>/);
    assert.match(page.text, /<rect [^>]+><title>\d\d:00 UTC: [1-9]/, 'a bar for the hour the messages came in');
    assert.match(page.text, /<summary>Messages out: the numbers per hour<\/summary>/);
    assert.doesNotMatch(page.text, /<script>|style="/, 'nothing inline: the CSP forbids it');
  });

  test('the DNS report shows each check with its badge, what to publish, and the direct-delivery verdict', async () => {
    const page = await http.get('/domains/example.com/dns');
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>DNS report for example\.com<\/h1>/);
    assert.match(page.text, /Inbound direct delivery <span class="badge fail">fail<\/span>/, 'unsigned: no direct delivery');
    for (const check of ['DNSSEC', 'MX', 'SPF', 'DMARC']) assert.match(page.text, new RegExp(`<h3>${check} <span class="badge (pass|warn|fail)">`), check);
    assert.match(page.text, /<code>_dmarc\.example\.com<\/code>/, 'the DMARC record to publish is named');
    assert.match(page.text, /data-copy="[^"]*v=DMARC1/, 'with a copy button for its value');
    assert.ok(
      dns.queries.some((q) => q.name === 'example.com' && q.type === 'MX'),
      'looked up through the test DNS server',
    );
    assert.equal((await http.get('/domains/not_a_domain!/dns')).status, 400);
  });

  test('signed out, every watching page sends to sign-in', async () => {
    for (const path of ['', '/messages', `/messages/${ids.delivered}`, '/audit', '/domains/example.com/dns']) {
      const response = await fetch(consoleUrl(gw, path), { redirect: 'manual' });
      assert.equal(response.status, 303, path);
      assert.match(response.headers.get('location') ?? '', /^\/console\/sign-in/);
    }
  });

  describe('in Chromium', needsPeer(unavailable), () => {
    let browser: Browser;
    let page: Page;
    before(async () => {
      browser = await launchBrowser();
      page = await (await browser.newContext()).newPage();
      await signInConsole(page, gw);
    });
    after(async () => {
      await browser?.close();
    });

    test('dashboard, message log search, timeline, retry, delete and the audit log', SLOW_OK, async () => {
      await page.goto(consoleUrl(gw));
      assert.equal(await page.getByRole('img', { name: /Messages out, last 24 hours/ }).count(), 1);
      await consoleScreenshot(page, 'watch-dashboard');

      await page.getByRole('link', { name: 'Messages', exact: true }).click();
      await page.getByLabel('Subject contains').fill('weekly');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('heading', { name: 'Matching messages' }).waitFor();
      assert.deepEqual(linkedIds(await page.content()), [ids.forBrowser]);
      await page.getByLabel('Subject contains').fill('');
      await page.getByLabel('Recipient status').selectOption('delivered');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('heading', { name: 'Matching messages' }).waitFor();
      assert.deepEqual(linkedIds(await page.content()), [ids.delivered]);
      await page.getByLabel('Recipient status').selectOption('');
      await page.getByRole('button', { name: 'Search' }).click();
      await consoleScreenshot(page, 'watch-messages');

      await page.getByRole('link', { name: ids.forBrowser }).click();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      assert.ok((await page.getByText(DEFER_REPLY).count()) > 0);
      await consoleScreenshot(page, 'watch-message-timeline');
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.getByRole('status').filter({ hasText: 'will be tried now' }).waitFor();

      await page.getByRole('link', { name: 'Delete…' }).click();
      await consoleScreenshot(page, 'watch-message-delete');
      await page.getByRole('button', { name: 'Delete the message' }).click();
      await page.getByRole('status').filter({ hasText: 'deleted from the queue' }).waitFor();
      assert.deepEqual(linkedIds(await page.content()), [ids.delivered]);

      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByText('is intact').waitFor();
      const rows = page.getByRole('row').filter({ hasText: ids.forBrowser });
      assert.equal(await rows.filter({ hasText: 'queue.delete' }).count(), 1);
      assert.equal(await rows.filter({ hasText: 'queue.retry' }).count(), 1);
      await page.getByLabel('Action').selectOption('queue.retry');
      await page.getByRole('button', { name: 'Filter' }).click();
      assert.equal(await page.getByRole('row').filter({ hasText: 'queue.delete' }).count(), 0);
      await consoleScreenshot(page, 'watch-audit');
    });

    test('the DNS report of a domain', SLOW_OK, async () => {
      await page.goto(consoleUrl(gw, '/domains/example.com/dns'));
      await page.getByRole('heading', { name: 'Checks' }).waitFor();
      assert.ok((await page.locator('.badge.fail, .badge.warn, .badge.pass').count()) >= 4);
      await consoleScreenshot(page, 'watch-dns-report');
    });
  });
});
