import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseServerAddress, type ServerAddress, stubResolver } from '../src/dns/index.js';
import type { DnsResolver } from '../src/dns/resolver.js';
import { type WebhookClient, webhookClient } from '../src/inbound/webhook-client.js';
import { generateWebhookSecret, signatureHeaders, verifyWebhook } from '../src/inbound/webhook-signature.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { freePort } from './support/free-port.js';

interface Received {
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  verification: ReturnType<typeof verifyWebhook>;
}

const secret = generateWebhookSecret();
const USER_AGENT = 'Relaygate-test/1.0';

/** What an application might do at each path; the receiver checks every signature it gets. */
function startReceiver(cert: string, key: string, received: Received[]): Promise<Server> {
  const server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verification = verifyWebhook(secret, req.headers, body, { nowSec: Math.floor(Date.now() / 1000) });
      received.push({ path: req.url ?? '', method: req.method ?? '', headers: req.headers, body, verification });
      if (req.url === '/hang') return; // never answers: the client's deadline must end it
      if (req.url === '/stall') return void res.writeHead(200).write('partial'); // headers, then the body never ends
      if (req.url === '/fail') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('database is down');
      if (req.url === '/big') return void res.writeHead(200).end(`${'é'.repeat(1023)}${'x'.repeat(10_000)}`);
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
      res.writeHead(verification.ok ? 204 : 401).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('webhook client against a real HTTPS receiver on 127.0.0.1', () => {
  let ca: TestCa;
  let receiver: Server;
  let port: number;
  let dns: TestDnsServer;
  let resolver: DnsResolver;
  let client: WebhookClient;
  const received: Received[] = [];
  const clients: WebhookClient[] = [];
  const clientWith = (options: { allowPrivate: boolean; ca?: string }) => {
    const made = webhookClient({ resolver, userAgent: USER_AGENT, ...options });
    clients.push(made);
    return made;
  };
  const signedPost = (target: WebhookClient, url: string, timeoutMs = 5000) => {
    const body = JSON.stringify({ type: 'message.received', id: 'evt_1' });
    const headers = signatureHeaders([secret], 'evt_1', Math.floor(Date.now() / 1000), body);
    return target.post({ url, body, headers, timeoutMs });
  };

  before(async () => {
    ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['hooks.test']);
    receiver = await startReceiver(leaf.chain, leaf.key, received);
    port = (receiver.address() as AddressInfo).port;
    dns = await startDnsServer({ 'hooks.test': { a: ['127.0.0.1'] }, 'inside.test': { a: ['127.0.0.1'] } });
    resolver = stubResolver({ servers: [parseServerAddress(dns.address) as ServerAddress], timeoutMs: 1000 });
    client = clientWith({ allowPrivate: true, ca: ca.caCert });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await dns.stop();
  });

  test('204: a signed JSON POST that the receiver verifies', async () => {
    const answer = await signedPost(client, `https://127.0.0.1:${port}/ok`);
    assert.equal(answer.kind, 'answered');
    assert.deepEqual({ ...answer, ms: 0 }, { kind: 'answered', status: 204, body: '', ms: 0 });
    const seen = received.at(-1);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.headers['content-type'], 'application/json');
    assert.equal(seen?.headers['user-agent'], USER_AGENT);
    assert.deepEqual(seen?.verification, { ok: true });
  });

  test('a name is dialled at the address the guard checked, without another lookup', async () => {
    const before = dns.queries.length;
    const answer = await signedPost(client, `https://hooks.test:${port}/ok`);
    assert.equal(answer.kind === 'answered' && answer.status, 204, JSON.stringify(answer));
    // Two queries, A and AAAA, by the guard; the connection took its address from them.
    assert.deepEqual(
      dns.queries
        .slice(before)
        .map((q) => `${q.name} ${q.type}`)
        .sort(),
      ['hooks.test A', 'hooks.test AAAA'],
    );
  });

  test('500: the status and the start of the body are the answer', async () => {
    const answer = await signedPost(client, `https://127.0.0.1:${port}/fail`);
    assert.deepEqual({ ...answer, ms: 0 }, { kind: 'answered', status: 500, body: 'database is down', ms: 0 });
  });

  test('a long body is cut to 2 KiB, never mid-character', async () => {
    const answer = await signedPost(client, `https://127.0.0.1:${port}/big`);
    assert.equal(answer.kind, 'answered');
    // 1023 two-byte characters fill 2046 bytes; 2 more bytes are 'xx'.
    if (answer.kind === 'answered') assert.equal(answer.body, `${'é'.repeat(1023)}xx`);
  });

  test('3xx is an answer: the redirect is not followed', async () => {
    const before = received.length;
    const answer = await signedPost(client, `https://127.0.0.1:${port}/redirect`);
    assert.equal(answer.kind === 'answered' && answer.status, 302);
    assert.deepEqual(
      received.slice(before).map((r) => r.path),
      ['/redirect'],
    );
  });

  test('a receiver that hangs past the deadline is a timeout', async () => {
    const answer = await signedPost(client, `https://127.0.0.1:${port}/hang`, 300);
    assert.equal(answer.kind, 'timeout', JSON.stringify(answer));
    if (answer.kind === 'timeout') assert.ok(answer.ms >= 290 && answer.ms < 3000, `took ${answer.ms} ms`);
  });

  test('a body that stalls past the deadline is a timeout too: the exchange never completed', async () => {
    const answer = await signedPost(client, `https://127.0.0.1:${port}/stall`, 300);
    assert.equal(answer.kind, 'timeout', JSON.stringify(answer));
  });

  test('connection refused is a failure with its reason', async () => {
    const closedPort = await freePort();
    const answer = await signedPost(client, `https://127.0.0.1:${closedPort}/ok`);
    assert.equal(answer.kind, 'failed');
    if (answer.kind === 'failed') assert.match(answer.detail, /ECONNREFUSED/);
  });

  test('a certificate from a CA we were not given is a TLS failure', async () => {
    const untrusting = clientWith({ allowPrivate: true });
    const before = received.length;
    const answer = await signedPost(untrusting, `https://127.0.0.1:${port}/ok`);
    assert.equal(answer.kind, 'failed');
    if (answer.kind === 'failed') assert.match(answer.detail, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
    assert.equal(received.length, before);
  });

  test('without allowPrivate, loopback is refused before any connection, by literal or by name', async () => {
    const PRIVATE_HINT = 'a webhook must be on a public address (inbound.allowPrivateWebhooks allows private ones, for tests and closed networks)';
    const strict = clientWith({ allowPrivate: false, ca: ca.caCert });
    const before = received.length;
    assert.deepEqual(await signedPost(strict, `https://127.0.0.1:${port}/ok`), {
      kind: 'refused-destination',
      problem: `127.0.0.1 is loopback (127.0.0.0/8); ${PRIVATE_HINT}`,
    });
    assert.deepEqual(await signedPost(strict, `https://inside.test:${port}/ok`), {
      kind: 'refused-destination',
      problem: `inside.test resolves to 127.0.0.1 is loopback (127.0.0.0/8); ${PRIVATE_HINT}`,
    });
    assert.deepEqual(await signedPost(strict, `http://127.0.0.1:${port}/ok`), {
      kind: 'refused-destination',
      problem: 'the scheme must be https, not http (http only with inbound.allowPrivateWebhooks, for tests and closed networks)',
    });
    assert.equal(received.length, before);
  });

  test('after close, a post is a failure, not an exception', async () => {
    const closing = clientWith({ allowPrivate: true, ca: ca.caCert });
    await closing.close();
    const answer = await signedPost(closing, `https://127.0.0.1:${port}/ok`);
    assert.equal(answer.kind, 'failed');
  });
});
