import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spoolFor } from '../src/app/open-spool.js';
import { secureStores } from '../src/app/secure-stores.js';
import { keyEncryptionFor } from '../src/secure/master-key.js';
import { sweepSecureRetention } from '../src/secure/retention.js';
import { SecureMessageGone, secureVault } from '../src/secure/vault.js';
import type { Db } from '../src/store/tables.js';
import { tinyPng } from './support/brand.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { routeSecure, SECURE_SENDER } from './support/secure.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { storedBody } from './support/stored-bodies.js';
import { submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const DAY_MS = 86_400_000;

interface RecipientJson {
  address: string;
  status: string;
  revoked: boolean;
  revokedAt: string | null;
  deliveredVia: string | null;
  notifiedAt: string | null;
}
interface MessageJson {
  id: string;
  sender: string;
  subject: string | null;
  createdAt: string;
  retainUntil: string;
  revokedAt: string | null;
  shreddedAt: string | null;
  recipients: RecipientJson[];
}
interface ProblemJson {
  status: number;
  errors?: { field: string; problem: string }[];
}

function secureMessage(subject: string, to: string): string {
  return [`From: "Care Team" <${SECURE_SENDER}>`, `To: ${to}`, `Subject: ${subject}`, '', 'Your lab results: glucose 5.4 mmol/l', ''].join('\r\n');
}

/** What the settings say before any language or branding is set (issue 22). */
const UNBRANDED = { locale: 'en', timeZone: 'UTC', brandName: null, brandColour: null, brandLogo: null };

describe('secure messages: sender controls, settings and retention', () => {
  let sink: SmtpSink;
  let gw: TestGateway;
  let token: string;
  let credential: { username: string; secret: string };
  /** Recipients the smarthost answers 451 for: their notification waits in the queue. */
  const deferred = new Set<string>();

  const api = async <T>(path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await gw.api(path, { ...init, token });
    return { status: response.status, body: response.body as T, text: response.text };
  };
  const show = async (id: string) => {
    const response = await api<MessageJson>(`/api/v1/secure-messages/${id}`);
    assert.equal(response.status, 200, response.text);
    return response.body;
  };
  const send = async (to: string[], subject: string) =>
    (await submit(gw.gateway.ports.smtp, credential, { from: SECURE_SENDER, to, raw: secureMessage(subject, to.join(', ')) })).queueId;
  const queueRecipient = async (id: string, address: string) => {
    const queue = await gw.queue();
    try {
      return (await queue.show(id))?.recipients.find((r) => r.address === address);
    } finally {
      await queue.close();
    }
  };
  /** Waits until the gateway has tried (and been deferred by) the smarthost at least once. */
  const waitForDeferral = (id: string, address: string) =>
    waitFor(async () => ((await queueRecipient(id, address))?.attempts ?? 0) >= 1, { what: `a deferred attempt for ${address}` });
  const waitForFinalReply = (id: string, address: string) =>
    waitFor(
      async () => {
        const r = await queueRecipient(id, address);
        return r?.status === 'delivered' || r?.status === 'bounced' ? r : undefined;
      },
      { what: `the final outcome for ${address}` },
    );
  const sentTo = (address: string) => sink.messages.filter((m) => m.rcptTo.includes(address));
  const isStored = async (id: string) => (await storedBody(gw.config, id)) !== undefined;
  const withVault = <T>(work: (vault: ReturnType<typeof secureVault>, db: Db) => Promise<T>) =>
    gw.db((db) => work(secureVault({ ...secureStores(db), kek: keyEncryptionFor(gw.config), spool: spoolFor(db, gw.dataDir) }), db));

  before(async () => {
    sink = await startSmtpSink({ tls: 'none' });
    sink.behaviour.rcpt = (address) => (deferred.has(address) ? '451 4.3.0 try again later' : undefined);
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none` });
    await routeSecure(gw);
    token = await gw.createApiToken();
    credential = await gw.createCredential();
  });
  after(async () => {
    await gw?.stop();
    await sink?.stop();
  });

  it('shows a recipient pending until the notification is accepted, then notified; never a token', async () => {
    deferred.add('slow@example.net');
    const id = await send(['slow@example.net'], 'Appointment on Monday');
    await waitForDeferral(id, 'slow@example.net');
    const pending = await show(id);
    assert.equal(pending.subject, 'Appointment on Monday');
    assert.equal(pending.sender, SECURE_SENDER);
    assert.deepEqual(
      pending.recipients.map((r) => [r.address, r.status, r.notifiedAt]),
      [['slow@example.net', 'pending', null]],
    );

    deferred.delete('slow@example.net');
    await waitFor(() => sentTo('slow@example.net').length === 1, { what: 'the notification' });
    const notified = await waitFor(async () => ((await show(id)).recipients[0]?.status === 'notified' ? show(id) : undefined));
    assert.equal(notified.recipients[0]?.deliveredVia, 'portal');
    assert.ok(notified.recipients[0]?.notifiedAt);

    const tokenHash = await gw.db(
      async (db) => (await db.selectFrom('secure_recipients').select('token_hash').where('message_id', '=', id).executeTakeFirstOrThrow()).token_hash,
    );
    const listed = await api<{ items: MessageJson[]; total: number }>('/api/v1/secure-messages');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.items[0]?.id, id, 'newest first');
    for (const text of [listed.text, (await api(`/api/v1/secure-messages/${id}`)).text]) {
      assert.ok(!text.includes(tokenHash), 'the API shows a token hash');
      assert.doesNotMatch(text, /token|otp|data_?key|sealed/i);
    }
  });

  it('revoking a message before its notification left: nothing is sent, the queue says why, portal sessions end', async () => {
    deferred.add('revoked@example.net');
    const id = await send(['revoked@example.net'], 'Revoked before delivery');
    await waitForDeferral(id, 'revoked@example.net');
    await gw.db(async (db) => {
      const { id: recipientId } = await db.selectFrom('secure_recipients').select('id').where('message_id', '=', id).executeTakeFirstOrThrow();
      await db
        .insertInto('portal_sessions')
        .values({ id_hash: 'a'.repeat(64), recipient_id: recipientId, created_at: Date.now(), expires_at: Date.now() + DAY_MS })
        .execute();
    });

    const revoked = await api<MessageJson>(`/api/v1/secure-messages/${id}/revoke`, { method: 'POST' });
    assert.equal(revoked.status, 200, revoked.text);
    assert.ok(revoked.body.revokedAt);
    assert.equal(await gw.db(async (db) => (await db.selectFrom('portal_sessions').selectAll().where('id_hash', '=', 'a'.repeat(64)).execute()).length), 0);

    deferred.delete('revoked@example.net');
    const outcome = await waitForFinalReply(id, 'revoked@example.net');
    assert.match(outcome.lastReply ?? '', /nothing sent: the secure message was revoked/);
    assert.equal(sentTo('revoked@example.net').length, 0, 'a revoked message was notified');
    await withVault(async (vault) => {
      await assert.rejects(vault.unlock(id), (err) => err instanceof SecureMessageGone && err.why === 'revoked');
    });
  });

  it("revoking one recipient's access stops that recipient only", async () => {
    deferred.add('keep@example.net').add('drop@example.net');
    const id = await send(['keep@example.net', 'drop@example.net'], 'Two recipients');
    await waitForDeferral(id, 'drop@example.net');

    const unknown = await api<ProblemJson>(`/api/v1/secure-messages/${id}/recipients/${encodeURIComponent('nobody@example.net')}/revoke`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    const revoked = await api<MessageJson>(`/api/v1/secure-messages/${id}/recipients/${encodeURIComponent('DROP@example.net')}/revoke`, { method: 'POST' });
    assert.equal(revoked.status, 200, revoked.text);
    assert.deepEqual(
      revoked.body.recipients.map((r) => [r.address, r.revoked]),
      [
        ['drop@example.net', true],
        ['keep@example.net', false],
      ],
    );
    assert.equal(revoked.body.revokedAt, null, 'the message itself is not revoked');

    deferred.delete('keep@example.net');
    deferred.delete('drop@example.net');
    assert.match((await waitForFinalReply(id, 'drop@example.net')).lastReply ?? '', /nothing sent: the access of this recipient was revoked/);
    await waitFor(() => sentTo('keep@example.net').length === 1, { what: 'the notification of the recipient kept' });
    assert.equal(sentTo('drop@example.net').length, 0);
  });

  it('delete shreds: the data key and the ciphertext are gone, the message no longer opens, the API shows when', async () => {
    const id = await send(['shred@example.net'], 'To be shredded');
    await waitFor(() => sentTo('shred@example.net').length === 1, { what: 'the notification' });
    assert.equal((await show(id)).subject, 'To be shredded');
    assert.ok(await isStored(id), 'the ciphertext is kept until retention ends');

    const deleted = await api(`/api/v1/secure-messages/${id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204, deleted.text);
    const row = await gw.db((db) => db.selectFrom('secure_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    assert.equal(row.data_key_sealed, null);
    assert.ok(row.shredded_at);
    assert.ok(!(await isStored(id)), 'the ciphertext is still stored');
    await withVault(async (vault) => {
      await assert.rejects(vault.unlock(id), (err) => err instanceof SecureMessageGone && err.why === 'shredded');
    });
    const shown = await show(id);
    assert.equal(shown.shreddedAt, new Date(Number(row.shredded_at)).toISOString());
    assert.equal(shown.subject, null);

    const audit = await api<{ items: { action: string; actor: string; targetId: string }[] }>(`/api/v1/audit?targetId=${id}`);
    assert.ok(
      audit.body.items.some((a) => a.action === 'secure.message.shred' && a.actor.startsWith('token:')),
      audit.text,
    );
    assert.equal((await api(`/api/v1/secure-messages/7ZZZZZZZZZZZZZZZZZZZZZZZZZ`, { method: 'DELETE' })).status, 404);
  });

  it('the retention sweep shreds what is past its retention and leaves the rest; ends expired portal sessions', async () => {
    const expired = await send(['old@example.net'], 'Past retention');
    const kept = await send(['new@example.net'], 'Within retention');
    await waitFor(() => sentTo('old@example.net').length === 1 && sentTo('new@example.net').length === 1, { what: 'both notifications' });
    const now = Date.now();
    await gw.db(async (db) => {
      await db
        .updateTable('secure_messages')
        .set({ retain_until: now - 1000 })
        .where('id', '=', expired)
        .execute();
      const { id: recipientId } = await db.selectFrom('secure_recipients').select('id').where('message_id', '=', kept).executeTakeFirstOrThrow();
      await db
        .insertInto('portal_sessions')
        .values([
          { id_hash: 'b'.repeat(64), recipient_id: recipientId, created_at: now - 2000, expires_at: now - 1000 },
          { id_hash: 'c'.repeat(64), recipient_id: recipientId, created_at: now, expires_at: now + DAY_MS },
        ])
        .execute();
    });

    // The gateway's own sweep may get there first on a slow machine: what counts is the state after.
    await withVault((vault, db) => sweepSecureRetention({ messages: secureStores(db).messages, vault, now, batchSize: 1 }));
    const rows = await gw.db((db) =>
      db.selectFrom('secure_messages').select(['id', 'data_key_sealed', 'shredded_at']).where('id', 'in', [expired, kept]).execute(),
    );
    assert.equal(rows.find((r) => r.id === expired)?.data_key_sealed, null);
    // Shredded by this sweep (at `now`) or by the gateway's own, a moment later.
    const shreddedAt = Number(rows.find((r) => r.id === expired)?.shredded_at);
    assert.ok(shreddedAt >= now && shreddedAt <= Date.now(), `shredded_at ${shreddedAt} is not from a sweep after ${now}`);
    assert.notEqual(rows.find((r) => r.id === kept)?.data_key_sealed, null, 'a message within retention was shredded');
    assert.ok(!(await isStored(expired)));
    assert.ok(await isStored(kept));
    const sessions = await gw.db((db) => db.selectFrom('portal_sessions').select('id_hash').execute());
    assert.deepEqual(
      sessions.map((s) => s.id_hash).filter((h) => h === 'b'.repeat(64) || h === 'c'.repeat(64)),
      ['c'.repeat(64)],
    );
  });

  it("the gateway's maintenance job runs the retention sweep", async () => {
    const id = await send(['late@example.net'], 'Swept by the gateway');
    await waitFor(() => sentTo('late@example.net').length === 1, { what: 'the notification' });
    await gw.db((db) =>
      db
        .updateTable('secure_messages')
        .set({ retain_until: Date.now() - 1000 })
        .where('id', '=', id)
        .execute(),
    );
    const shown = await waitFor(async () => ((await show(id)).shreddedAt ? show(id) : undefined), { what: 'the maintenance job to shred the message' });
    assert.equal(shown.subject, null);
  });

  it('settings: validated per field, audited; a neutral subject and the retention days apply to the next message', async () => {
    const defaults = await api<Record<string, unknown>>('/api/v1/secure-settings');
    assert.deepEqual(defaults.body, { retentionDays: 90, readReceipts: false, readReceiptFormat: 'text', neutralSubject: false, ...UNBRANDED });

    for (const [body, field] of [
      [{ retentionDays: 0 }, 'retentionDays'],
      [{ retentionDays: 3651 }, 'retentionDays'],
      [{ retentionDays: 1.5 }, 'retentionDays'],
      [{ readReceipts: 'yes' }, 'readReceipts'],
      [{ readReceiptFormat: 'pdf' }, 'readReceiptFormat'],
      [{ neutralSubject: 'on' }, 'neutralSubject'],
      [{ locale: 'es' }, 'locale'],
      [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
      [{ brandColour: 'yellow' }, 'brandColour'],
      [{ brandColour: '#ffcc00' }, 'brandColour'],
      [{ brandName: 'x'.repeat(81) }, 'brandName'],
      [{ brandLogo: Buffer.from('<svg onload="alert(1)"></svg>').toString('base64') }, 'brandLogo'],
      [{ brandLogo: 'not base64!' }, 'brandLogo'],
    ] as const) {
      const refused = await api<ProblemJson>('/api/v1/secure-settings', { method: 'PATCH', body });
      // 400 from the schema, 422 from the service (contrast, a logo's content): both name the field.
      assert.ok([400, 422].includes(refused.status), `${JSON.stringify(body)}: ${refused.text}`);
      assert.ok(
        refused.body.errors?.some((e) => e.field === field),
        `${JSON.stringify(body)} does not name ${field}: ${refused.text}`,
      );
    }
    assert.equal((await api('/api/v1/secure-settings', { method: 'PATCH', body: {} })).status, 400);
    // Fastify drops unknown properties before the handler runs: what is left changes nothing, and says so.
    const misspelt = await api<ProblemJson & { detail: string }>('/api/v1/secure-settings', { method: 'PATCH', body: { retention: 5 } });
    assert.equal(misspelt.status, 422, misspelt.text);
    assert.match(misspelt.body.detail, /retentionDays, readReceipts, readReceiptFormat, neutralSubject, locale, timeZone, brandName, brandColour or brandLogo/);

    const changed = await api<Record<string, unknown>>('/api/v1/secure-settings', { method: 'PATCH', body: { retentionDays: 7, neutralSubject: true } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.body, { retentionDays: 7, readReceipts: false, readReceiptFormat: 'text', neutralSubject: true, ...UNBRANDED });
    const audit = await api<{ items: { action: string }[] }>('/api/v1/audit?action=secure.settings.update');
    assert.equal(audit.body.items.length, 1);

    const id = await send(['private@example.net'], 'Diagnosis for Jane Doe');
    const [notification] = await waitFor(() => (sentTo('private@example.net').length === 1 ? sentTo('private@example.net') : undefined));
    const raw = notification?.raw.toString() ?? '';
    assert.match(raw, /^Subject: Secure message from Care Team\r?$/m);
    assert.ok(!raw.includes('Diagnosis'), 'the real subject is in the notification');

    const row = await gw.db((db) => db.selectFrom('secure_messages').select(['created_at', 'retain_until']).where('id', '=', id).executeTakeFirstOrThrow());
    assert.equal(Number(row.retain_until) - Number(row.created_at), 7 * DAY_MS);
  });

  // Each verb is a process of its own, as an operator runs it beside the gateway: kept to a few, they start slowly.
  it('the CLI shows, revokes, deletes and sets, naming the flag at fault', async () => {
    const env = gatewayEnv(gw.dataDir);
    const cli = (...args: string[]) => runCli(args, env);
    const json = async <T>(...args: string[]): Promise<T> => {
      const result = await cli(...args, '--json');
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as T;
    };
    const id = await send(['cli@example.net', 'cli2@example.net'], 'Handled from the terminal');

    assert.ok((await json<{ items: MessageJson[] }>('secure', 'list')).items.some((m) => m.id === id));
    const revoked = await json<MessageJson>('secure', 'revoke', id.toLowerCase(), '--recipient', 'cli2@example.net');
    assert.deepEqual(
      revoked.recipients.map((r) => [r.address, r.revoked]),
      [
        ['cli2@example.net', true],
        ['cli@example.net', false],
      ],
    );
    const shown = await cli('secure', 'show', id);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /subject: +Handled from the terminal/);
    assert.match(shown.stdout, /cli2@example\.net +\w+ \(revoked\)/);
    assert.ok((await json<MessageJson>('secure', 'delete', id)).shreddedAt);

    const badDays = await cli('secure', 'settings', '--retention-days', '0');
    assert.notEqual(badDays.code, 0);
    assert.match(badDays.stderr, /--retention-days must be a whole number from 1 to 3650/);
    assert.match(
      (await cli('secure', 'settings', '--read-receipt-format', 'pdf')).stderr,
      /readReceiptFormat must be text .* or mdn .*, not "pdf" \(--read-receipt-format\)/,
    );
    assert.deepEqual(await json('secure', 'settings', '--neutral-subject', 'off', '--read-receipts', 'on', '--read-receipt-format', 'mdn'), {
      retentionDays: 7,
      readReceipts: true,
      readReceiptFormat: 'mdn',
      neutralSubject: false,
      ...UNBRANDED,
    });

    const light = await cli('secure', 'settings', '--brand-colour', '#ffcc00');
    assert.notEqual(light.code, 0);
    assert.match(
      light.stderr,
      /brandColour #ffcc00 gives white text a contrast of only 1\.\d\d:1 .* a darker shade such as #[0-9a-f]{6} passes \(--brand-colour\)/,
    );
    const logoDir = await tempDir('relaygate-logo-');
    const hostile = join(logoDir.path, 'hostile.svg');
    await writeFile(hostile, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const refusedLogo = await cli('secure', 'settings', '--brand-logo', hostile);
    assert.match(refusedLogo.stderr, /the SVG holds a <script> element; export it as plain shapes, or use a PNG \(--brand-logo\)/);
    assert.match(
      (await cli('secure', 'settings', '--brand-logo', join(logoDir.path, 'missing.png'))).stderr,
      /--brand-logo: cannot read .*missing\.png: no such file/,
    );
    assert.match((await cli('secure', 'settings', '--locale', 'es')).stderr, /locale must be one of en, nl, de, fr, not "es" \(--locale\)/);
    const logo = join(logoDir.path, 'logo.png');
    await writeFile(logo, tinyPng());
    const branded = await json<Record<string, unknown>>(
      'secure',
      'settings',
      '--locale',
      'nl',
      '--time-zone',
      'europe/amsterdam',
      '--brand-name',
      'Zorggroep Noord',
      '--brand-logo',
      logo,
      '--brand-colour',
      '#0B5394',
    );
    assert.deepEqual(
      { ...branded, brandLogo: (branded.brandLogo as { type: string }).type },
      {
        retentionDays: 7,
        readReceipts: true,
        readReceiptFormat: 'mdn',
        neutralSubject: false,
        locale: 'nl',
        timeZone: 'Europe/Amsterdam',
        brandName: 'Zorggroep Noord',
        brandColour: '#0b5394',
        brandLogo: 'image/png',
      },
    );
    const table = await cli('secure', 'settings');
    assert.match(
      table.stdout,
      /locale: +nl\ntime zone: +Europe\/Amsterdam\nbrand name: +Zorggroep Noord\nbrand colour: +#0b5394\nbrand logo: +image\/png, \d+ bytes/,
    );
    assert.deepEqual(
      await json('secure', 'settings', '--locale', 'en', '--time-zone', 'UTC', '--brand-name', '', '--brand-logo', 'none', '--brand-colour', 'none'),
      {
        retentionDays: 7,
        readReceipts: true,
        readReceiptFormat: 'mdn',
        neutralSubject: false,
        ...UNBRANDED,
      },
    );
    await logoDir.cleanup();
  });
});
