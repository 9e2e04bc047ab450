/**
 * Proves the private-Postfix harness (test/support/postfix.ts) against a fake gateway: an
 * smtp-server that offers STARTTLS with a 'localhost' certificate from a throwaway CA and
 * requires AUTH PLAIN/LOGIN. The two cases run concurrently, which also proves that two
 * instances can run side by side.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { needsPeer } from './support/peers.js';
import { type PostfixRelay, postfixUnavailable, startPostfixRelay } from './support/postfix.js';
import { tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const USER = 'org-example';
const PASS = 'correct horse battery staple';
// Each case, not the suite, carries the reason, so the runner counts them as skipped.
const NEEDS_POSTFIX = needsPeer(postfixUnavailable());

interface Received {
  mailFrom: string;
  rcptTo: string[];
  raw: string;
  secure: boolean;
  user: unknown;
}

interface FakeGateway {
  port: number;
  caCertPem: string;
  received: Received[];
  authAttempts: { username: string; ok: boolean; secure: boolean }[];
  close(): Promise<void>;
}

async function startFakeGateway(): Promise<FakeGateway> {
  const ca = await makeTestCa();
  const leaf = await makeLeafCert(ca, ['localhost']);
  const received: Received[] = [];
  const authAttempts: FakeGateway['authAttempts'] = [];
  const server = new SMTPServer({
    secure: false,
    key: leaf.key,
    cert: leaf.chain,
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, session, callback) {
      const ok = auth.username === USER && auth.password === PASS;
      authAttempts.push({ username: auth.username ?? '', ok, secure: session.secure });
      if (ok) callback(null, { user: auth.username });
      else callback(new Error('authentication failed'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: session.user,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // Postfix hangs up abruptly at times (e.g. after a failed AUTH); that is not a test failure.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return { port, caCertPem: ca.caCert, received, authAttempts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Submits to Postfix the way an application on the organisation's network would: plain SMTP, no auth. */
async function submitTo(relay: PostfixRelay, raw: string): Promise<void> {
  const transport = createTransport({ host: '127.0.0.1', port: relay.port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from: 'app@org.test', to: ['customer@example.net'] }, raw });
    assert.match(info.response, /^250 /);
  } finally {
    transport.close();
  }
}

function message(token: string): string {
  return [
    'From: App <app@org.test>',
    'To: customer@example.net',
    `Subject: harness ${token}`,
    'Date: Fri, 21 Nov 2025 10:00:00 +0000',
    `Message-ID: <${token}@org.test>`,
    '',
    `Body ${token}`,
    '.a line that starts with a dot (dot-stuffed on both hops)',
    '',
    'Last line.',
    '',
  ].join('\r\n');
}

/** Runs a case against its own gateway and Postfix instance, and tears both down whatever happens. */
async function withRelay(
  overrides: { password?: string; tlsServerName?: string },
  body: (relay: PostfixRelay, gateway: FakeGateway) => Promise<void>,
): Promise<void> {
  const dir = await tempDir('relaygate-postfix-');
  const gateway = await startFakeGateway();
  let relay: PostfixRelay | undefined;
  try {
    relay = await startPostfixRelay({
      relayHost: '127.0.0.1',
      relayPort: gateway.port,
      username: USER,
      password: PASS,
      caCertPem: gateway.caCertPem,
      dir: dir.path,
      ...overrides,
    });
    await body(relay, gateway);
  } catch (err) {
    if (relay) console.log(`--- postfix maillog ---\n${relay.maillog()}`);
    throw err;
  } finally {
    await relay?.stop();
    await gateway.close();
    await dir.cleanup();
  }
}

describe('private Postfix relay harness', { concurrency: true }, () => {
  test('relays over verified STARTTLS with AUTH, body intact, queue empty after', NEEDS_POSTFIX, async () => {
    await withRelay({}, async (relay, gateway) => {
      const token = randomUUID();
      const raw = message(token);
      await submitTo(relay, raw);

      const [got] = await waitFor(() => (gateway.received.length > 0 ? gateway.received : undefined), { what: 'the gateway to receive the message' });
      assert.equal(gateway.received.length, 1);
      assert.equal(got?.secure, true, 'delivered inside TLS');
      assert.equal(got?.user, USER, 'authenticated as the organisation credential');
      assert.equal(got?.mailFrom, 'app@org.test');
      assert.deepEqual(got?.rcptTo, ['customer@example.net']);
      // Postfix prepends its Received header and must leave every byte after it alone.
      assert.match(got?.raw ?? '', /^Received: from /);
      assert.ok(got?.raw.endsWith(raw), `body altered in transit:\n${got?.raw}`);
      assert.deepEqual(
        gateway.authAttempts.map((attempt) => attempt.secure),
        [true],
        'AUTH only after STARTTLS',
      );

      await waitFor(() => relay.queueEmpty(), { what: 'the Postfix queue to drain' });
      assert.match(relay.maillog(), /Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
      assert.match(relay.maillog(), /status=sent \(250 /);
    });
  });

  test('a wrong password leaves the message deferred in the queue and logs the 535', NEEDS_POSTFIX, async () => {
    await withRelay({ password: 'wrong password' }, async (relay, gateway) => {
      await submitTo(relay, message(randomUUID()));

      await waitFor(() => /status=deferred \(SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535/.test(relay.maillog()), {
        what: 'a deferral for the 535 in the maillog',
      });
      const [entry, ...others] = await relay.queue();
      assert.equal(others.length, 0);
      assert.equal(entry?.queue_name, 'deferred');
      assert.match(entry?.recipients[0]?.delay_reason ?? '', /535/);

      // flush() makes Postfix try again at once: another refused AUTH, still nothing delivered.
      const attempts = gateway.authAttempts.length;
      await relay.flush();
      await waitFor(() => gateway.authAttempts.length > attempts, { what: 'a retry after flush' });
      assert.ok(
        gateway.authAttempts.every((attempt) => attempt.username === USER && !attempt.ok && attempt.secure),
        JSON.stringify(gateway.authAttempts),
      );
      assert.equal(gateway.received.length, 0);
      assert.equal(await relay.queueEmpty(), false);
    });
  });

  test('a certificate without the expected name is refused: deferred, no AUTH sent', NEEDS_POSTFIX, async () => {
    // The gateway's certificate names 'localhost'; the organisation expects another name.
    await withRelay({ tlsServerName: 'gateway.org.test' }, async (relay, gateway) => {
      await submitTo(relay, message(randomUUID()));

      await waitFor(() => /status=deferred \(Server certificate not verified\)/.test(relay.maillog()), { what: 'a deferral for the certificate' });
      assert.match(relay.maillog(), /server certificate verification failed for 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: num=62:hostname mismatch/);
      assert.equal((await relay.queue())[0]?.queue_name, 'deferred');
      assert.deepEqual(gateway.authAttempts, [], 'the credential never goes to an unverified server');
      assert.equal(gateway.received.length, 0);
    });
  });
});
