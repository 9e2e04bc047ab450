import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { ADDRESS_MAX_WRONG_CODES } from '../src/portal/link-lock.js';
import { LINK_MAX_WRONG_CODES } from '../src/portal/one-time-code.js';
import { PORTAL_LIMITS } from '../src/portal/request-limits.js';
import { composeMail } from '../src/secure/compose.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { HARNESS_ACTOR } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 120_000 };
const SECRET_LINE = 'Your biopsy result is ready.';
const unavailable = browserUnavailable();

async function secureMail(subject: string): Promise<Buffer> {
  return composeMail({
    from: { name: 'Care Team', address: SECURE_SENDER },
    to: 'patient@example.net',
    subject,
    text: `${SECRET_LINE}\n`,
    messageId: `<${subject.replace(/\W/g, '')}@secure.example.com>`,
    date: new Date(),
  });
}

/**
 * A recipient's browser without JavaScript, from one loopback source address: the gateway
 * listens on 127.0.0.1 and counts per source address, and every 127/8 address reaches it.
 */
class Visitor {
  readonly cookies = new Map<string, string>();
  private readonly agent: Agent;
  constructor(
    readonly link: string,
    sourceIp = '127.0.0.1',
    /** Sent with every request, e.g. a proxy's X-Forwarded-For. */
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    // undici's own connector does not pass localAddress on, so the socket is made here.
    this.agent = new Agent({
      connect: (opts, done) => {
        const socket = connect({ host: opts.hostname, port: Number(opts.port), localAddress: sourceIp });
        socket.once('connect', () => done(null, socket)).once('error', (err) => done(err, null));
      },
    });
  }

  async request(path: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const url = new URL(path, this.link);
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      dispatcher: this.agent,
      headers: {
        ...this.extraHeaders,
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: url.origin } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1) === '') this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  page(suffix = '') {
    return this.request(`${new URL(this.link).pathname}${suffix}`);
  }

  post(suffix: string, form: Record<string, string>) {
    return this.request(`${new URL(this.link).pathname}${suffix}`, { method: 'POST', form });
  }

  async csrf(): Promise<string> {
    const { text } = await this.page();
    const token = /name="csrf" value="([^"]+)"/.exec(text)?.[1];
    if (!token) throw new Error(`no CSRF token in:\n${text}`);
    return token;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** As if the resend interval had passed: the test is about guessing, not about waiting 30 s. */
async function allowResend(lab: PortalLab, address: string): Promise<void> {
  await lab.gw.db((db) =>
    db
      .updateTable('secure_recipients')
      .set({ otp_sent_at: Date.now() - 60_000 })
      .where('address', '=', address)
      .execute(),
  );
}

async function newCode(lab: PortalLab, visitor: Visitor, address: string): Promise<string> {
  await allowResend(lab, address);
  const before = lab.sink.messages.length;
  const asked = await visitor.post('/code', { csrf: await visitor.csrf() });
  assert.equal(asked.status, 303, asked.text);
  return lab.codeFor(address, before);
}

const wrongFor = (code: string) => (code === '000000' ? '111111' : '000000');

async function recipientRow(lab: PortalLab, address: string) {
  return lab.gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('address', '=', address).executeTakeFirstOrThrow());
}

describe('one-time codes cannot be ground down', () => {
  let lab: PortalLab;
  let token: string;
  before(async () => {
    lab = await startPortalLab();
    token = await lab.gw.createApiToken('portal guessing');
  });
  after(async () => {
    await lab?.stop();
  });

  test(
    `${LINK_MAX_WRONG_CODES} wrong codes over several codes lock the link: the right code then meets the locked page; event, webhook and audit tell of it; unlock opens it again`,
    SLOW_OK,
    async () => {
      const address = 'grinder@example.net';
      const link = (await lab.sendSecure(await secureMail('Biopsy result'), [address])).get(address) ?? '';
      const visitor = new Visitor(link);
      const csrf = await visitor.csrf();
      let wrong = 0;
      // Four codes of five wrong guesses each but the last: 19 wrong codes, each code used up in turn.
      for (let n = 1; n <= 4; n++) {
        const code = await newCode(lab, visitor, address);
        for (let i = 0; i < (n < 4 ? 5 : 4); i++) {
          const answer = await visitor.post('/verify', { csrf, code: wrongFor(code) });
          wrong += 1;
          assert.equal(answer.status, 422, `wrong code ${wrong}: ${answer.text}`);
        }
      }
      assert.equal(wrong, LINK_MAX_WRONG_CODES - 1);
      const code = await newCode(lab, visitor, address);
      const last = await visitor.post('/verify', { csrf, code: wrongFor(code) });
      assert.equal(last.status, 423, last.text);
      assert.match(last.text, /This link is locked/);
      assert.match(last.text, /ask them to unlock it/);
      assert.match(last.text, /support@secure\.example\.com/);

      // The fresh code has four attempts left, yet the right code no longer opens anything.
      const right = await visitor.post('/verify', { csrf, code });
      assert.equal(right.status, 423);
      assert.match(right.text, /This link is locked/);
      assert.equal(visitor.cookies.size, 0, 'a locked link signed in');
      assert.equal((await visitor.page()).status, 423);
      const mails = lab.sink.messages.length;
      assert.equal((await visitor.post('/code', { csrf })).status, 423);
      assert.equal(lab.sink.messages.length, mails, 'a locked link mailed a code');

      const row = await recipientRow(lab, address);
      assert.ok(row.locked_at, 'locked_at not set');
      assert.equal(row.otp_failures, LINK_MAX_WRONG_CODES);
      const events = await lab.gw.db((db) =>
        db.selectFrom('events').selectAll().where('message_id', '=', row.message_id).where('kind', '=', 'portal-locked').execute(),
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]?.recipient, address);
      assert.match(events[0]?.detail ?? '', /20 wrong codes for this link \(limit 20\); the last from 127\.0\.0\.1/);
      const audit = await lab.gw.db((db) => db.selectFrom('audit_log').selectAll().where('action', '=', 'secure.recipient.lock').execute());
      assert.equal(audit.length, 1);
      assert.equal(audit[0]?.actor, 'system:portal');
      assert.equal(audit[0]?.actor_ip, '127.0.0.1');
      assert.equal(audit[0]?.target_id, row.message_id);
      assert.deepEqual(JSON.parse(audit[0]?.detail ?? '{}'), { reason: '20 wrong codes for this link (limit 20)', recipient: address, wrongCodes: 20 });
      const hook = await waitFor(() => lab.hook.requests.find((r) => r.body.includes('"secure.link.locked"')), { what: 'the secure.link.locked webhook' });
      assert.deepEqual(hook.signature, { ok: true });
      const payload = JSON.parse(hook.body) as Record<string, unknown>;
      assert.equal(payload.queueId, row.message_id);
      assert.equal(payload.recipient, address);
      assert.equal(payload.wrongCodes, 20);

      const shown = await lab.gw.api(`/api/v1/secure-messages/${row.message_id}`, { token });
      const recipient = (shown.body as { recipients: { address: string; lockedAt: string | null; wrongCodes: number }[] }).recipients[0];
      assert.ok(recipient?.lockedAt, shown.text);
      assert.equal(recipient?.wrongCodes, 20);

      const unlocked = await lab.gw.api(`/api/v1/secure-messages/${row.message_id}/recipients/${address}/unlock`, { method: 'POST', token });
      assert.equal(unlocked.status, 200, unlocked.text);
      assert.equal((unlocked.body as { recipients: { lockedAt: string | null }[] }).recipients[0]?.lockedAt, null);
      const again = await lab.gw.api(`/api/v1/secure-messages/${row.message_id}/recipients/${address}/unlock`, { method: 'POST', token });
      assert.equal(again.status, 409);
      assert.match(again.text, /is not locked/);
      const unlockAudit = await lab.gw.db((db) => db.selectFrom('audit_log').selectAll().where('action', '=', 'secure.recipient.unlock').execute());
      assert.equal(unlockAudit.length, 1);

      // Open again, and at once: the recipient asks for a code and reads the message.
      const before = lab.sink.messages.length;
      assert.equal((await visitor.post('/code', { csrf: await visitor.csrf() })).status, 303);
      const fresh = await lab.codeFor(address, before);
      assert.equal((await visitor.post('/verify', { csrf, code: fresh })).status, 303);
      assert.match((await visitor.page()).text, new RegExp(SECRET_LINE));
      await visitor.close();
    },
  );

  test(`${ADDRESS_MAX_WRONG_CODES} wrong codes for one address across its links lock the link being guessed`, SLOW_OK, async () => {
    const address = 'many-links@example.net';
    const links = [];
    for (const subject of ['First', 'Second', 'Third']) links.push((await lab.sendSecure(await secureMail(subject), [address])).get(address) ?? '');
    const visitor = new Visitor(links[2] ?? '', '127.0.0.4');
    const csrf = await visitor.csrf();
    const first = await newCode(lab, visitor, address);
    const guessed = await lab.gw.db((db) =>
      db.selectFrom('secure_recipients').select('id').where('address', '=', address).where('otp_hash', 'is not', null).executeTakeFirstOrThrow(),
    );
    // What the test is not about: the two other links already saw 20 wrong codes each.
    await lab.gw.db((db) =>
      db.updateTable('secure_recipients').set({ otp_failures: 20 }).where('address', '=', address).where('id', '!=', guessed.id).execute(),
    );

    let answer = { status: 0, text: '' };
    let guesses = 0;
    for (let n = 0; n < 2 && answer.status !== 423; n++) {
      const code = n === 0 ? first : await newCode(lab, visitor, address);
      for (let i = 0; i < 5 && answer.status !== 423; i++) {
        answer = await visitor.post('/verify', { csrf, code: wrongFor(code) });
        guesses += 1;
      }
    }
    assert.equal(guesses, ADDRESS_MAX_WRONG_CODES - 40);
    assert.equal(answer.status, 423, answer.text);
    const locked = await lab.gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('id', '=', guessed.id).executeTakeFirstOrThrow());
    assert.ok(locked.locked_at);
    assert.equal(locked.otp_failures, ADDRESS_MAX_WRONG_CODES - 40);
    const event = await lab.gw.db((db) =>
      db.selectFrom('events').selectAll().where('message_id', '=', locked.message_id).where('kind', '=', 'portal-locked').executeTakeFirstOrThrow(),
    );
    assert.match(event.detail ?? '', /50 wrong codes for many-links@example\.net across its links \(limit 50\)/);
    await visitor.close();
  });

  test('`relaygate secure unlock` opens a locked link and says so; an unknown recipient is named', { timeout: 300_000 }, async () => {
    const address = 'cli-unlock@example.net';
    await lab.sendSecure(await secureMail('CLI unlock'), [address]);
    const row = await recipientRow(lab, address);
    // Locked as the portal would have locked it; the locking itself is the first test's subject.
    await lab.gw.db((db) => db.updateTable('secure_recipients').set({ locked_at: Date.now(), otp_failures: 20 }).where('id', '=', row.id).execute());
    const env = gatewayEnv(lab.gw.dataDir);
    const unknown = await runCli(['secure', 'unlock', row.message_id, '--recipient', 'nobody@example.net'], env);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /has no recipient nobody@example\.net.*\(--recipient\)/);
    const done = await runCli(['secure', 'unlock', row.message_id, '--recipient', address], env);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`Unlocked the portal link of ${address} of ${row.message_id}`));
    assert.equal((await recipientRow(lab, address)).locked_at, null);
    const audit = await lab.gw.services((s) => s.audit.list({ action: 'secure.recipient.unlock', limit: 10, offset: 0 }));
    assert.ok(audit.items.some((r) => r.targetId === row.message_id && r.actor !== HARNESS_ACTOR.name));
  });

  test('the console shows a locked link on the message page and its Unlock button opens it, audited', { ...SLOW_OK, ...needsPeer(unavailable) }, async () => {
    const address = 'console-unlock@example.net';
    await lab.sendSecure(await secureMail('Console unlock'), [address]);
    const row = await recipientRow(lab, address);
    // Locked as the portal would have locked it; the locking itself is the first test's subject.
    await lab.gw.db((db) => db.updateTable('secure_recipients').set({ locked_at: Date.now(), otp_failures: 20 }).where('id', '=', row.id).execute());
    await createAdmin(lab.gw);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await signInConsole(page, lab.gw);
      await page.goto(consoleUrl(lab.gw, `/messages/${row.message_id}`));
      const section = page.locator('section', { has: page.getByRole('heading', { name: 'Secure message recipients' }) });
      assert.match((await section.textContent()) ?? '', /locked[\s\S]*20 wrong code\(s\)/);
      await Promise.all([page.waitForNavigation(), section.getByRole('button', { name: 'Unlock' }).click()]);
      await page.getByText('The portal link is unlocked').waitFor();
      assert.equal(await section.getByRole('button', { name: 'Unlock' }).count(), 0);
    } finally {
      await browser.close();
    }
    assert.equal((await recipientRow(lab, address)).locked_at, null);
    const audit = await lab.gw.db((db) =>
      db.selectFrom('audit_log').selectAll().where('action', '=', 'secure.recipient.unlock').where('target_id', '=', row.message_id).execute(),
    );
    assert.equal(audit[0]?.actor, `admin:${ADMIN_EMAIL}`);
  });
});

describe('the portal answers a flood from one address with 429 and Retry-After', () => {
  let lab: PortalLab;
  let link: string;
  before(async () => {
    lab = await startPortalLab();
    link = (await lab.sendSecure(await secureMail('Flood'), ['flooded@example.net'])).get('flooded@example.net') ?? '';
  });
  after(async () => {
    await lab?.stop();
  });

  test(`/verify: ${PORTAL_LIMITS.verify.limit} checks in 10 minutes from one address, then 429; another address is not affected`, SLOW_OK, async () => {
    const flooder = new Visitor(link, '127.0.0.2');
    const bystander = new Visitor(link, '127.0.0.3');
    const csrf = await flooder.csrf();
    for (let i = 1; i <= PORTAL_LIMITS.verify.limit; i++) {
      const answer = await flooder.post('/verify', { csrf, code: 'x' });
      assert.equal(answer.status, 422, `check ${i}: ${answer.text}`);
    }
    const refused = await flooder.post('/verify', { csrf, code: 'x' });
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 600, `Retry-After ${refused.headers.get('retry-after')}`);
    assert.match(refused.text, /Too many requests came from your network/);
    assert.equal((await bystander.post('/verify', { csrf: await bystander.csrf(), code: 'x' })).status, 422, 'another address was refused');
    await flooder.close();
    await bystander.close();
  });

  test(`every portal route: ${PORTAL_LIMITS.any.limit} requests a minute from one address, then 429`, SLOW_OK, async () => {
    const flooder = new Visitor(link, '127.0.0.5');
    const bystander = new Visitor(link, '127.0.0.6');
    // In parallel batches, so that the whole flood stays well inside one window on a slow machine.
    const statuses: number[] = [];
    const retryAfter: (string | null)[] = [];
    for (let sent = 0; sent < PORTAL_LIMITS.any.limit + 25; sent += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, i) => flooder.page(i % 2 === 0 ? '' : '/sent')));
      for (const answer of batch) {
        statuses.push(answer.status);
        if (answer.status === 429) retryAfter.push(answer.headers.get('retry-after'));
      }
    }
    assert.equal(statuses.filter((s) => s === 200).length, PORTAL_LIMITS.any.limit);
    assert.equal(statuses.filter((s) => s === 429).length, statuses.length - PORTAL_LIMITS.any.limit);
    assert.ok(
      retryAfter.every((v) => Number(v) >= 1 && Number(v) <= 60),
      `Retry-After ${retryAfter.join(', ')}`,
    );
    assert.equal((await bystander.page()).status, 200);
    await flooder.close();
    await bystander.close();
  });
});

describe('behind a trusted proxy the portal counts the client address it forwards', () => {
  let lab: PortalLab;
  let link: string;
  before(async () => {
    lab = await startPortalLab({ 'http.trustedProxies': '127.0.0.7' });
    link = (await lab.sendSecure(await secureMail('Proxied'), ['proxied@example.net'])).get('proxied@example.net') ?? '';
  });
  after(async () => {
    await lab?.stop();
  });

  test(
    'one client flooding through the proxy gets 429, another client through the same proxy does not; an untrusted sender of the header is counted as itself',
    SLOW_OK,
    async () => {
      const flooder = new Visitor(link, '127.0.0.7', { 'x-forwarded-for': '203.0.113.7' });
      const neighbour = new Visitor(link, '127.0.0.7', { 'x-forwarded-for': '203.0.113.8' });
      const spoofer = new Visitor(link, '127.0.0.8', { 'x-forwarded-for': '203.0.113.7' });
      const csrf = await flooder.csrf();
      for (let i = 1; i <= PORTAL_LIMITS.verify.limit; i++) assert.equal((await flooder.post('/verify', { csrf, code: 'x' })).status, 422, `check ${i}`);
      assert.equal((await flooder.post('/verify', { csrf, code: 'x' })).status, 429);
      assert.equal((await neighbour.post('/verify', { csrf, code: 'x' })).status, 422, 'another client behind the proxy was refused');
      assert.equal((await spoofer.post('/verify', { csrf, code: 'x' })).status, 422, 'an untrusted X-Forwarded-For was believed');
      for (const v of [flooder, neighbour, spoofer]) await v.close();
    },
  );
});

/** GET or POST with a Host header of our choosing (fetch may not set Host). */
function rawRequest(port: number, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the portal over plain HTTP explains why it cannot sign in', () => {
  let lab: PortalLab;
  let link: string;
  before(async () => {
    lab = await startPortalLab();
    link = (await lab.sendSecure(await secureMail('Plain HTTP'), ['plain@example.net'])).get('plain@example.net') ?? '';
  });
  after(async () => {
    await lab?.stop();
  });

  test('a non-loopback http:// host gets the explanation instead of a code form; loopback and https behind a proxy do not', SLOW_OK, async () => {
    const port = lab.gw.gateway.ports.http;
    const path = new URL(link).pathname;
    const plain = await rawRequest(port, path, { host: `portal.example.org:${port}` });
    assert.equal(plain.status, 200);
    assert.match(plain.text, /This page needs a secure connection/);
    assert.match(plain.text, /RELAYGATE_HTTP_PUBLIC_URL/);
    assert.ok(!plain.text.includes('Email me a code'));
    const proxied = await rawRequest(port, path, { host: 'portal.example.org', 'x-forwarded-proto': 'https' });
    assert.match(proxied.text, /Email me a code/);
    assert.match((await rawRequest(port, path, { host: `127.0.0.1:${port}` })).text, /Email me a code/);

    const csrf = /name="csrf" value="([^"]+)"/.exec(proxied.text)?.[1] ?? '';
    const mails = lab.sink.messages.length;
    const form = new URLSearchParams({ csrf }).toString();
    const asked = await rawRequest(
      port,
      `${path}/code`,
      { host: `portal.example.org:${port}`, origin: `http://portal.example.org:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
      form,
    );
    assert.equal(asked.status, 403);
    assert.match(asked.text, /This page needs a secure connection/);
    assert.equal(lab.sink.messages.length, mails, 'a code was mailed to a browser that cannot sign in');
  });

  test('in Chromium at http://portal.test the recipient reads why, in plain words, instead of a code step that loops', {
    ...SLOW_OK,
    ...needsPeer(unavailable),
  }, async () => {
    const port = lab.gw.gateway.ports.http;
    const browser = await launchBrowser(['--host-resolver-rules=MAP portal.test 127.0.0.1']);
    try {
      const page = await browser.newPage();
      await page.goto(`http://portal.test:${port}${new URL(link).pathname}`);
      await page.getByRole('heading', { name: 'This page needs a secure connection' }).waitFor();
      assert.match((await page.locator('main').textContent()) ?? '', /tell the sender/);
      assert.equal(await page.getByRole('button', { name: 'Email me a code' }).count(), 0);
    } finally {
      await browser.close();
    }
  });
});
