/**
 * Interop: Debian's Postfix as the organisation's mail server, relayhost = the gateway, SASL
 * AUTH with the domain's inbound credential, TLS required and verified. Skipped, with the
 * reason, where Postfix cannot run (not installed, not root).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { type PostfixRelay, postfixUnavailable, startPostfixRelay } from './support/postfix.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { type InboundPayload, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const POSTFIX_MISSING = postfixUnavailable();

describe('Postfix as the organisation mail server', () => {
  let gw: TestGateway | undefined;
  let postfix: PostfixRelay | undefined;
  let hook: WebhookReceiver | undefined;
  let dns: TestDnsServer | undefined;
  let dir: TempDir | undefined;
  let postfixDir: TempDir | undefined;
  let credentialId = '';

  before(async () => {
    if (POSTFIX_MISSING) return;
    dir = await tempDir('relaygate-postfix-');
    const ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['localhost']);
    const [certFile, keyFile, hookCa] = ['cert.pem', 'key.pem', 'hook-ca.pem'].map((f) => join(dir?.path ?? '', f)) as [string, string, string];
    hook = await startWebhookReceiver();
    await Promise.all([writeFile(certFile, leaf.chain), writeFile(keyFile, leaf.key), writeFile(hookCa, hook.caCert)]);
    dns = await startDnsServer();
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'tls.certFile': certFile,
      'tls.keyFile': keyFile,
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': hookCa,
    });
    const target = await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      return s.inboundTargets.set({ kind: 'webhook', url: hook?.url ?? '' }, HARNESS_ACTOR);
    });
    hook.secret = target.secret ?? '';
    const credential = await gw.createCredential('Postfix relay', { kind: 'inbound', domain: 'example.com' });
    credentialId = credential.id;
    // Its own temporary directory: the harness opens it to the postfix user, which must not see ours.
    postfixDir = await tempDir('relaygate-postfix-instance-');
    postfix = await startPostfixRelay({
      relayHost: '127.0.0.1',
      relayPort: gw.gateway.ports.smtp,
      username: credential.username,
      password: credential.secret,
      caCertPem: ca.caCert,
      dir: postfixDir.path,
    });
  });

  after(async () => {
    await postfix?.stop();
    await gw?.stop();
    await hook?.stop();
    await dns?.stop();
    await dir?.cleanup();
    await postfixDir?.cleanup();
  });

  test('mail handed to Postfix reaches the application webhook, authenticated over verified TLS', {
    ...needsPeer(POSTFIX_MISSING),
    timeout: 60_000,
  }, async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: postfix?.port ?? 0, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({
        envelope: { from: 'customer@customer.example', to: ['support@example.com'] },
        raw: 'From: customer@customer.example\r\nTo: support@example.com\r\nSubject: Through Postfix\r\nMessage-ID: <pf@customer.example>\r\n\r\nHello from Postfix.\r\n',
      });
    } finally {
      transport.close();
    }
    const [request] = (await hook?.waitForRequests(1, 40_000)) ?? [];
    assert.deepEqual(request?.signature, { ok: true });
    const p = request?.payload ?? ({} as InboundPayload);
    assert.equal(p.subject, 'Through Postfix');
    assert.equal(p.authenticated, true);
    assert.equal(p.relay.credentialId, credentialId);
    assert.match(p.relay.tlsVersion, /^TLSv1\.[23]$/);
    assert.ok(
      p.headers.some((h) => h.name === 'Received' && /Postfix/.test(h.value)),
      'Postfix’s own trace is kept',
    );
    assert.match(postfix?.maillog() ?? '', /Verified TLS connection established to \S+127\.0\.0\.1\]:\d+/);
    assert.ok(await postfix?.queueEmpty());
  });

  // The operator guide shows these settings; they must be the ones this test ran with.
  test('docs/guides/postfix-inbound-relay.md shows the main.cf lines this test runs', needsPeer(POSTFIX_MISSING), async () => {
    const guide = await readFile(new URL('../docs/guides/postfix-inbound-relay.md', import.meta.url), 'utf8');
    const block = /```main\.cf\n([\s\S]*?)```/.exec(guide)?.[1] ?? '';
    const lines = block.split('\n').filter((line) => line.includes(' = '));
    assert.ok(lines.length >= 8, 'the guide has its main.cf block');
    for (const line of lines) {
      const [name = '', shown = ''] = line.split(' = ');
      const running = (await postfix?.setting(name)) ?? '';
      // <placeholders> stand for this machine's host, port and files.
      const pattern = new RegExp(
        `^${shown
          .split(/<[^>]+>/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.+')}$`,
      );
      assert.match(running, pattern, `${name}: the guide says "${shown}", Postfix runs "${running}"`);
    }
  });
});
