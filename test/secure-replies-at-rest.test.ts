import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import PostalMime from 'postal-mime';
import { spoolFor } from '../src/app/open-spool.js';
import { secureStores } from '../src/app/secure-stores.js';
import { keyEncryptionFor } from '../src/secure/master-key.js';
import { SealedBodyGone, sealingSpool } from '../src/secure/sealing-spool.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { type PortalLab, portalLinkIn, routeSecure, SECURE_SENDER, startPortalLab } from './support/secure.js';
import { storedBody, storedBodyIds } from './support/stored-bodies.js';
import { send, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';
import type { ReceivedWebhook } from './support/webhook-receiver.js';

const SLOW_OK = { timeout: 120_000 };

/** Long random words: no fragment of one turns up anywhere by chance. */
const word = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

/**
 * The forms a word takes in a stored MIME body: raw (7bit, and quoted-printable, which leaves
 * letters and digits as they are) and base64 at each of the three byte alignments, cut to
 * the characters that only the word's own bytes decide.
 */
function encodingsOf(text: string): string[] {
  const bytes = Buffer.from(text);
  const base64 = [0, 1, 2].map((k) => {
    const encoded = Buffer.concat([Buffer.alloc(k, 0x41), bytes]).toString('base64');
    return encoded.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
  });
  return [text, text.toLowerCase(), ...base64];
}

/** Every file of the data directory but the key files, as raw bytes; and on PostgreSQL every row of every table of the store. */
async function storedEverywhere(gw: TestGateway): Promise<{ where: string; bytes: Buffer }[]> {
  const found: { where: string; bytes: Buffer }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (relative(gw.dataDir, path) !== 'keys') await walk(path);
      } else if (entry.isFile()) found.push({ where: relative(gw.dataDir, path), bytes: await readFile(path).catch(() => Buffer.alloc(0)) });
    }
  };
  await walk(gw.dataDir);
  if (gw.config.databaseUrl) {
    await gw.db(async (db) => {
      const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db);
      for (const { name } of rows) {
        const all = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
        for (const row of all.rows)
          for (const [column, value] of Object.entries(row))
            found.push({ where: `${name}.${column}`, bytes: value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(JSON.stringify(value))) });
      }
    });
  }
  return found;
}

async function assertNowhere(gw: TestGateway, words: string[], when: string): Promise<void> {
  const stored = await storedEverywhere(gw);
  assert.ok(stored.length > 0);
  for (const w of words)
    for (const form of encodingsOf(w)) {
      const hits = stored.filter((s) => s.bytes.includes(form)).map((s) => s.where);
      assert.deepEqual(hits, [], `${when}: "${w}" is stored readable (as "${form}") in ${hits.join(', ')}`);
      assert.ok(!gw.logs.some((line) => line.includes(form)), `${when}: "${w}" is in the log`);
    }
}

describe('secure replies are as encrypted at rest as the message they answer', () => {
  let lab: PortalLab;
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer({ 'patient.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] } });
    lab = await startPortalLab({ dnsResolver: dns.address });
    await lab.gw.db((db) => db.updateTable('organisations').set({ read_receipts: 1 }).execute());
  });
  after(async () => {
    await lab?.stop();
    await dns?.stop();
  });

  test(
    'a portal reply and its attachment, the read receipt and an inbound reply are stored only sealed, delivered in the clear, and shredded with the message',
    SLOW_OK,
    async () => {
      const { gw, hook, sink } = lab;
      const subjectWord = word('Subject');
      const replyWord = word('Replytext');
      const fileWord = word('Attachment');
      const inboundWord = word('Inbound');
      const noticeWord = word('Notice');
      const words = [subjectWord, replyWord, fileWord, inboundWord, noticeWord];
      const messageId = `<${word('thread')}@secure.example.com>`;

      // The application's endpoint is down: everything about the message waits in the queue.
      hook.behaviour = () => ({ status: 503 });
      const before = sink.messages.length;
      const { queueId: secureId } = await submit(gw.gateway.ports.smtp, lab.credential, {
        from: SECURE_SENDER,
        to: ['patient@patient.example'],
        raw: secureMessage(`Results ${subjectWord}`, messageId),
      });
      const [notification] = (await sink.waitForMessages(before + 1)).slice(before);
      const link = await portalLinkIn(notification?.raw ?? Buffer.alloc(0));

      const asked = sink.messages.length;
      await replyInPortal(link, () => lab.codeFor('patient@patient.example', asked), { text: `Thank you. ${replyWord}`, file: `The form: ${fileWord}\n` });
      await replyByMail(gw, messageId, `Re: Results ${subjectWord}`, `One more question: ${inboundWord}`);
      // A reply to the notification mail answers the secure message too.
      const notificationId = /^Message-ID: (<notify\.[^>]+>)/im.exec(notification?.raw.toString() ?? '')?.[1];
      assert.ok(notificationId, 'the notification has no Message-ID');
      await replyByMail(gw, notificationId, 'Re: Secure message', `About the notice: ${noticeWord}`);

      // Each of the three was tried and refused by the endpoint, so each is stored, waiting.
      const refused = (match: (r: ReceivedWebhook) => boolean) => hook.requests.some((r) => r.answered === 503 && match(r));
      await waitFor(
        () =>
          refused((r) => r.payload.subject === `Read: Results ${subjectWord}`) &&
          refused((r) => r.payload.text?.includes(replyWord)) &&
          refused((r) => r.payload.text?.includes(inboundWord)) &&
          refused((r) => r.payload.text?.includes(noticeWord)),
        { what: 'the receipt, the portal reply and the inbound replies tried while the endpoint is down', timeoutMs: 30_000 },
      );
      await assertNowhere(gw, words, 'while queued');

      hook.behaviour = () => ({ status: 204 });
      const delivered = (match: (r: ReceivedWebhook) => boolean) => hook.requests.find((r) => r.answered === 204 && match(r));
      const { receipt, reply, answer, notice } = await waitFor(
        () => {
          const found = {
            receipt: delivered((r) => r.payload.subject === `Read: Results ${subjectWord}`),
            reply: delivered((r) => r.payload.text?.includes(replyWord)),
            answer: delivered((r) => r.payload.text?.includes(inboundWord)),
            notice: delivered((r) => r.payload.text?.includes(noticeWord)),
          };
          return found.receipt && found.reply && found.answer && found.notice
            ? { receipt: found.receipt, reply: found.reply, answer: found.answer, notice: found.notice }
            : undefined;
        },
        { what: 'all four delivered once the endpoint is back', timeoutMs: 30_000 },
      );
      // Delivered whole and in the clear: the attachment too (inline or by its download link).
      const attachment = reply.payload.attachments[0];
      assert.ok(attachment, 'the reply lost its attachment');
      const content = attachment.content ? Buffer.from(attachment.content, 'base64').toString() : await (await fetch(attachment.url)).text();
      assert.match(content, new RegExp(fileWord));
      assert.equal(answer.payload.subject, `Re: Results ${subjectWord}`);
      await assertNowhere(gw, words, 'after delivery');

      const answers = [receipt, reply, answer, notice].map((r) => r.payload.queueId);
      const keyRows = await gw.db((db) => db.selectFrom('sealed_bodies').selectAll().where('message_id', 'in', answers).execute());
      assert.deepEqual(keyRows.map((k) => k.secure_message_id).sort(), [secureId, secureId, secureId, secureId], 'each answer is linked to the secure message');
      assert.ok(
        keyRows.every((k) => /^v\d\./.test(k.data_key_sealed)),
        'a data key is stored unsealed',
      );
      // A copy of the ciphertext, as a backup would hold it.
      const backups = new Map<string, Buffer>();
      for (const id of answers) backups.set(id, (await storedBody(gw.config, id)) ?? assert.fail(`no stored body for ${id}`));
      const opened = await withSealingSpool(gw, (spool) => spool.readAll(reply.payload.queueId));
      assert.ok(opened.includes(replyWord), 'the key opens the reply before the shredding');
      const download = await fetch(reply.payload.rawUrl);
      assert.equal(download.status, 200);
      assert.ok((await download.text()).includes(replyWord), 'the download link serves the reply decrypted');

      await gw.services((s) => s.secureMessages.shred(secureId, HARNESS_ACTOR));
      assert.equal((await fetch(reply.payload.rawUrl)).status, 410, 'the download link outlived the shredding');
      assert.deepEqual(await gw.db((db) => db.selectFrom('sealed_bodies').select('message_id').where('message_id', 'in', answers).execute()), []);
      const left = await storedBodyIds(gw.config);
      assert.deepEqual(
        answers.filter((id) => left.includes(id)),
        [],
        'the ciphertext of an answer outlived the shredding',
      );
      // The backup, put back, no longer opens: its key is gone.
      for (const [id, bytes] of backups) {
        await restoreBody(gw, id, bytes);
        await assert.rejects(
          withSealingSpool(gw, (spool) => spool.readAll(id)),
          SealedBodyGone,
        );
      }
    },
  );
});

function secureMessage(subject: string, messageId: string): string {
  return [
    `From: "Care Team" <${SECURE_SENDER}>`,
    'To: patient@patient.example',
    `Subject: ${subject}`,
    `Message-ID: ${messageId}`,
    '',
    'Your results are in.',
    '',
  ].join('\r\n');
}

/** Signs in with a mailed code (the first view writes the read receipt), then replies with a text and a file. */
async function replyInPortal(link: string, code: () => Promise<string>, reply: { text: string; file: string }): Promise<void> {
  const portal = portalClient(link);
  assert.equal((await portal.post('/code', new URLSearchParams({ csrf: await portal.csrf() }))).status, 303);
  assert.equal((await portal.post('/verify', new URLSearchParams({ csrf: await portal.csrf(), code: await code() }))).status, 303);
  const form = new FormData();
  form.set('csrf', await portal.csrf());
  form.set('text', reply.text);
  form.set('attachment', new Blob([reply.file], { type: 'text/plain' }), 'form.txt');
  assert.equal((await portal.post('/reply', form)).status, 303);
}

/** The recipient answers by mail: the organisation's server relays it to the secure address with the inbound credential. */
async function replyByMail(gw: TestGateway, inReplyTo: string, subject: string, text: string): Promise<void> {
  const inbound = await gw.createCredential('the organisation server', { kind: 'inbound', domain: 'secure.example.com' });
  const raw = [
    'From: Patient <patient@patient.example>',
    `To: ${SECURE_SENDER}`,
    `Subject: ${subject}`,
    `Message-ID: <${word('answer')}@patient.example>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    '',
    text,
    '',
  ].join('\r\n');
  assert.match(await send(gw.gateway.ports.smtp, inbound, { from: 'patient@patient.example', to: [SECURE_SENDER], raw }), /^250 /);
}

describe('secure replies held in the sandbox are sealed too', () => {
  let gw: TestGateway;
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer({ 'patient.example': { txt: ['v=spf1 ip4:127.0.0.1 -all'] } });
    // No inbound target: replies go to the built-in capture endpoint.
    gw = await startTestGateway({ sandbox: true, dnsResolver: dns.address });
    await routeSecure(gw);
    // The notifications are captured too: with a neutral subject they carry none.
    await gw.db((db) => db.updateTable('organisations').set({ read_receipts: 1, neutral_subject: 1 }).execute());
  });
  after(async () => {
    await gw?.stop();
    await dns?.stop();
  });

  test(
    'captures of the read receipt, the portal reply and an inbound reply are stored sealed, open for the operator, and are shredded with the message',
    SLOW_OK,
    async () => {
      const subjectWord = word('Subject');
      const replyWord = word('Replytext');
      const fileWord = word('Attachment');
      const inboundWord = word('Inbound');
      const messageId = `<${word('thread')}@secure.example.com>`;
      const credential = await gw.createCredential('the application');
      const { queueId: secureId } = await submit(gw.gateway.ports.smtp, credential, {
        from: SECURE_SENDER,
        to: ['patient@patient.example'],
        raw: secureMessage(`Results ${subjectWord}`, messageId),
      });
      const captured = async (match: (raw: string) => boolean) => {
        const page = await gw.services((s) => s.sandbox.list({ limit: 100, offset: 0 }));
        for (const item of page.items) {
          const raw = (await gw.services((s) => s.sandbox.raw(item.id))).toString();
          if (match(raw)) return { id: item.id, raw, subject: item.subject };
        }
        return undefined;
      };
      const notification = await waitFor(() => captured((raw) => /^Message-ID: <notify\./im.test(raw)), { what: 'the notification in the sandbox' });
      const link = await portalLinkIn(Buffer.from(notification.raw));
      const code = async () => {
        const mail = await waitFor(() => captured((raw) => raw.includes('Subject: Your code')), { what: 'the code mail in the sandbox' });
        return /^\s*(\d{6})\s*$/m.exec((await PostalMime.parse(mail.raw)).text ?? '')?.[1] ?? assert.fail('no code in the code mail');
      };
      await replyInPortal(link, code, { text: `Thank you. ${replyWord}`, file: `The form: ${fileWord}\n` });
      await replyByMail(gw, messageId, `Re: Results ${subjectWord}`, `One more question: ${inboundWord}`);

      const held = await waitFor(
        async () => {
          const found = await Promise.all([`Read: Results ${subjectWord}`, replyWord, inboundWord].map((w) => captured((raw) => raw.includes(w))));
          return found.every((f) => f !== undefined) ? found.filter((f) => f !== undefined) : undefined;
        },
        { what: 'the receipt, the reply and the inbound reply captured', timeoutMs: 30_000 },
      );
      await assertNowhere(gw, [subjectWord, replyWord, fileWord, inboundWord], 'held in the sandbox');
      assert.deepEqual(
        held.map((h) => h.subject),
        [null, null, null],
        'a sealed capture lists its subject',
      );
      // The operator still reads them through the gateway's key: the file's content went with the reply.
      assert.ok(held.some((h) => h.raw.includes(Buffer.from(`The form: ${fileWord}\n`).toString('base64').slice(0, 24))));

      await gw.services((s) => s.secureMessages.shred(secureId, HARNESS_ACTOR));
      for (const h of held)
        await assert.rejects(
          gw.services((s) => s.sandbox.raw(h.id)),
          /was shredded with the secure message it answers/,
        );
    },
  );
});

async function withSealingSpool<T>(gw: TestGateway, work: (spool: ReturnType<typeof sealingSpool>) => Promise<T>): Promise<T> {
  return gw.db((db) =>
    work(sealingSpool(spoolFor(db, gw.dataDir), { bodies: secureStores(db).bodies, kek: () => keyEncryptionFor(gw.config), now: Date.now })),
  );
}

async function restoreBody(gw: TestGateway, id: string, bytes: Buffer): Promise<void> {
  if (!gw.config.databaseUrl) return writeFile(join(gw.dataDir, 'spool', id), bytes);
  await gw.db((db) => db.insertInto('message_bodies').values({ message_id: id, seq: 0, chunk: bytes, created_at: Date.now() }).execute());
}

/** The recipient's browser, as far as the portal can tell: forms, redirects by hand, one cookie jar. */
function portalClient(link: string) {
  const url = new URL(link);
  const cookies = new Map<string, string>();
  async function request(suffix: string, init: { method?: string; body?: URLSearchParams | FormData } = {}) {
    const response = await fetch(new URL(`${url.pathname}${suffix}`, url), {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { origin: url.origin, ...(cookies.size > 0 ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}) },
      ...(init.body ? { body: init.body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return { status: response.status, text: await response.text() };
  }
  return {
    post: (suffix: string, body: URLSearchParams | FormData) => request(suffix, { method: 'POST', body }),
    async csrf(): Promise<string> {
      const { text } = await request('');
      const token = /name="csrf" value="([^"]+)"/.exec(text)?.[1];
      if (!token) throw new Error(`no CSRF token in:\n${text}`);
      return token;
    },
  };
}
