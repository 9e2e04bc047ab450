/**
 * Delivery timeouts are settings (issue 18, point 9): a next hop that stalls before its
 * greeting is a connection problem, one that never answers the final dot is recorded as such,
 * because it may have taken the message (RFC 5321 §6.1, §4.5.3.2.6). The next hop is a real
 * TCP server speaking just enough SMTP, which stalls where the test says.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { FINAL_DOT_TIMEOUT } from '../src/delivery/classify-failure.js';
import { mxSession } from '../src/delivery/mx-session.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { scrape } from './support/metrics-scrape.js';
import { applicationMessage, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 120_000 };

type StallAt = 'greeting' | 'final-dot';

interface StallingHop {
  port: number;
  /** Messages whose final dot arrived (and got no reply). */
  finalDots: number;
  stop(): Promise<void>;
}

/** A plaintext SMTP server that answers every command but stays silent at `stallAt`. */
async function stallingHop(stallAt: StallAt): Promise<StallingHop> {
  const sockets = new Set<Socket>();
  const hop = { port: 0, finalDots: 0, stop: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    if (stallAt === 'greeting') return;
    socket.write('220 stall.test ESMTP\r\n');
    let buffered = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffered.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffered = buffered.slice(end + 5);
          inData = false;
          hop.finalDots++;
          continue; // no reply: the stall under test
        }
        const eol = buffered.indexOf('\r\n');
        if (eol < 0) return;
        const verb = buffered.slice(0, 4).toUpperCase();
        buffered = buffered.slice(eol + 2);
        if (verb === 'EHLO') socket.write('250-stall.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else socket.write('250 2.0.0 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hop.port = (server.address() as AddressInfo).port;
  hop.stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hop;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function gatewayBehind(stallAt: StallAt, settings: Record<string, unknown>): Promise<{ gw: TestGateway; hop: StallingHop; queueId: string }> {
  const hop = await stallingHop(stallAt);
  cleanups.push(hop.stop);
  const gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${hop.port}?tls=none`, 'queue.retryInitial': '1h', 'queue.retryMax': '1h', ...settings });
  cleanups.push(gw.stop);
  const credential = await gw.createCredential();
  const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
    from: 'support@example.com',
    to: ['customer@example.net'],
    raw: applicationMessage('stalled'),
  });
  return { gw, hop, queueId };
}

async function deferredReply(gw: TestGateway, queueId: string): Promise<string> {
  return waitFor(
    async () => {
      const queue = await gw.queue();
      try {
        const r = (await queue.show(queueId))?.recipients[0];
        return r?.status === 'deferred' ? (r.lastReply ?? '') : undefined;
      } finally {
        await queue.close();
      }
    },
    { what: `${queueId} deferred`, timeoutMs: 60_000 },
  );
}

describe('delivery timeouts', () => {
  test(
    'no reply to the final dot within delivery.dataTimeout: deferred as "timeout after the final dot", shown by queue show, counted apart',
    SLOW_OK,
    async () => {
      // A pooled smarthost connection has one idle timer, the longer of the two (smarthost.ts).
      const { gw, hop, queueId } = await gatewayBehind('final-dot', { 'delivery.commandTimeout': '1s', 'delivery.dataTimeout': '1s' });
      const reply = await deferredReply(gw, queueId);
      assert.ok(reply.startsWith(FINAL_DOT_TIMEOUT), reply);
      assert.equal(hop.finalDots, 1);

      const shown = await runCli(['queue', 'show', queueId], gatewayEnv(gw.dataDir));
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /customer@example\.net\s+deferred\s+1\s.*timeout after the final dot: the remote may have the message/);

      const metrics = await scrape(gw.gateway.ports.http);
      assert.equal(metrics.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'deferred', reason: 'final-dot-timeout' }), 1);
      assert.ok(gw.logs.some((line) => line.includes(queueId) && line.includes('"reason":"final-dot-timeout"')));
    },
  );

  test('no greeting within delivery.greetingTimeout: deferred as a connection problem', SLOW_OK, async () => {
    const { gw, queueId } = await gatewayBehind('greeting', { 'delivery.greetingTimeout': '1s' });
    const reply = await deferredReply(gw, queueId);
    assert.ok(!reply.startsWith(FINAL_DOT_TIMEOUT), reply);
    assert.match(reply, /greeting/i);
    const metrics = await scrape(gw.gateway.ports.http);
    assert.equal(metrics.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'deferred', reason: 'connection' }), 1);
  });
});

describe('MX session timeouts', () => {
  // Commands get 5 minutes here: only the switch to delivery.dataTimeout after the final dot can end the wait within the test.
  const timeouts = { connectMs: 30_000, greetingMs: 300_000, commandMs: 300_000, dataMs: 1_000 };
  const plan = {
    kind: 'connect' as const,
    policy: 'opportunistic' as const,
    tls: 'opportunistic' as const,
    tlsRequiredBy: null,
    authenticate: 'none' as const,
    authenticatedFor: null,
    enforce: false,
    requireTlsExtension: false,
    notes: [],
  };

  test('the reply to the final dot gets delivery.dataTimeout, not the command timeout, and its timeout is recorded as such', SLOW_OK, async () => {
    const hop = await stallingHop('final-dot');
    cleanups.push(hop.stop);
    const raw = 'From: support@example.com\r\nTo: customer@example.net\r\nSubject: stalled\r\n\r\nHello.\r\n';
    const message = {
      id: 'msg-final-dot',
      direction: 'outbound' as const,
      mailFrom: 'support@example.com',
      recipients: ['customer@example.net'],
      receivedAt: Date.now(),
      sizeBytes: raw.length,
      openBody: () => Readable.from([Buffer.from(raw)]),
    };
    const result = await mxSession(
      {
        host: 'mx.example.net',
        address: '127.0.0.1',
        port: hop.port,
        plan,
        tlsa: [],
        message,
        recipients: message.recipients,
        known: { override: null, tlsRequired: null, dnssec: { mx: 'insecure', tlsa: 'not-queried' }, mtaSts: null },
      },
      { heloName: 'gateway.test', ca: undefined, timeouts },
    );
    assert.equal(result.kind, 'sent');
    const outcome = result.kind === 'sent' ? result.outcomes.get('customer@example.net') : undefined;
    assert.equal(outcome?.kind, 'deferred');
    assert.equal(outcome?.kind === 'deferred' ? outcome.reason : undefined, 'final-dot-timeout');
    assert.ok(outcome?.reply.startsWith(FINAL_DOT_TIMEOUT), outcome?.reply);
    assert.equal(hop.finalDots, 1);
  });
});
