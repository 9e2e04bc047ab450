/**
 * Sender authorization on the wire (issue 3): a submission credential sends only as
 * addresses in its organisation's verified domains, narrowed by its allow-list, in the
 * envelope (MAIL FROM) and in the header From (checked after DATA, before the commit).
 * Real sockets and TLS against an in-process gateway; whole replies asserted.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { headerFrom } from '../src/pipeline/header-from.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { insertDomain } from './support/gateway-process.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { storedBodyIds } from './support/stored-bodies.js';
import { waitFor } from './support/wait-for.js';

type Credential = Awaited<ReturnType<TestGateway['createCredential']>>;

const SLOW_OK = { timeout: 60_000 };

const REPLY = {
  authOk: '235 2.7.0 Authentication successful',
  mailOk: '250 2.1.0 Accepted',
  rcptOk: '250 2.1.5 Accepted',
  startData: '354 End data with <CR><LF>.<CR><LF>',
  notVerified: (address: string) => `550 5.7.1 Sender address <${address}> not allowed: its domain is not a verified domain of this credential's organisation`,
  notInAllowList: (address: string) => `550 5.7.1 Sender address <${address}> not allowed: it is not in this credential's allowed senders`,
  headerNotVerified: (address: string) =>
    `550 5.7.1 Header From address <${address}> not allowed: its domain is not a verified domain of this credential's organisation`,
  headerNotInAllowList: (address: string) => `550 5.7.1 Header From address <${address}> not allowed: it is not in this credential's allowed senders`,
  unknownCredential: '550 5.7.1 Submission not allowed: the authenticated credential is not known',
  credentialNotValid: '550 5.7.1 Submission not allowed: the credential has been revoked, has expired or was retired',
  noFrom: '550 5.6.0 Message has no From header (RFC 5322 section 3.6 requires one)',
  twoFromFields: '550 5.6.0 Message has more than one From header (RFC 5322 section 3.6 allows one)',
  senderRequired: '550 5.6.0 Message has several From addresses but no Sender header (RFC 5322 section 3.6.2)',
  unreadableFrom: '550 5.6.0 Message From header holds no valid mailbox (RFC 5322 section 3.6.2)',
  headerTooBig: '552 5.3.4 Message header section exceeds 65536 bytes',
} as const;

const QUEUED = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/;

const dialogs = new Set<SmtpDialog>();

async function authenticated(tg: TestGateway, credential: Credential): Promise<SmtpDialog> {
  const { dialog } = await openDialog(tg.gateway.ports.smtp);
  dialogs.add(dialog);
  await dialog.ehlo('app.example.com');
  await dialog.startTls();
  await dialog.ehlo('app.example.com');
  assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.authOk);
  return dialog;
}

/** MAIL FROM, one RCPT, DATA, the message (headers + CRLF + body), the end mark: the reply to it. */
async function send(dialog: SmtpDialog, mailFrom: string, headers: string[]): Promise<string> {
  assert.equal(await dialog.send(`MAIL FROM:<${mailFrom}>`), REPLY.mailOk);
  assert.equal(await dialog.send('RCPT TO:<customer@example.net>'), REPLY.rcptOk);
  assert.equal(await dialog.send('DATA'), REPLY.startData);
  dialog.write(`${headers.join('\r\n')}\r\nSubject: sender authorization\r\n\r\nHello.\r\n`);
  return dialog.send('.');
}

async function queuedIds(tg: TestGateway): Promise<Set<string>> {
  const queue = await tg.queue();
  try {
    return new Set((await queue.list({ includeCompleted: true, limit: 10_000 })).map((m) => m.id));
  } finally {
    await queue.close();
  }
}

/** Nothing new in the queue, and no body left in the spool without a queue entry. */
async function assertNothingQueuedSince(tg: TestGateway, before: Set<string>): Promise<void> {
  const now = await queuedIds(tg);
  assert.deepEqual(
    [...now].filter((id) => !before.has(id)),
    [],
    'a refused message reached the queue',
  );
  assert.deepEqual(
    (await storedBodyIds(tg.config)).filter((id) => !now.has(id)),
    [],
    'a refused message left its body in the spool',
  );
}

describe('sender authorization', () => {
  let gw: TestGateway;
  let credential: Credential;

  before(async () => {
    gw = await startTestGateway({ shutdownTimeout: '2s' });
    // The harness verified example.com and example.test for the default organisation. Besides
    // those: a domain claimed but not yet proven, and one proven by another organisation.
    await gw.db(async (db) => {
      await db.insertInto('organisations').values({ id: 'org_other', name: 'Other tenant', default_route_action: 'relay', created_at: Date.now() }).execute();
      await insertDomain(db, 'pending.example', { status: 'pending' });
      await insertDomain(db, 'foreign.example', { organisationId: 'org_other' });
    });
    credential = await gw.createCredential('any sender in the verified domains');
  });
  after(async () => {
    await gw?.stop();
  });
  afterEach(() => {
    for (const dialog of dialogs) dialog.close();
    dialogs.clear();
  });

  // Any local part of a verified domain will do, in any letter case (RFC 5321 §2.4: domains
  // are case-insensitive); both verified domains of the organisation work.
  test('an envelope sender in a verified domain of the organisation is accepted with 250', SLOW_OK, async () => {
    const dialog = await authenticated(gw, credential);
    for (const sender of ['app@example.com', 'anyone-at-all@example.com', 'App@EXAMPLE.com', 'app@example.test']) {
      assert.equal(await dialog.send(`MAIL FROM:<${sender}>`), REPLY.mailOk, sender);
      assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
    }
  });

  // Pending, another organisation's, unclaimed, and a subdomain of a verified domain (its own
  // claim is needed): all get the same client text, which does not say whether someone else
  // holds the domain; the log says which case it was.
  test('an envelope sender in a pending, foreign or unclaimed domain is refused with 550 5.7.1', SLOW_OK, async () => {
    const dialog = await authenticated(gw, credential);
    for (const sender of ['app@pending.example', 'ceo@foreign.example', 'someone@unclaimed.example', 'app@sub.example.com']) {
      assert.equal(await dialog.send(`MAIL FROM:<${sender}>`), REPLY.notVerified(sender));
    }
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk, 'the session goes on');
    const refusals = gw.logs.filter((line) => line.includes('"sender refused"')).join('\n');
    assert.match(refusals, /domain pending\.example is pending, not verified/);
    assert.match(refusals, /domain foreign\.example belongs to another organisation/);
    assert.match(refusals, /domain unclaimed\.example is not claimed/);
  });

  // The allow-list narrows, never widens: an entry in a domain that is not verified allows nothing.
  test('an allow-list narrows the senders to its addresses and @domains', SLOW_OK, async () => {
    const narrow = await gw.createCredential('narrowed', { allowedSenders: ['Support@example.com', '@example.test', '@pending.example'] });
    const dialog = await authenticated(gw, narrow);
    for (const sender of ['support@example.com', 'SUPPORT@example.com', 'anything@example.test']) {
      assert.equal(await dialog.send(`MAIL FROM:<${sender}>`), REPLY.mailOk, sender);
      assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
    }
    assert.equal(await dialog.send('MAIL FROM:<sales@example.com>'), REPLY.notInAllowList('sales@example.com'));
    assert.equal(await dialog.send('MAIL FROM:<app@pending.example>'), REPLY.notVerified('app@pending.example'));
    // The header From is held to the same list.
    const before = await queuedIds(gw);
    assert.equal(await send(dialog, 'support@example.com', ['From: Sales <sales@example.com>']), REPLY.headerNotInAllowList('sales@example.com'));
    await assertNothingQueuedSince(gw, before);
    assert.match(await send(dialog, 'support@example.com', ['From: Support <support@example.com>']), QUEUED);
  });

  // A good envelope does not vouch for the header: a forged From is refused after the end
  // of data, before the commit, so nothing is queued and the spooled body is removed.
  test('a forged header From behind a good envelope is refused after DATA with nothing queued', SLOW_OK, async () => {
    const before = await queuedIds(gw);
    const dialog = await authenticated(gw, credential);
    assert.equal(await send(dialog, 'app@example.com', ['From: "The CEO" <ceo@foreign.example>']), REPLY.headerNotVerified('ceo@foreign.example'));
    assert.equal(await send(dialog, 'app@example.com', ['From: app@pending.example']), REPLY.headerNotVerified('app@pending.example'));
    await assertNothingQueuedSince(gw, before);
    const reply = await send(dialog, 'app@example.com', ['From: "Support" <support@example.com>']);
    assert.match(reply, QUEUED, 'the session recovers');
  });

  // RFC 5322 §3.6 and §3.6.2: exactly one From, a Sender when it names several authors, and
  // every author checked; an address that different readers would parse differently is refused.
  test('the header From must be one readable field; several authors need a Sender and are all checked', SLOW_OK, async () => {
    const before = await queuedIds(gw);
    const dialog = await authenticated(gw, credential);
    assert.equal(await send(dialog, 'app@example.com', ['To: customer@example.net']), REPLY.noFrom);
    assert.equal(await send(dialog, 'app@example.com', ['From: app@example.com', 'From: ceo@foreign.example']), REPLY.twoFromFields);
    assert.equal(await send(dialog, 'app@example.com', ['From: app@example.com, support@example.com']), REPLY.senderRequired);
    assert.equal(await send(dialog, 'app@example.com', ['From: evil@foreign.example <app@example.com>']), REPLY.unreadableFrom);
    assert.equal(
      await send(dialog, 'app@example.com', ['From: app@example.com, ceo@foreign.example', 'Sender: app@example.com']),
      REPLY.headerNotVerified('ceo@foreign.example'),
    );
    await assertNothingQueuedSince(gw, before);
    assert.match(await send(dialog, 'app@example.com', ['From: app@example.com, support@example.test', 'Sender: app@example.com']), QUEUED);
    // A folded From (RFC 5322 §2.2.3) and the obsolete space before the colon are read as one field.
    assert.match(await send(dialog, 'app@example.com', ['From:', '\t"Support desk"', ' <support@example.com>']), QUEUED);
    assert.equal(await send(dialog, 'app@example.com', ['From : ceo@foreign.example']), REPLY.headerNotVerified('ceo@foreign.example'));
  });

  // The header section is read up to 64 KiB; a From further down would go unchecked, so a
  // larger section is refused rather than checked in part.
  test('a header section over 64 KiB is refused with 552 5.3.4, nothing queued', SLOW_OK, async () => {
    const before = await queuedIds(gw);
    const dialog = await authenticated(gw, credential);
    const padding = Array.from({ length: 700 }, (_, i) => `X-Padding-${i}: ${'p'.repeat(90)}`);
    assert.equal(await send(dialog, 'app@example.com', [...padding, 'From: ceo@foreign.example']), REPLY.headerTooBig);
    await assertNothingQueuedSince(gw, before);
  });

  // RFC 5321 §4.5.5: the null sender carries notifications and claims no address, so MAIL
  // FROM:<> is accepted; the header From of such a message is still checked.
  test('the null sender is accepted at MAIL FROM, and its header From must pass', SLOW_OK, async () => {
    const before = await queuedIds(gw);
    const dialog = await authenticated(gw, credential);
    assert.equal(await send(dialog, '', ['From: ceo@foreign.example']), REPLY.headerNotVerified('ceo@foreign.example'));
    await assertNothingQueuedSince(gw, before);
    const reply = await send(dialog, '', ['From: "Mail Delivery" <mailer-daemon@example.com>']);
    const id = QUEUED.exec(reply)?.[1];
    assert.ok(id, reply);
    const queue = await gw.queue();
    try {
      assert.equal((await queue.show(id))?.mailFrom, '');
    } finally {
      await queue.close();
    }
  });

  // An inbound credential relays the organisation's mail to its own domain's addresses, nothing else.
  test('an inbound credential cannot submit to the world: 550 5.7.1 at RCPT TO', SLOW_OK, async () => {
    const inbound = await gw.createCredential('Exchange', { kind: 'inbound', domain: 'example.com' });
    const dialog = await authenticated(gw, inbound);
    assert.equal(await dialog.send('MAIL FROM:<customer@example.net>'), REPLY.mailOk);
    assert.equal(
      await dialog.send('RCPT TO:<customer@example.net>'),
      '550 5.7.1 Relaying denied: <customer@example.net> is not in example.com, the domain of this credential',
    );
  });

  // Checks read the store at every transaction: a credential revoked or removed, or a domain
  // no longer verified, stops a session that authenticated before the change.
  test('revoking the credential, removing it or unverifying the domain takes effect at the next MAIL FROM', SLOW_OK, async () => {
    const doomed = await gw.createCredential('revoked mid-session');
    const revoked = await authenticated(gw, doomed);
    assert.equal(await revoked.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
    assert.equal(await revoked.send('RSET'), '250 2.0.0 Flushed');
    await gw.revokeCredential(doomed.id);
    assert.equal(await revoked.send('MAIL FROM:<app@example.com>'), REPLY.credentialNotValid);

    const removed = await gw.createCredential('removed mid-session');
    const orphan = await authenticated(gw, removed);
    await gw.db((db) => db.deleteFrom('credentials').where('id', '=', removed.id).execute());
    assert.equal(await orphan.send('MAIL FROM:<app@example.com>'), REPLY.unknownCredential);

    await gw.db((db) => insertDomain(db, 'later.example'));
    const dialog = await authenticated(gw, credential);
    assert.equal(await dialog.send('MAIL FROM:<app@later.example>'), REPLY.mailOk);
    assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
    await gw.db((db) => db.updateTable('domains').set({ status: 'pending' }).where('name', '=', 'later.example').execute());
    assert.equal(await dialog.send('MAIL FROM:<app@later.example>'), REPLY.notVerified('app@later.example'));
    await waitFor(() => gw.logs.some((line) => line.includes('domain later.example is pending, not verified')), { what: 'the refusal reason in the log' });
  });
});

// The header From reader on its own, one case per row: what it returns or refuses with.
describe('header From reader (RFC 5322 §3.6)', () => {
  const cases: [string, string, string[] | string][] = [
    ['one address', 'From: app@example.com', ['app@example.com']],
    ['display name and angle address', 'From: "Support" <support@example.com>', ['support@example.com']],
    ['field name in any case, space before the colon (obsolete syntax)', 'fROM : app@example.com', ['app@example.com']],
    ['folded over lines', 'From:\r\n "A"\r\n\t<a@example.com>', ['a@example.com']],
    ['a comment holding an @ is not an address', 'From: (via a@b) app@example.com', ['app@example.com']],
    ['a quoted display name holding an @ is not an address', 'From: "ceo@example.com" <evil@x.example>', ['evil@x.example']],
    ['a group is flattened to its members (RFC 6854)', 'From: Team: a@example.com;', ['a@example.com']],
    ['several authors with a Sender', 'From: a@example.com, b@example.com\r\nSender: a@example.com', ['a@example.com', 'b@example.com']],
    ['no From', 'Subject: hi', REPLY.noFrom],
    ['an mbox "From " line is not a From field', 'From app@example.com Sat Nov 21 07:00:00 2026\r\nSubject: hi', REPLY.noFrom],
    ['two From fields', 'From: a@example.com\r\nFrom: b@example.com', REPLY.twoFromFields],
    ['several authors, no Sender', 'From: a@example.com, b@example.com', REPLY.senderRequired],
    ['an unquoted address as display name', 'From: a@example.com <b@example.com>', REPLY.unreadableFrom],
    ['two angle addresses in one mailbox', 'From: <a@example.com> <b@example.com>', REPLY.unreadableFrom],
    ['no address at all', 'From: undisclosed', REPLY.unreadableFrom],
    ['an empty group', 'From: Undisclosed:;', REPLY.unreadableFrom],
    ['the null path', 'From: <>', REPLY.unreadableFrom],
  ];
  for (const [name, header, expected] of cases) {
    test(name, () => {
      const result = headerFrom(Buffer.from(header));
      if (Array.isArray(expected)) assert.deepEqual(result, { addresses: expected });
      else assert.equal('refusal' in result ? result.refusal.toString() : JSON.stringify(result), expected);
    });
  }
});
