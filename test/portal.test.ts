import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import PostalMime from 'postal-mime';
import { sanitizeMessageHtml } from '../src/portal/sanitize.js';
import { composeMail } from '../src/secure/compose.js';
import type { TestGateway } from './support/gateway.js';
import { PortalClient } from './support/portal-client.js';
import { type PortalLab, SECURE_SENDER, startPortalLab } from './support/secure.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 60_000 };
const SECRET_LINE = 'Your lab results: glucose 5.4 mmol/l';

async function secureMail(
  subject: string,
  o: { html?: string; attachments?: { filename: string; contentType: string; content: Buffer }[] } = {},
): Promise<Buffer> {
  return composeMail({
    from: { name: 'Care Team', address: SECURE_SENDER },
    to: 'patient@example.net',
    subject,
    text: `${SECRET_LINE}\n`,
    html: o.html,
    messageId: `<${subject.replace(/\W/g, '')}@secure.example.com>`,
    date: new Date(),
    attachments: o.attachments,
  });
}

async function queuedCount(gw: TestGateway): Promise<number> {
  return gw.db(async (db) =>
    Number(
      (
        await db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  );
}

async function recipientRow(gw: TestGateway, address: string) {
  return gw.db((db) => db.selectFrom('secure_recipients').selectAll().where('address', '=', address).orderBy('notified_at', 'desc').executeTakeFirstOrThrow());
}

describe('recipient portal over HTTP', () => {
  let lab: PortalLab;
  before(async () => {
    lab = await startPortalLab();
    await lab.gw.db((db) => db.updateTable('organisations').set({ read_receipts: 1 }).execute());
  });
  after(async () => {
    await lab?.stop();
  });

  test('landing page: security headers, masked address, no content, and a code request that needs its CSRF token', SLOW_OK, async () => {
    const links = await lab.sendSecure(await secureMail('Results of 12 March'), ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    const landing = await client.page();
    assert.equal(landing.status, 200);
    assert.match(landing.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.match(landing.headers.get('content-security-policy') ?? '', /default-src 'none'.*frame-ancestors 'none'/);
    assert.match(landing.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    assert.equal(landing.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(landing.headers.get('referrer-policy'), 'same-origin');
    assert.equal(landing.headers.get('cache-control'), 'no-store');
    assert.equal(landing.headers.get('x-frame-options'), 'DENY');
    assert.match(landing.text, /<meta name="viewport"/);
    assert.match(landing.text, /Care Team &lt;support@secure\.example\.com&gt;/);
    assert.match(landing.text, /p\*{5}t@example\.net/);
    assert.ok(!landing.text.includes('patient@example.net'), 'the landing page shows the whole address');
    assert.ok(!landing.text.includes(SECRET_LINE), 'the landing page shows content');

    const queued = await queuedCount(lab.gw);
    const mails = lab.sink.messages.length;
    assert.equal((await client.post('/code', {})).status, 403);
    assert.equal((await client.post('/code', { csrf: 'forged' })).status, 403);
    assert.equal((await client.post('/code', { csrf: await client.csrf() }, { origin: 'https://evil.example' })).status, 403);
    assert.equal(await queuedCount(lab.gw), queued, 'a refused code request queued mail');

    const asked = await client.post('/code', { csrf: await client.csrf() });
    assert.equal(asked.status, 303);
    const code = await lab.codeFor('patient@example.net', mails);
    const mail = lab.sink.messages.at(-1);
    assert.equal(mail?.mailFrom, SECURE_SENDER, 'the code leaves from the sending address');
    const parsed = await PostalMime.parse(mail?.raw ?? Buffer.alloc(0));
    assert.equal(parsed.from?.address, SECURE_SENDER);
    assert.equal(parsed.subject, 'Your code for the secure message from Care Team');
    assert.ok(!mail?.raw.includes(SECRET_LINE) && !mail?.raw.includes('Results of 12 March'), 'the code mail carries content');
    const row = await recipientRow(lab.gw, 'patient@example.net');
    assert.ok(row.otp_hash && !row.otp_hash.includes(code), 'the code is stored in the clear');
    assert.equal(row.otp_attempts, 0);

    const again = await client.post('/code', { csrf: await client.csrf() });
    assert.equal(again.status, 429);
    assert.match(again.text, /A code was sent a moment ago. Please wait \d+ seconds before asking for another one./);
  });

  test('a right code signs in with a strict cookie, opens the message once, and writes a read receipt', SLOW_OK, async () => {
    const links = await lab.sendSecure(await secureMail('Results of 13 March'), ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    const before = lab.sink.messages.length;
    await client.post('/code', { csrf: await client.csrf() });
    const code = await lab.codeFor('patient@example.net', before);
    const csrf = await client.csrf();
    const verified = await client.post('/verify', { csrf, code });
    assert.equal(verified.status, 303);
    assert.equal(verified.headers.get('location'), new URL(client.link).pathname);
    assert.equal(client.setCookies.length, 1);
    assert.match(client.setCookies[0] ?? '', /^relaygate_portal=[A-Za-z0-9_-]{43}; HttpOnly; Secure; SameSite=Strict; Path=\/m$/);

    const view = await client.page();
    assert.equal(view.status, 200);
    assert.match(view.text, /<h1>Results of 13 March<\/h1>/);
    assert.match(view.text, /<pre class="text">Your lab results: glucose 5\.4 mmol\/l/);
    assert.equal(view.headers.get('cache-control'), 'no-store');
    assert.ok((await recipientRow(lab.gw, 'patient@example.net')).opened_at, 'opened_at not set');

    // Single use: the same code again finds nothing to check.
    const reused = await client.post('/verify', { csrf, code });
    assert.equal(reused.status, 422);
    assert.match(reused.text, /no code to check/);

    const receipts = await waitFor(() => lab.hook.requests.filter((r) => r.payload.subject === 'Read: Results of 13 March'), { what: 'a read receipt' });
    const receipt = receipts[0]?.payload;
    assert.equal(receipts.length, 1);
    assert.deepEqual(receipt?.envelope.recipients, [SECURE_SENDER]);
    assert.match(receipt?.text ?? '', /^patient@example\.net opened your secure message "Results of 13 March" on \d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d UTC\./);
    assert.ok(receipt?.headers.some((h) => h.name.toLowerCase() === 'in-reply-to' && h.value === '<Resultsof13March@secure.example.com>'));
    await client.page();
    assert.equal(lab.hook.requests.filter((r) => r.payload.subject === 'Read: Results of 13 March').length, 1, 'a second view wrote another receipt');

    const out = await client.post('/logout', { csrf: await client.csrf() });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /relaygate_portal=; Max-Age=0/);
    assert.ok(!(await client.page()).text.includes(SECRET_LINE));
  });

  test('five wrong codes exhaust the code: the right one then fails and a new code is needed', SLOW_OK, async () => {
    const links = await lab.sendSecure(await secureMail('Results of 14 March'), ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    const before = lab.sink.messages.length;
    await client.post('/code', { csrf: await client.csrf() });
    const code = await lab.codeFor('patient@example.net', before);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) {
      const answer = await client.post('/verify', { csrf: await client.csrf(), code: wrong });
      assert.equal(answer.status, 422);
      assert.match(answer.text, new RegExp(`${left} attempts? left`));
    }
    const fifth = await client.post('/verify', { csrf: await client.csrf(), code: wrong });
    assert.match(fifth.text, /Too many wrong codes/);
    const right = await client.post('/verify', { csrf: await client.csrf(), code });
    assert.equal(right.status, 422);
    assert.match(right.text, /Too many wrong codes/);
    assert.equal(client.cookies.size, 0);

    // After the resend interval, a new code works.
    const row = await recipientRow(lab.gw, 'patient@example.net');
    await lab.gw.db((db) =>
      db
        .updateTable('secure_recipients')
        .set({ otp_sent_at: Date.now() - 60_000 })
        .where('id', '=', row.id)
        .execute(),
    );
    await client.signIn(lab, 'patient@example.net');
    assert.match((await client.page()).text, /Results of 14 March/);
  });

  test('an expired code is refused', SLOW_OK, async () => {
    const links = await lab.sendSecure(await secureMail('Results of 15 March'), ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    const before = lab.sink.messages.length;
    await client.post('/code', { csrf: await client.csrf() });
    const code = await lab.codeFor('patient@example.net', before);
    const row = await recipientRow(lab.gw, 'patient@example.net');
    await lab.gw.db((db) =>
      db
        .updateTable('secure_recipients')
        .set({ otp_expires_at: Date.now() - 1 })
        .where('id', '=', row.id)
        .execute(),
    );
    const answer = await client.post('/verify', { csrf: await client.csrf(), code });
    assert.equal(answer.status, 422);
    assert.match(answer.text, /This code has expired/);
    assert.equal(client.cookies.size, 0);
  });

  test('a session opens only its own recipient: another recipient’s link, frame, files and reply stay closed', SLOW_OK, async () => {
    const links = await lab.sendSecure(
      await secureMail('For two', { attachments: [{ filename: 'scan.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 secret') }] }),
      ['alice@example.net', 'bob@example.org'],
    );
    const alice = new PortalClient(links.get('alice@example.net') ?? '');
    await alice.signIn(lab, 'alice@example.net');
    assert.match((await alice.page()).text, /For two/);
    const bobPath = new URL(links.get('bob@example.org') ?? '').pathname;
    const asAlice = new PortalClient(links.get('bob@example.org') ?? '');
    asAlice.cookies = new Map(alice.cookies);
    const landing = await asAlice.page();
    assert.equal(landing.status, 200);
    assert.match(landing.text, /Email me a code/);
    assert.ok(!landing.text.includes(SECRET_LINE) && !landing.text.includes('scan.pdf'));
    assert.equal((await asAlice.request(`${bobPath}/content`)).status, 403);
    assert.equal((await asAlice.request(`${bobPath}/attachments/0`)).status, 403);
    const aliceCsrf = await alice.csrf();
    const form = new FormData();
    form.set('csrf', aliceCsrf);
    form.set('text', 'hijacked');
    const queued = await queuedCount(lab.gw);
    assert.equal((await asAlice.request(`${bobPath}/reply`, { method: 'POST', body: form, headers: { origin: asAlice.origin } })).status, 403);
    assert.equal(await queuedCount(lab.gw), queued);
  });

  test('a reply without its CSRF token, with a forged one or from another origin is refused and queues nothing', SLOW_OK, async () => {
    const links = await lab.sendSecure(await secureMail('CSRF check'), ['patient@example.net']);
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    await client.signIn(lab, 'patient@example.net');
    // The first view writes the read receipt; what is counted from here is the reply alone.
    const csrf = await client.csrf();
    await waitFor(() => lab.hook.requests.some((r) => r.payload.subject === 'Read: CSRF check'), { what: 'the read receipt' });
    const queued = await queuedCount(lab.gw);
    // Only what concerns this message: read receipts of earlier tests may still be arriving.
    const aboutThis = () => lab.hook.requests.filter((r) => r.payload.subject?.includes('CSRF check')).length;
    const hooks = aboutThis();
    for (const csrf of [undefined, 'x'.repeat(43)]) {
      const form = new FormData();
      if (csrf) form.set('csrf', csrf);
      form.set('text', 'forged reply');
      form.set('attachment', new Blob(['data']), 'a.txt');
      const answer = await client.request(`${new URL(client.link).pathname}/reply`, { method: 'POST', body: form, headers: { origin: client.origin } });
      assert.equal(answer.status, 403);
    }
    const valid = new FormData();
    valid.set('csrf', csrf);
    valid.set('text', 'from elsewhere');
    const crossSite = await client.request(`${new URL(client.link).pathname}/reply`, {
      method: 'POST',
      body: valid,
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(crossSite.status, 403);
    assert.equal((await client.post('/logout', {})).status, 403);
    assert.equal(await queuedCount(lab.gw), queued, 'a refused reply was queued');
    assert.equal((await recipientRow(lab.gw, 'patient@example.net')).replied_at, null);
    assert.equal(aboutThis(), hooks, 'a refused reply reached the webhook');
  });

  test('HTML is shown sanitised in a sandboxed frame under its own CSP; files download as attachments', SLOW_OK, async () => {
    const hostile = [
      '<p>Hello <b>there</b></p><script>document.title="pwned"</script>',
      '<img src="x" onerror="document.title=\'pwned\'"><img src="https://tracker.example/p.png">',
      '<a href="javascript:document.title=\'pwned\'">bad</a><a href="https://example.org/info">good</a>',
      '<style>body{background:url(https://tracker.example/bg)}</style><form action="https://evil.example"><input name="x"></form>',
      '<iframe src="https://evil.example"></iframe><div onclick="x()" style="color:red;background:url(https://tracker.example/x)">styled</div>',
    ].join('');
    const links = await lab.sendSecure(
      await secureMail('Hostile HTML', {
        html: hostile,
        attachments: [
          { filename: 'page.html', contentType: 'text/html', content: Buffer.from('<script>alert(1)</script>') },
          { filename: 'Bericht "März"; 2024.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 report') },
        ],
      }),
      ['patient@example.net'],
    );
    const client = new PortalClient(links.get('patient@example.net') ?? '');
    const path = new URL(client.link).pathname;
    assert.equal((await client.request(`${path}/content`)).status, 403, 'the frame opens without a session');
    await client.signIn(lab, 'patient@example.net');
    const view = await client.page();
    assert.match(view.text, new RegExp(`<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="${path}/content"`));
    assert.ok(!view.text.includes('pwned'));

    const frame = await client.request(`${path}/content`);
    assert.equal(frame.status, 200);
    assert.equal(
      frame.headers.get('content-security-policy'),
      "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox allow-popups allow-popups-to-escape-sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    );
    assert.equal(frame.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(frame.headers.get('referrer-policy'), 'no-referrer');
    for (const gone of ['<script', 'onerror', 'onclick', 'javascript:', 'pwned', 'tracker.example', '<form', '<iframe', '<style>body{background']) {
      assert.ok(!frame.text.includes(gone), `the frame still has ${gone}:\n${frame.text}`);
    }
    assert.match(frame.text, /<p>Hello <b>there<\/b><\/p>/);
    assert.match(frame.text, /<a href="https:\/\/example\.org\/info" rel="noopener noreferrer" target="_blank">good<\/a>/);
    assert.match(frame.text, /<div style="color:red">styled<\/div>/);

    const html = await client.request(`${path}/attachments/0`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get('content-type'), 'application/octet-stream');
    assert.equal(html.headers.get('content-disposition'), `attachment; filename="page.html"; filename*=UTF-8''page.html`);
    assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
    const pdf = await client.request(`${path}/attachments/1`);
    assert.equal(pdf.headers.get('content-type'), 'application/pdf');
    assert.equal(
      pdf.headers.get('content-disposition'),
      `attachment; filename="Bericht _M_rz__ 2024.pdf"; filename*=UTF-8''Bericht%20%22M%C3%A4rz%22%3B%202024.pdf`,
    );
    assert.equal(pdf.text, '%PDF-1.4 report');
    assert.equal((await client.request(`${path}/attachments/7`)).status, 404);
  });

  test('unknown, withdrawn and expired links get their own error pages', SLOW_OK, async () => {
    const unknown = await lab.gw.api(`/m/${'A'.repeat(43)}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /Link not found/);
    assert.equal((await lab.gw.api('/m/not-a-token')).status, 404);
    assert.equal((await lab.gw.api('/m/')).status, 404);
    const openapi = (await lab.gw.api('/api/openapi.json')).body as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(openapi.paths).filter((path) => path.startsWith('/m/')),
      [],
      'the portal shows up in the admin API document',
    );

    const links = await lab.sendSecure(await secureMail('To be withdrawn'), ['first@example.net', 'second@example.net', 'third@example.net']);
    const first = new PortalClient(links.get('first@example.net') ?? '');
    await first.signIn(lab, 'first@example.net');
    assert.match((await first.page()).text, /To be withdrawn/);

    const row = await recipientRow(lab.gw, 'second@example.net');
    await lab.gw.db((db) => db.updateTable('secure_recipients').set({ revoked_at: Date.now() }).where('id', '=', row.id).execute());
    const revokedRecipient = await new PortalClient(links.get('second@example.net') ?? '').page();
    assert.equal(revokedRecipient.status, 410);
    assert.match(revokedRecipient.text, /The sender has withdrawn access/);
    assert.equal((await new PortalClient(links.get('third@example.net') ?? '').page()).status, 200);

    await lab.gw.db((db) => db.updateTable('secure_messages').set({ revoked_at: Date.now() }).where('id', '=', row.message_id).execute());
    const revoked = await first.page();
    assert.equal(revoked.status, 410, 'an open session still reads a revoked message');
    assert.match(revoked.text, /withdrawn/);
    assert.equal((await first.page('/content')).status, 410);

    await lab.gw.db((db) =>
      db.updateTable('secure_messages').set({ data_key_sealed: null, shredded_at: Date.now() }).where('id', '=', row.message_id).execute(),
    );
    const shredded = await new PortalClient(links.get('third@example.net') ?? '').page();
    assert.equal(shredded.status, 410);
    assert.match(shredded.text, /<h1>Message deleted<\/h1><p>The sender has deleted this message/, 'a shredding before the retention ended was the sender');

    // Shredded by retention (at or after retain_until): the message expired, in other words.
    await lab.gw.db((db) =>
      db
        .updateTable('secure_messages')
        .set({ retain_until: Date.now() - 60_000 })
        .where('id', '=', row.message_id)
        .execute(),
    );
    const expired = await new PortalClient(links.get('third@example.net') ?? '').page();
    assert.equal(expired.status, 410);
    assert.match(expired.text, /<h1>Message expired<\/h1><p>This message has expired/);
  });
});

describe('message HTML sanitiser', () => {
  test('resolves Content-ID images to data: URIs and drops every other image source', () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const { html, usedContentIds } = sanitizeMessageHtml(
      '<img src="cid:logo@x" alt="logo"><img src="cid:vector@x"><img src="data:image/svg+xml;base64,PHN2Zz4="><img src="//tracker.example/a.gif">',
      [
        { contentId: 'logo@x', mimeType: 'image/png', content: png },
        { contentId: 'vector@x', mimeType: 'image/svg+xml', content: Buffer.from('<svg onload="x()"/>') },
      ],
    );
    assert.equal(html, `<img src="data:image/png;base64,${png.toString('base64')}" alt="logo" />`);
    assert.deepEqual([...usedContentIds], ['logo@x']);
  });
});
