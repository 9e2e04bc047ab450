/**
 * TLS handshakes that never finish (issue 19, point 6): a handshake, on the implicit TLS
 * port or after STARTTLS, has a fixed deadline that trickled bytes do not extend, and
 * handshakes stalled by the thousand do not keep a real client from being greeted and
 * sending. Real sockets: the stalled clients are raw TCP sockets that send nothing or the
 * first bytes of a real ClientHello; the real client is a TLS client.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { after, afterEach, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { scrape } from './support/metrics-scrape.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 180_000 };
const QUEUED = /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/;

const sockets = new Set<Socket>();
const dialogs = new Set<SmtpDialog>();
const gateways: TestGateway[] = [];

afterEach(() => {
  for (const dialog of dialogs) dialog.close();
  dialogs.clear();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});
after(async () => {
  await Promise.all(gateways.map((gw) => gw.stop()));
});

async function gateway(settings: Record<string, unknown>): Promise<TestGateway> {
  // Every stalled client here comes from 127.0.0.1: the per-address limit (smtp-connection-limits.test.ts) is not what is tested.
  const gw = await startTestGateway({ 'smtp.authFailuresPerIp': 1000, 'smtp.maxConnectionsPerIp': 0, shutdownTimeout: '2s', ...settings });
  gateways.push(gw);
  return gw;
}

/** TCP connections the implicit TLS listener holds now, as /metrics reports them. */
async function openOnSmtps(gw: TestGateway): Promise<number> {
  return (await scrape(gw.gateway.ports.http)).value('relaygate_smtp_sessions_open', { listener: 'smtps' });
}

/** The first flight of a real TLS client, caught by a TCP server that answers nothing. */
async function clientHello(): Promise<Buffer> {
  const server = createServer();
  const caught = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) => {
      socket.once('data', (data) => {
        resolve(data);
        socket.destroy();
      });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, rejectUnauthorized: false });
  client.on('error', () => {});
  try {
    return await caught;
  } finally {
    client.destroy();
    server.close();
  }
}

interface RawClient {
  socket: Socket;
  closed: Promise<void>;
  isClosed(): boolean;
  /** The next CRLF-terminated line from the server. */
  line(): Promise<string>;
}

async function raw(port: number): Promise<RawClient> {
  const socket = netConnect({ host: '127.0.0.1', port });
  sockets.add(socket);
  socket.on('error', () => {});
  let closed = false;
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  let text = '';
  let waiting: ((line: string) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    const eol = text.indexOf('\r\n');
    if (eol !== -1 && waiting) {
      const line = text.slice(0, eol);
      text = text.slice(eol + 2);
      const resolve = waiting;
      waiting = undefined;
      resolve(line);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    closed: closedPromise,
    isClosed: () => closed,
    line: () =>
      new Promise((resolve, reject) => {
        const eol = text.indexOf('\r\n');
        if (eol !== -1) {
          const line = text.slice(0, eol);
          text = text.slice(eol + 2);
          return resolve(line);
        }
        if (closed) return reject(new Error('closed'));
        waiting = resolve;
        void closedPromise.then(() => reject(new Error(`closed before a line; received ${JSON.stringify(text)}`)));
      }),
  };
}

/** Greeting, EHLO (its reply read to the end), STARTTLS; undefined when the listener was full. */
async function startTlsRaw(port: number): Promise<RawClient | undefined> {
  const client = await raw(port);
  const greeting = await client.line();
  if (greeting.startsWith('421 ')) return undefined;
  assert.equal(greeting, '220 gateway.test ESMTP');
  client.socket.write('EHLO stalled.example\r\n');
  for (let line = await client.line(); !line.startsWith('250 '); line = await client.line());
  client.socket.write('STARTTLS\r\n');
  assert.equal(await client.line(), '220 2.0.0 Ready to start TLS');
  return client;
}

/** Writes `bytes` one every 200 ms until they run out or the socket closes: each byte resets an idle timer. */
function trickle(client: RawClient, bytes: Buffer): void {
  let i = 0;
  const timer = setInterval(() => {
    if (client.isClosed() || i >= bytes.length) return clearInterval(timer);
    client.socket.write(bytes.subarray(i, ++i));
  }, 200);
}

/** Resolves when the gateway has closed the socket, or fails after `ms` (far above the deadline under test). */
function closedWithin(client: RawClient, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
  });
  return Promise.race([client.closed, late]).finally(() => clearTimeout(timer));
}

/** A real client sends one message through `port`, on implicit TLS or with STARTTLS. */
async function sendsMail(gw: TestGateway, implicitTls: boolean): Promise<void> {
  const credential = await gw.createCredential();
  const port = implicitTls ? gw.gateway.ports.smtps : gw.gateway.ports.smtp;
  const { dialog, greeting } = await openDialog(port, { implicitTls });
  dialogs.add(dialog);
  assert.equal(greeting, '220 gateway.test ESMTP');
  assert.match(await dialog.ehlo('app.example.com'), /^250-gateway\.test /);
  if (!implicitTls) {
    await dialog.startTls();
    assert.match(await dialog.ehlo('app.example.com'), /^250-gateway\.test /);
  }
  assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
  assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), '250 2.1.0 Accepted');
  assert.equal(await dialog.send('RCPT TO:<customer@example.net>'), '250 2.1.5 Accepted');
  assert.equal(await dialog.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  dialog.write('From: app@example.com\r\nTo: customer@example.net\r\nSubject: past the stalled handshakes\r\n\r\nHello.\r\n');
  assert.match(await dialog.send('.'), QUEUED);
}

describe('TLS handshake deadline', () => {
  // The idle and command timers are long, so only the 1 s handshake deadline can close these.
  // The bound on each wait is 30 s: it tells a missing deadline (5 min idle) from a present one.
  test('a handshake not completed within smtp.tlsHandshakeTimeout is closed, silent or trickling, implicit TLS or STARTTLS', SLOW_OK, async () => {
    const gw = await gateway({ 'smtp.tlsHandshakeTimeout': '1s', 'smtp.idleTimeout': '5m', 'smtp.commandTimeout': '5m' });
    const hello = await clientHello();
    const silent = await raw(gw.gateway.ports.smtps);
    const trickling = await raw(gw.gateway.ports.smtps);
    trickle(trickling, hello);
    const afterStartTls = await startTlsRaw(gw.gateway.ports.smtp);
    assert.ok(afterStartTls);
    trickle(afterStartTls, hello);
    const silentAfterStartTls = await startTlsRaw(gw.gateway.ports.smtp);
    assert.ok(silentAfterStartTls);
    await Promise.all([
      closedWithin(silent, 30_000, 'silent client on the implicit TLS port'),
      closedWithin(trickling, 30_000, 'ClientHello trickled on the implicit TLS port'),
      closedWithin(afterStartTls, 30_000, 'ClientHello trickled after STARTTLS'),
      closedWithin(silentAfterStartTls, 30_000, 'silent client after STARTTLS'),
    ]);
    await waitFor(async () => (await openOnSmtps(gw)) === 0, { what: 'the implicit TLS listener to hold no socket' });
    await sendsMail(gw, true);
  });
});

describe('stalled handshakes and the connection limit', () => {
  // 1,000 handshakes stalled at once fill the implicit TLS listener's whole pool
  // (smtp.maxConnections, 1,000 by default), half silent, half stopped inside their
  // ClientHello, with a deadline far beyond the test: only the pool yielding its oldest
  // handshake can let the real client in.
  test('1,000 stalled handshakes on the implicit TLS port do not keep a real client from being greeted and sending', SLOW_OK, async () => {
    const gw = await gateway({ 'smtp.tlsHandshakeTimeout': '10m', 'smtp.idleTimeout': '10m' });
    const partial = (await clientHello()).subarray(0, 40);
    const stalled: RawClient[] = [];
    for (let i = 0; i < 1000; i++) {
      const client = await raw(gw.gateway.ports.smtps);
      if (i % 2 === 1) client.socket.write(partial);
      stalled.push(client);
    }
    await waitFor(async () => (await openOnSmtps(gw)) >= 1000, { what: 'the gateway to hold the 1,000 stalled handshakes', timeoutMs: 60_000 });
    assert.equal(stalled.filter((c) => c.isClosed()).length, 0, 'none was turned away before the pool was full');
    await sendsMail(gw, true);
    // The real client took the slot of the oldest stalled handshake, no other.
    await waitFor(() => stalled[0]?.isClosed() === true, { what: 'the oldest stalled handshake to be dropped' });
    assert.equal(stalled.filter((c) => c.isClosed()).length, 1);
  });

  // After STARTTLS a stalled handshake holds a session slot. A full listener (20 here) ends
  // its oldest handshake in progress to greet a new client, so 40 stalled ones leave room.
  test('sessions stalled in their STARTTLS handshake give their slots to new clients', SLOW_OK, async () => {
    const gw = await gateway({ 'smtp.maxConnections': 20, 'smtp.tlsHandshakeTimeout': '10m', 'smtp.idleTimeout': '10m', 'smtp.commandTimeout': '10m' });
    const partial = (await clientHello()).subarray(0, 40);
    for (let i = 0; i < 40; i++) {
      const client = await startTlsRaw(gw.gateway.ports.smtp);
      assert.ok(client, `stalled client ${i + 1} was greeted`);
      if (i % 2 === 1) client.socket.write(partial);
    }
    await sendsMail(gw, false);
  });
});
