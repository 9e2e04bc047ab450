/**
 * SMTP submission on the wire (issue 2): real sockets and real TLS against an in-process
 * gateway, asserting whole reply lines. Each test proves one rule; the comment above it
 * says which. Gateways with small timeouts or throttle limits are separate, so that the
 * shared one never times out or throttles a test that is not about it.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { MessageView } from '../src/queue/queue-store.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { type OpenDialogOptions, openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { storedBodyIds } from './support/stored-bodies.js';
import { waitFor } from './support/wait-for.js';

type Credential = Awaited<ReturnType<TestGateway['createCredential']>>;

const MAX_BYTES = 10_000;
const MAX_RECIPIENTS = 3;
/** Generous per test: a slow, busy machine must not turn a pass into a timeout. */
const SLOW_OK = { timeout: 60_000 };
/** Bounds teardown if a test leaves a transaction open; nothing here waits for it on purpose. */
const QUICK_SHUTDOWN = { shutdownTimeout: '2s' };

const REPLY = {
  greeting: '220 gateway.test ESMTP',
  startTls: '220 2.0.0 Ready to start TLS',
  ehloFirstLine: '250-gateway.test Nice to meet you, [127.0.0.1]',
  authOk: '235 2.7.0 Authentication successful',
  authFailed: '535 5.7.8 Authentication credentials invalid',
  authThrottled: '454 4.7.0 Too many failed authentication attempts, try again later',
  encryptionRequired: '538 5.7.11 Encryption required for requested authentication mechanism',
  mustStartTls: '530 5.7.0 Must issue a STARTTLS command first',
  authRequired: '530 5.7.0 Authentication required',
  mailOk: '250 2.1.0 Accepted',
  rcptOk: '250 2.1.5 Accepted',
  startData: '354 End data with <CR><LF>.<CR><LF>',
  noop: '250 2.0.0 OK',
  tooBig: `552 5.3.4 Message size exceeds fixed maximum message size of ${MAX_BYTES} bytes`,
  tooManyRecipients: '452 4.5.3 Too many recipients',
  bareLineEnding: '550 5.5.2 Message contains bare CR or LF; lines must end with CRLF (RFC 5321 section 2.3.8)',
  lineTooLong: '550 5.5.2 Message contains a line longer than 998 octets (RFC 5321 section 4.5.3.1.6)',
  nul: '550 5.6.0 Message contains a NUL octet',
  idleTimeout: '421 4.4.2 Timeout - closing connection',
  commandTimeout: '421 4.4.2 Command time limit exceeded, closing connection',
  dataTimeout: '421 4.4.2 Message time limit exceeded, closing connection',
} as const;

const QUEUED = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/;
const BASE_EXTENSIONS = ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN'];

// --- clients -----------------------------------------------------------------------

const dialogs = new Set<SmtpDialog>();
const sockets = new Set<Socket>();

/** Every test's clients are closed after it, whatever it asserted. */
function closeClientsAfterEach(): void {
  afterEach(() => {
    for (const dialog of dialogs) dialog.close();
    dialogs.clear();
    // Newest first, so a TLS socket goes before the TCP socket beneath it: destroying the TCP
    // socket first and then its TLS socket crashes Node 20's TLS client (SIGSEGV in SSL_read).
    for (const socket of [...sockets].reverse()) socket.destroy();
    sockets.clear();
  });
}

async function open(port: number, opts: OpenDialogOptions = {}): Promise<SmtpDialog> {
  const { dialog, greeting } = await openDialog(port, opts);
  dialogs.add(dialog);
  assert.equal(greeting, REPLY.greeting);
  return dialog;
}

/** Connected to the submission port, TLS up, EHLO repeated, not authenticated. */
async function secured(tg: TestGateway): Promise<SmtpDialog> {
  const dialog = await open(tg.gateway.ports.smtp);
  assert.match(await dialog.ehlo(), /^250-gateway\.test /);
  await dialog.startTls();
  assert.match(await dialog.ehlo(), /^250-gateway\.test /);
  return dialog;
}

async function authenticated(tg: TestGateway, credential: Credential): Promise<SmtpDialog> {
  const dialog = await secured(tg);
  assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.authOk);
  return dialog;
}

async function startData(dialog: SmtpDialog, recipients = ['customer@example.net']): Promise<void> {
  assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
  for (const rcpt of recipients) assert.equal(await dialog.send(`RCPT TO:<${rcpt}>`), REPLY.rcptOk);
  assert.equal(await dialog.send('DATA'), REPLY.startData);
}

/** A whole transaction; `body` ends with CRLF and is sent as is (no dot-stuffing). */
async function transfer(dialog: SmtpDialog, body: string | Buffer): Promise<string> {
  await startData(dialog);
  dialog.write(body);
  return dialog.send('.');
}

function message(subject: string, text = 'Hello from the submission tests.'): string {
  return `From: app@example.com\r\nTo: customer@example.net\r\nSubject: ${subject}\r\n\r\n${text}\r\n`;
}

function queueIdOf(reply: string): string {
  const id = QUEUED.exec(reply)?.[1];
  assert.ok(id, `expected "250 2.0.0 Ok: queued as <ID>", got ${JSON.stringify(reply)}`);
  return id;
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** The greeting line and the extension lines of an EHLO reply, after checking the continuation marks. */
function ehloParts(reply: string): { first: string; extensions: string[] } {
  const lines = reply.split('\n');
  lines.forEach((line, i) => {
    assert.match(line, i === lines.length - 1 ? /^250 / : /^250-/, reply);
  });
  return { first: lines[0] ?? '', extensions: lines.slice(1).map((line) => line.slice(4)) };
}

function sameSet(actual: string[], expected: string[]): void {
  assert.deepEqual([...actual].sort(), [...expected].sort());
}

// --- queue and spool -----------------------------------------------------------------

async function queued(tg: TestGateway): Promise<Map<string, MessageView>> {
  const queue = await tg.queue();
  try {
    const messages = await queue.list({ includeCompleted: true, limit: 10_000 });
    return new Map(messages.map((m) => [m.id, m]));
  } finally {
    await queue.close();
  }
}

/** Stored bodies without a queue row: a transfer in progress, or one that was not cleaned up. */
async function spoolStrays(tg: TestGateway): Promise<string[]> {
  const ids = await queued(tg);
  return (await storedBodyIds(tg.config)).filter((id) => !ids.has(id));
}

async function assertNothingQueuedSince(tg: TestGateway, before: Map<string, MessageView>): Promise<void> {
  const now = await queued(tg);
  assert.deepEqual(
    [...now.keys()].filter((id) => !before.has(id)),
    [],
    'a refused or aborted message reached the queue',
  );
  assert.deepEqual(await spoolStrays(tg), [], 'a refused or aborted message left its body in the spool');
}

// --- raw sockets, for what the shared dialog cannot do (custom TLS options, TCP reset) ----

interface Replies {
  next(): Promise<string>;
  stop(): void;
}

/** Whole replies (lines joined with \n) read off a socket this file drives itself. */
function readReplies(socket: Socket): Replies {
  let text = '';
  let lines: string[] = [];
  const ready: string[] = [];
  const waiting: { resolve: (reply: string) => void; reject: (err: Error) => void }[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString('latin1');
    for (let eol = text.indexOf('\r\n'); eol !== -1; eol = text.indexOf('\r\n')) {
      const line = text.slice(0, eol);
      text = text.slice(eol + 2);
      lines.push(line);
      if (line[3] === '-') continue;
      const reply = lines.join('\n');
      lines = [];
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(reply);
      else ready.push(reply);
    }
  };
  const onClose = () => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`connection closed before a complete reply; received so far: ${JSON.stringify(text)}`));
  };
  socket.on('data', onData);
  socket.once('close', onClose);
  return {
    next() {
      const reply = ready.shift();
      if (reply !== undefined) return Promise.resolve(reply);
      if (socket.destroyed) return Promise.reject(new Error('connection closed'));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    stop() {
      socket.off('data', onData);
      socket.off('close', onClose);
    },
  };
}

async function connectRaw(port: number): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port });
  sockets.add(socket);
  // A reset is what some tests provoke; the client side's errors are not what they inspect.
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

type Listener = 'submission' | 'implicit';

interface TlsClient {
  raw: Socket;
  tls: TLSSocket;
  /** Settles with the handshake: resolves once secure, rejects with the TLS error. */
  handshake: Promise<void>;
}

/** A TLS client with the given options, on either listener (after STARTTLS on the submission port). */
async function tlsClient(tg: TestGateway, listener: Listener, options: ConnectionOptions = {}): Promise<TlsClient> {
  const raw = await connectRaw(listener === 'implicit' ? tg.gateway.ports.smtps : tg.gateway.ports.smtp);
  if (listener === 'submission') {
    const replies = readReplies(raw);
    assert.equal(await replies.next(), REPLY.greeting);
    raw.write('EHLO raw.test\r\n');
    assert.match(await replies.next(), /^250-gateway\.test /);
    raw.write('STARTTLS\r\n');
    assert.equal(await replies.next(), REPLY.startTls);
    replies.stop();
  }
  // Without a CA the tests are about protocol versions and ciphers, not PKI.
  const tls = tlsConnect({ socket: raw, rejectUnauthorized: false, ...options });
  sockets.add(tls);
  const handshake = new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', () => resolve());
    tls.once('error', reject);
  });
  tls.on('error', () => {});
  return { raw, tls, handshake };
}

// --- the shared gateway ------------------------------------------------------------------

describe('SMTP submission', () => {
  let gw: TestGateway;
  let credential: Credential;

  before(async () => {
    gw = await startTestGateway({
      'smtp.maxRecipients': MAX_RECIPIENTS,
      'smtp.maxMessageBytes': MAX_BYTES,
      // The AUTH failure tests here must not throttle each other; throttling has its own gateways.
      'smtp.authFailuresPerIp': 1000,
      ...QUICK_SHUTDOWN,
    });
    credential = await gw.createCredential();
  });
  after(async () => {
    await gw?.stop();
  });
  closeClientsAfterEach();

  // The greeting goes out at once (no early-talker pause: the removed 100 ms delay would be
  // a floor under every connection, so the fastest of ten shows it) and names the host.
  test('greeting is sent without delay and names the host', SLOW_OK, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const { dialog, greeting } = await openDialog(gw.gateway.ports.smtp);
      latencies.push(performance.now() - started);
      dialogs.add(dialog);
      assert.equal(greeting, REPLY.greeting);
      dialog.close();
    }
    assert.ok(Math.min(...latencies) < 90, `fastest greeting took ${Math.min(...latencies).toFixed(1)} ms`);
  });

  // Before TLS the client learns how to get TLS, the limits and the reply features, but no
  // AUTH mechanism: credentials must never be invited over plaintext (RFC 4954 §4).
  test('EHLO before TLS offers STARTTLS, SIZE, ENHANCEDSTATUSCODES and DSN but not AUTH', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    const { first, extensions } = ehloParts(await dialog.ehlo());
    assert.equal(first, REPLY.ehloFirstLine);
    sameSet(extensions, [...BASE_EXTENSIONS, 'STARTTLS', `SIZE ${MAX_BYTES}`]);
  });

  // AUTH in plaintext is refused with the RFC 4954 code for "TLS first", whatever the mechanism.
  test('AUTH before TLS is refused with 538 5.7.11', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    await dialog.ehlo();
    assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.encryptionRequired);
    assert.equal(await dialog.send('AUTH LOGIN'), REPLY.encryptionRequired);
    assert.equal(await dialog.send('AUTH PLAIN'), REPLY.encryptionRequired);
  });

  // A mail transaction cannot start in plaintext; the reply says what to do first.
  test('MAIL FROM before TLS is refused with 530 5.7.0', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    await dialog.ehlo();
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mustStartTls);
  });

  // Once TLS is up, the mechanisms and REQUIRETLS (RFC 8689 §4: over TLS only) appear and STARTTLS (no longer possible) disappears.
  test('after STARTTLS, EHLO offers AUTH PLAIN LOGIN and not STARTTLS', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    await dialog.ehlo();
    await dialog.startTls();
    const { first, extensions } = ehloParts(await dialog.ehlo());
    assert.equal(first, REPLY.ehloFirstLine);
    sameSet(extensions, [...BASE_EXTENSIONS, 'AUTH PLAIN LOGIN', 'REQUIRETLS', `SIZE ${MAX_BYTES}`]);
  });

  // TLS alone is not enough: no open relay, a submission needs a credential.
  test('MAIL FROM after TLS without AUTH is refused with 530 5.7.0 Authentication required', SLOW_OK, async () => {
    const dialog = await secured(gw);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.authRequired);
    assert.equal(await dialog.send('RCPT TO:<customer@example.net>'), REPLY.authRequired);
  });

  // A generated credential authenticates with PLAIN, and the session may then submit.
  test('AUTH PLAIN with a valid credential succeeds with 235 2.7.0', SLOW_OK, async () => {
    const dialog = await secured(gw);
    assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.authOk);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
  });

  // The same credential works with LOGIN, the mechanism older application libraries use.
  test('AUTH LOGIN with a valid credential succeeds with 235 2.7.0', SLOW_OK, async () => {
    const dialog = await secured(gw);
    assert.equal(await dialog.send('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await dialog.send(base64(credential.username)), '334 UGFzc3dvcmQ6');
    assert.equal(await dialog.send(base64(credential.secret)), REPLY.authOk);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
  });

  // A wrong secret is refused with the RFC 4954 code and leaves the session unauthenticated.
  test('AUTH with a wrong secret is refused with 535 5.7.8', SLOW_OK, async () => {
    const wrongSecret = await gw.createCredential('wrong secret');
    const dialog = await secured(gw);
    assert.equal(await dialog.authPlain(wrongSecret.username, `${wrongSecret.secret}x`), REPLY.authFailed);
    assert.equal(await dialog.send('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await dialog.send(base64(wrongSecret.username)), '334 UGFzc3dvcmQ6');
    assert.equal(await dialog.send(base64('not the secret')), REPLY.authFailed);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.authRequired);
  });

  // Revocation is immediate: the credential's next AUTH fails, though it worked a moment ago.
  test('a revoked credential is refused with 535 5.7.8 at its next AUTH', SLOW_OK, async () => {
    const revoked = await gw.createCredential('to be revoked');
    const before = await authenticated(gw, revoked);
    assert.equal(await before.send('QUIT'), '221 2.0.0 Bye');
    await gw.revokeCredential(revoked.id);
    const dialog = await secured(gw);
    assert.equal(await dialog.authPlain(revoked.username, revoked.secret), REPLY.authFailed);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.authRequired);
  });

  // The SIZE limit is checked up front: a declared size over it is refused at MAIL FROM,
  // one exactly at it is accepted.
  test('MAIL FROM with a declared SIZE over the limit is refused with 552 5.3.4', SLOW_OK, async () => {
    const dialog = await authenticated(gw, credential);
    assert.equal(await dialog.send(`MAIL FROM:<app@example.com> SIZE=${MAX_BYTES + 1}`), REPLY.tooBig);
    assert.equal(await dialog.send(`MAIL FROM:<app@example.com> SIZE=${MAX_BYTES}`), REPLY.mailOk);
  });

  // A client that lies about (or omits) SIZE is still held to it: the body is refused after
  // the end of data, nothing is queued or left in the spool, and a body of exactly the limit passes.
  test('a body over the size limit is refused with 552 5.3.4 after the end of data, nothing queued', SLOW_OK, async () => {
    const before = await queued(gw);
    const dialog = await authenticated(gw, credential);
    const line = `${'x'.repeat(98)}\r\n`;
    const header = message('oversized', '');
    const exactly = header + line.repeat(Math.floor((MAX_BYTES - header.length) / line.length));
    const filler = MAX_BYTES - exactly.length - 2;
    const atLimit = `${exactly}${'y'.repeat(filler)}\r\n`;
    assert.equal(Buffer.byteLength(atLimit), MAX_BYTES);
    assert.equal(await transfer(dialog, `${atLimit.slice(0, -2)}z\r\n`), REPLY.tooBig);
    assert.equal(await transfer(dialog, `${atLimit}${line.repeat(50)}`), REPLY.tooBig);
    await assertNothingQueuedSince(gw, before);
    const id = queueIdOf(await transfer(dialog, atLimit));
    assert.equal((await queued(gw)).get(id)?.mailFrom, 'app@example.com');
  });

  // The recipient cap applies per message: the recipient over it is refused with a temporary
  // code (the client sends it in another transaction), the others are kept and delivered.
  test('a recipient over the per-message cap is refused with 452 4.5.3', SLOW_OK, async () => {
    const dialog = await authenticated(gw, credential);
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
    for (let i = 1; i <= MAX_RECIPIENTS; i++) assert.equal(await dialog.send(`RCPT TO:<customer${i}@example.net>`), REPLY.rcptOk);
    assert.equal(await dialog.send('RCPT TO:<one-too-many@example.net>'), REPLY.tooManyRecipients);
    assert.equal(await dialog.send('DATA'), REPLY.startData);
    dialog.write(message('capped'));
    const id = queueIdOf(await dialog.send('.'));
    const entry = (await queued(gw)).get(id);
    assert.deepEqual(
      entry?.recipients.map((r) => r.address),
      ['customer1@example.net', 'customer2@example.net', 'customer3@example.net'],
    );
  });

  /** A refused body leaves nothing behind, and the same session goes on to submit normally. */
  async function assertRefusedThenRecovers(body: string | Buffer, expected: string): Promise<void> {
    const before = await queued(gw);
    const dialog = await authenticated(gw, credential);
    assert.equal(await transfer(dialog, body), expected);
    await assertNothingQueuedSince(gw, before);
    const id = queueIdOf(await transfer(dialog, message('after a refusal')));
    assert.ok((await queued(gw)).has(id));
  }

  // A bare LF is how SMTP smuggling starts: refused, not repaired.
  test('a bare LF in DATA is refused with 550 5.5.2, nothing queued, and the session recovers', SLOW_OK, async () => {
    await assertRefusedThenRecovers(message('bare LF', 'first\nsecond'), REPLY.bareLineEnding);
  });

  // A bare CR likewise (some MTAs treat it as a line end).
  test('a bare CR in DATA is refused with 550 5.5.2, nothing queued, and the session recovers', SLOW_OK, async () => {
    await assertRefusedThenRecovers(message('bare CR', 'first\rsecond'), REPLY.bareLineEnding);
  });

  // NUL has no place in a message and truncates it in C-string based software downstream.
  test('a NUL octet in DATA is refused with 550 5.6.0, nothing queued, and the session recovers', SLOW_OK, async () => {
    await assertRefusedThenRecovers(Buffer.from(message('NUL', 'before\0after')), REPLY.nul);
  });

  // A 1001-octet line (999 + CRLF) is over RFC 5321's 1000; a 1000-octet line is fine.
  test('a 1001-octet line in DATA is refused with 550 5.5.2, nothing queued, and the session recovers', SLOW_OK, async () => {
    await assertRefusedThenRecovers(message('long line', 'a'.repeat(999)), REPLY.lineTooLong);
    const dialog = await authenticated(gw, credential);
    queueIdOf(await transfer(dialog, message('longest line', 'a'.repeat(998))));
  });

  // SMTP smuggling: end of data is CRLF.CRLF only. A body hiding a second transaction behind
  // a non-standard end marker gets exactly one refusal, and the very next reply belongs to
  // the client's next command: the hidden MAIL/RCPT/DATA never ran, nothing was queued.
  test('a smuggled second transaction behind a bare end-of-data marker yields one refusal and no second transaction', SLOW_OK, async () => {
    const before = await queued(gw);
    const dialog = await authenticated(gw, credential);
    const hidden = 'MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n';
    for (const marker of ['\n.\n', '\r\n.\n', '\n.\r\n', '\r.\r\n', '\r\n.\r']) {
      const reply = await transfer(dialog, `${message('smuggling').slice(0, -2)}${marker}${hidden}`);
      assert.equal(reply, REPLY.bareLineEnding, `marker ${JSON.stringify(marker)}`);
      assert.equal(await dialog.send('NOOP'), REPLY.noop, `marker ${JSON.stringify(marker)}: a reply to a smuggled command came first`);
    }
    await assertNothingQueuedSince(gw, before);
    const id = queueIdOf(await transfer(dialog, message('after smuggling')));
    const now = await queued(gw);
    assert.deepEqual(
      [...now.keys()].filter((k) => !before.has(k)),
      [id],
    );
    assert.ok(![...now.values()].some((m) => m.mailFrom === 'evil@x.example'));
  });

  // The 250 names the queue id, and the message is in the queue under it (250 only after commit).
  test('250 after DATA carries the queue id, and that id is in the queue', SLOW_OK, async () => {
    const dialog = await authenticated(gw, credential);
    const reply = await transfer(dialog, message('queue id'));
    assert.match(reply, QUEUED);
    const entry = (await queued(gw)).get(queueIdOf(reply));
    assert.ok(entry, `${reply}: id not in the queue`);
    assert.equal(entry.mailFrom, 'app@example.com');
    assert.deepEqual(
      entry.recipients.map((r) => r.address),
      ['customer@example.net'],
    );
  });

  // Implicit TLS (RFC 8314): the session is encrypted from the first byte, so AUTH is offered
  // at once, STARTTLS is not, and a message can be submitted.
  test('implicit TLS port offers AUTH at once and accepts a submission', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtps, { implicitTls: true });
    const { first, extensions } = ehloParts(await dialog.ehlo());
    assert.equal(first, REPLY.ehloFirstLine);
    sameSet(extensions, [...BASE_EXTENSIONS, 'AUTH PLAIN LOGIN', 'REQUIRETLS', `SIZE ${MAX_BYTES}`]);
    assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.authOk);
    queueIdOf(await transfer(dialog, message('implicit TLS')));
  });

  // TLS 1.2 is the floor on both listeners: a TLS 1.1 (or 1.0) client is refused in the
  // handshake by the gateway's protocol_version alert, while 1.2 and 1.3 clients get in.
  test('TLS 1.1 and 1.0 clients are refused at the handshake on both listeners', SLOW_OK, async () => {
    for (const listener of ['submission', 'implicit'] as const) {
      for (const version of ['TLSv1.1', 'TLSv1'] as const) {
        // SECLEVEL=0 so that the client can offer the old protocol at all: the refusal must be the gateway's.
        const old = await tlsClient(gw, listener, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' });
        await assert.rejects(old.handshake, { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, `${listener} ${version}`);
      }
      const tls12 = await tlsClient(gw, listener, { maxVersion: 'TLSv1.2' });
      await tls12.handshake;
      assert.equal(tls12.tls.getProtocol(), 'TLSv1.2');
      const tls13 = await tlsClient(gw, listener);
      await tls13.handshake;
      assert.equal(tls13.tls.getProtocol(), 'TLSv1.3');
    }
  });

  // In TLS 1.2 only AEAD suites are accepted: a client offering only CBC/HMAC suites gets a
  // handshake_failure alert; the same client offering an AEAD suite gets in with it.
  test('a TLS 1.2 client offering only non-AEAD ciphers is refused at the handshake', SLOW_OK, async () => {
    for (const listener of ['submission', 'implicit'] as const) {
      for (const cipher of ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA', 'AES128-SHA256']) {
        const client = await tlsClient(gw, listener, { maxVersion: 'TLSv1.2', ciphers: cipher });
        // Node 20 names the alert in err.code; Node 24 only in the message.
        await assert.rejects(client.handshake, /alert handshake failure/, `${listener} ${cipher}`);
      }
      const aead = await tlsClient(gw, listener, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
      await aead.handshake;
      assert.equal(aead.tls.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    }
  });

  // No client-initiated renegotiation (RFC 7457 §2.2): a TLS 1.2 client's attempt never
  // completes, the gateway ends that session, and it keeps serving others.
  test('TLS renegotiation by a TLS 1.2 client ends the session without harming the gateway', SLOW_OK, async () => {
    for (const listener of ['submission', 'implicit'] as const) {
      const client = await tlsClient(gw, listener, { maxVersion: 'TLSv1.2' });
      await client.handshake;
      const replies = readReplies(client.tls);
      if (listener === 'implicit') assert.equal(await replies.next(), REPLY.greeting);
      client.tls.write('EHLO renegotiate.test\r\n');
      assert.match(await replies.next(), /^250-gateway\.test /);
      const outcome = await new Promise<string>((resolve) => {
        client.tls.once('close', () => resolve('session closed'));
        const started = client.tls.renegotiate({}, (err) => resolve(err ? `renegotiation failed: ${err.message}` : 'renegotiated'));
        if (!started) resolve('renegotiation not started by the client');
      });
      assert.equal(outcome, 'session closed', listener);
    }
    const dialog = await authenticated(gw, credential);
    queueIdOf(await transfer(dialog, message('after renegotiation attempts')));
  });

  // Plaintext junk where the ClientHello should be fails that handshake and ends that session
  // only (on both listeners); the process lives and the next session submits normally.
  test('garbage instead of a TLS handshake ends only that session', SLOW_OK, async () => {
    const dialog = await open(gw.gateway.ports.smtp);
    await dialog.ehlo();
    assert.equal(await dialog.send('STARTTLS'), REPLY.startTls);
    dialog.write('this is not a ClientHello\r\nMAIL FROM:<evil@x.example>\r\n');
    await assert.rejects(dialog.read(), /connection closed before a complete reply; received so far: ""/);
    await dialog.closed();

    const implicit = await connectRaw(gw.gateway.ports.smtps);
    const closed = new Promise((resolve) => implicit.once('close', resolve));
    implicit.write('EHLO plaintext.test\r\n');
    await closed;

    const next = await authenticated(gw, credential);
    queueIdOf(await transfer(next, message('after garbage')));
    const nextImplicit = await open(gw.gateway.ports.smtps, { implicitTls: true });
    await nextImplicit.ehlo();
    assert.equal(await nextImplicit.authPlain(credential.username, credential.secret), REPLY.authOk);
  });

  // A TLS error after the handshake (a record the gateway cannot decrypt, written beneath
  // the client's TLS layer) ends that session at once on both listeners, rather than leaving
  // it open until the idle timeout; the gateway serves the next session as usual.
  test('a corrupt TLS record mid-session ends only that session', SLOW_OK, async () => {
    for (const listener of ['submission', 'implicit'] as const) {
      const client = await tlsClient(gw, listener);
      await client.handshake;
      let closed = false;
      client.tls.once('close', () => {
        closed = true;
      });
      const replies = readReplies(client.tls);
      if (listener === 'implicit') assert.equal(await replies.next(), REPLY.greeting);
      client.tls.write('EHLO corrupt.test\r\n');
      assert.match(await replies.next(), /^250-gateway\.test /);
      client.raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 7)]));
      // The idle timeout is minutes away: a close within this deadline is the gateway ending the session.
      await waitFor(() => closed, { timeoutMs: 15_000, what: `the ${listener} session to end after a corrupt TLS record` });
    }
    const dialog = await authenticated(gw, credential);
    queueIdOf(await transfer(dialog, message('after a corrupt record')));
  });

  // A client that vanishes mid-DATA (closing, or resetting the TCP connection) loses the
  // message: it was never acknowledged, so nothing is queued and its partial body is removed
  // from the spool; the gateway carries on.
  test('an abrupt disconnect mid-DATA leaves nothing queued and the gateway healthy', SLOW_OK, async () => {
    // A gateway of its own, taking bodies larger than one stored chunk: on PostgreSQL a body
    // reaches the store a chunk (256 KB) at a time, so the partial body must be larger than that.
    const tg = await startTestGateway({ 'smtp.maxMessageBytes': 1_000_000, ...QUICK_SHUTDOWN });
    try {
      const tgCredential = await tg.createCredential();
      const before = await queued(tg);
      for (const ending of ['destroy', 'reset'] as const) {
        const client = await tlsClient(tg, 'submission');
        await client.handshake;
        const replies = readReplies(client.tls);
        const send = (line: string) => {
          client.tls.write(`${line}\r\n`);
          return replies.next();
        };
        assert.match(await send('EHLO abrupt.test'), /^250-gateway\.test /);
        assert.equal(await send(`AUTH PLAIN ${base64(`\0${tgCredential.username}\0${tgCredential.secret}`)}`), REPLY.authOk);
        assert.equal(await send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
        assert.equal(await send('RCPT TO:<customer@example.net>'), REPLY.rcptOk);
        assert.equal(await send('DATA'), REPLY.startData);
        client.tls.write(message('cut short', 'partial line\r\n'.repeat(20_000)));
        await waitFor(async () => (await spoolStrays(tg)).length === 1, { what: 'the body in transfer to reach the store' });
        const closed = new Promise((resolve) => client.tls.once('close', resolve));
        // A reset goes out on the TCP socket; its TLS socket then closes by itself (and must not
        // be destroyed after the TCP socket, see closeClientsAfterEach).
        if (ending === 'reset') client.raw.resetAndDestroy();
        else client.tls.destroy();
        await closed;
        await waitFor(async () => (await spoolStrays(tg)).length === 0, { what: `the partial body to be removed after a ${ending}` });
      }
      await assertNothingQueuedSince(tg, before);
      const dialog = await authenticated(tg, tgCredential);
      queueIdOf(await transfer(dialog, message('after abrupt disconnects')));
    } finally {
      await tg.stop();
    }
  });
});

// --- AUTH throttling: own gateways, since a throttled IP would block every later test ------

describe('AUTH throttling', () => {
  closeClientsAfterEach();

  // Per IP: after N failures from one address, even the right secret of an untouched
  // credential gets 454 4.7.0 (the secret is not checked), in this session and the next.
  test('after N failed AUTHs from one IP, further attempts get 454 4.7.0 even with the right secret', SLOW_OK, async () => {
    const tg = await startTestGateway({ 'smtp.authFailuresPerIp': 3, 'smtp.authFailuresPerUser': 100, ...QUICK_SHUTDOWN });
    try {
      const credential = await tg.createCredential();
      const dialog = await secured(tg);
      // Distinct usernames, so that only the per-IP count can reach its limit.
      for (let i = 1; i <= 3; i++) assert.equal(await dialog.authPlain(`sub_guess${i}`, 'wrong'), REPLY.authFailed);
      assert.equal(await dialog.authPlain(credential.username, credential.secret), REPLY.authThrottled);
      assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.authRequired);
      const next = await secured(tg);
      assert.equal(await next.authPlain(credential.username, credential.secret), REPLY.authThrottled);
    } finally {
      for (const dialog of dialogs) dialog.close();
      await tg.stop();
    }
  });

  // Per username: after N failures for one username, its right secret gets 454 4.7.0 too,
  // while another credential from the same IP still authenticates.
  test('after N failed AUTHs for one username, that username gets 454 4.7.0 even with the right secret', SLOW_OK, async () => {
    const tg = await startTestGateway({ 'smtp.authFailuresPerIp': 100, 'smtp.authFailuresPerUser': 3, ...QUICK_SHUTDOWN });
    try {
      const target = await tg.createCredential('guessed at');
      const other = await tg.createCredential('innocent bystander');
      const dialog = await secured(tg);
      for (let i = 1; i <= 3; i++) assert.equal(await dialog.authPlain(target.username, `wrong${i}`), REPLY.authFailed);
      assert.equal(await dialog.authPlain(target.username, target.secret), REPLY.authThrottled);
      const login = await secured(tg);
      assert.equal(await login.send('AUTH LOGIN'), '334 VXNlcm5hbWU6');
      assert.equal(await login.send(base64(target.username)), '334 UGFzc3dvcmQ6');
      assert.equal(await login.send(base64(target.secret)), REPLY.authThrottled);
      const bystander = await secured(tg);
      assert.equal(await bystander.authPlain(other.username, other.secret), REPLY.authOk);
    } finally {
      for (const dialog of dialogs) dialog.close();
      await tg.stop();
    }
  });
});

// --- time budgets: small timeouts, on gateways of their own ------------------------------

describe('SMTP session timeouts', () => {
  let idle: TestGateway;
  let budgets: TestGateway;
  let credential: Credential;

  before(async () => {
    // Idle timer alone: the command budget is long, so only idleness can end the session.
    idle = await startTestGateway({ 'smtp.idleTimeout': '1s', ...QUICK_SHUTDOWN });
    // A trickling client resets an idle timer for ever; the budgets must still cut it off.
    budgets = await startTestGateway({ 'smtp.commandTimeout': '1s', 'smtp.idleTimeout': '2s', 'smtp.dataTimeout': '3s', ...QUICK_SHUTDOWN });
    credential = await budgets.createCredential();
  });
  after(async () => {
    await Promise.all([idle?.stop(), budgets?.stop()]);
  });
  closeClientsAfterEach();

  /** Writes `text` one byte per interval until the connection closes or the text runs out. */
  function trickle(dialog: SmtpDialog, text: string, intervalMs = 300): () => void {
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length) dialog.write(text.charAt(i++));
    }, intervalMs);
    void dialog.closed().then(() => clearInterval(timer));
    return () => clearInterval(timer);
  }

  // A silent client is told 421 and disconnected when the idle timeout passes.
  test('an idle session gets 421 4.4.2 and is closed', SLOW_OK, async () => {
    const dialog = await open(idle.gateway.ports.smtp);
    await dialog.ehlo();
    assert.equal(await dialog.read(), REPLY.idleTimeout);
    await dialog.closed();
  });

  // One byte of EHLO every 300 ms keeps resetting the 2 s idle timer, but the 1 s budget for
  // a command line runs out: 421 4.4.2 and the connection is closed.
  test('a client trickling a command byte by byte gets 421 4.4.2 and is closed', SLOW_OK, async () => {
    const dialog = await open(budgets.gateway.ports.smtp);
    const stop = trickle(dialog, 'EHLO trickle.example.com');
    try {
      assert.equal(await dialog.read(), REPLY.commandTimeout);
      await dialog.closed();
    } finally {
      stop();
    }
  });

  // In DATA the same trickle is cut off by the 3 s message budget (not by the 1 s command
  // budget, which does not run in DATA, nor the idle timer), and nothing is queued.
  test('a client trickling message content gets 421 4.4.2 and is closed, nothing queued', SLOW_OK, async () => {
    const before = await queued(budgets);
    const dialog = await authenticated(budgets, credential);
    await startData(dialog);
    dialog.write('Subject: trickle\r\n\r\n');
    const stop = trickle(dialog, 'x'.repeat(100));
    try {
      assert.equal(await dialog.read(), REPLY.dataTimeout);
      await dialog.closed();
    } finally {
      stop();
    }
    await waitFor(async () => (await spoolStrays(budgets)).length === 0, { what: 'the partial body to be removed' });
    await assertNothingQueuedSince(budgets, before);
  });

  // The command budget runs from the gateway's last reply: a message upload that takes longer
  // than one command budget (but within the message budget) does not shorten the time the
  // client has for its next command. The 600 ms pause is the client's think time, not a wait.
  test('the command budget starts at the reply, so a slow upload does not cut the next command short', SLOW_OK, async () => {
    const dialog = await authenticated(budgets, credential);
    await startData(dialog);
    dialog.write('From: app@example.com\r\nSubject: slow upload\r\n\r\n');
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      dialog.write('line\r\n');
    }
    queueIdOf(await dialog.send('.'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(await dialog.send('NOOP'), REPLY.noop);
  });
});
