/**
 * No single client takes every slot (issue 18, point 9): smtp.maxConnectionsPerIp caps the
 * sessions one address holds across both listeners, so 200 idle connections from one address
 * leave room for everybody else; both connection refusals carry an enhanced status code.
 * Real sockets: the idle clients are raw TCP sockets bound to 127.0.0.2, the real client
 * speaks SMTP from 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, afterEach, describe, test } from 'node:test';
import { clientGroupOf } from '../src/smtp/connections-per-address.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { scrape } from './support/metrics-scrape.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 120_000 };
const QUEUED = /^250 2\.0\.0 Ok: queued as [0-9A-Z]{26}$/;
const PER_ADDRESS_REFUSAL = '421 4.7.0 Too many connections from your address, try again later';

interface IdleClient {
  socket: Socket;
  /** The first line the gateway sent. */
  firstLine: Promise<string>;
  closed: Promise<void>;
}

const clients = new Set<IdleClient>();
const dialogs = new Set<SmtpDialog>();
const gateways: TestGateway[] = [];

afterEach(() => {
  for (const dialog of dialogs) dialog.close();
  dialogs.clear();
  for (const client of clients) client.socket.destroy();
  clients.clear();
});
after(async () => {
  await Promise.all(gateways.map((gw) => gw.stop()));
});

async function gateway(settings: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ 'smtp.authFailuresPerIp': 1000, shutdownTimeout: '2s', ...settings });
  gateways.push(gw);
  return gw;
}

/** A TCP client from `localAddress` that reads the first line and then says nothing. */
function idleClient(port: number, localAddress: string): IdleClient {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  let received = '';
  const firstLine = new Promise<string>((resolve) => {
    socket.on('data', (data) => {
      received += data.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) resolve(received.slice(0, end));
    });
    socket.once('close', () => resolve(received));
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const client = { socket, firstLine, closed };
  clients.add(client);
  return client;
}

async function sendsMail(gw: TestGateway): Promise<void> {
  const credential = await gw.createCredential();
  const { dialog, greeting } = await openDialog(gw.gateway.ports.smtp);
  dialogs.add(dialog);
  assert.equal(greeting, '220 gateway.test ESMTP');
  assert.match(await dialog.ehlo('app.example.com'), /^250-gateway\.test /);
  await dialog.startTls();
  assert.match(await dialog.ehlo('app.example.com'), /^250-gateway\.test /);
  assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
  assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), '250 2.1.0 Accepted');
  assert.equal(await dialog.send('RCPT TO:<customer@example.net>'), '250 2.1.5 Accepted');
  assert.equal(await dialog.send('DATA'), '354 End data with <CR><LF>.<CR><LF>');
  dialog.write('From: app@example.com\r\nTo: customer@example.net\r\nSubject: past the idle crowd\r\n\r\nHello.\r\n');
  assert.match(await dialog.send('.'), QUEUED);
}

describe('connections per client address', () => {
  test(
    '200 idle connections from one address: the 21st on is told 421 4.7.0, another address is greeted and sends, a closed one frees its slot',
    SLOW_OK,
    async () => {
      const gw = await gateway();
      const port = gw.gateway.ports.smtp;
      const crowd: IdleClient[] = [];
      // One at a time, so that which ones are over the limit is known.
      for (let i = 0; i < 200; i++) {
        const client = idleClient(port, '127.0.0.2');
        await client.firstLine;
        crowd.push(client);
      }
      const lines = await Promise.all(crowd.map((c) => c.firstLine));
      assert.deepEqual(lines.slice(0, 20), Array(20).fill('220 gateway.test ESMTP'));
      assert.deepEqual(lines.slice(20), Array(180).fill(PER_ADDRESS_REFUSAL));
      await Promise.all(crowd.slice(20).map((c) => c.closed));

      await sendsMail(gw);

      // The limit is per client, not per port: the implicit TLS port has no slot for it either, and closes before the handshake.
      const overTls = idleClient(gw.gateway.ports.smtps, '127.0.0.2');
      await overTls.closed;

      for (const client of crowd.slice(0, 5)) client.socket.destroy();
      const back = await waitFor(
        async () => {
          const client = idleClient(port, '127.0.0.2');
          const line = await client.firstLine;
          client.socket.destroy();
          return line === '220 gateway.test ESMTP' ? line : undefined;
        },
        { what: 'a slot freed by closed connections' },
      );
      assert.equal(back, '220 gateway.test ESMTP');

      const metrics = await scrape(gw.gateway.ports.http);
      assert.ok(metrics.value('relaygate_smtp_refusals_total', { stage: 'connect', status: '421 4.7.0' }) >= 181);
      assert.ok(gw.logs.some((line) => line.includes('"event":"smtp.connect"') && line.includes('127.0.0.2') && line.includes('421 4.7.0')));
    },
  );

  test('smtp.maxConnectionsPerIp 0 turns the limit off', SLOW_OK, async () => {
    const gw = await gateway({ 'smtp.maxConnectionsPerIp': 0 });
    const crowd = Array.from({ length: 30 }, () => idleClient(gw.gateway.ports.smtp, '127.0.0.2'));
    assert.deepEqual(await Promise.all(crowd.map((c) => c.firstLine)), Array(30).fill('220 gateway.test ESMTP'));
  });

  test('a full listener (smtp.maxConnections) answers 421 4.7.0 with an enhanced code', SLOW_OK, async () => {
    const gw = await gateway({ 'smtp.maxConnections': 2, 'smtp.maxConnectionsPerIp': 0 });
    const first = idleClient(gw.gateway.ports.smtp, '127.0.0.1');
    const second = idleClient(gw.gateway.ports.smtp, '127.0.0.1');
    assert.equal(await first.firstLine, '220 gateway.test ESMTP');
    assert.equal(await second.firstLine, '220 gateway.test ESMTP');
    const third = idleClient(gw.gateway.ports.smtp, '127.0.0.3');
    assert.equal(await third.firstLine, '421 4.7.0 Too many connected clients, try again in a moment');
  });
});

describe('which connections count as one client', () => {
  const cases: [string, string, string][] = [
    ['an IPv4 address is its own client', '192.0.2.7', '192.0.2.7'],
    ['an IPv4-mapped IPv6 address is the IPv4 client', '::ffff:192.0.2.7', '192.0.2.7'],
    ['an IPv6 address counts with its /64', '2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['the same /64 written with leading zeros', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['a compressed prefix', '2001:db8::5', '2001:db8:0:0::/64'],
    ['loopback', '::1', '0:0:0:0::/64'],
  ];
  for (const [name, address, group] of cases) {
    test(name, () => assert.equal(clientGroupOf(address), group));
  }
});
