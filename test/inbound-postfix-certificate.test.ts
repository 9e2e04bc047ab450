/**
 * Interop: Debian's Postfix as an "Exchange-like" organisation server, which cannot AUTH:
 * relayhost = the gateway's relay port, TLS required and verified, a client certificate
 * (smtp_tls_cert_file) and no SASL. The certificate for the credential's name relays; one for
 * another name, or none, is refused at RCPT and never relayed. Skipped, with the reason, where
 * Postfix cannot run (not installed, not root).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { type PostfixRelay, postfixUnavailable, startPostfixRelay } from './support/postfix.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const POSTFIX_MISSING = postfixUnavailable();
const SLOW_OK = { ...needsPeer(POSTFIX_MISSING), timeout: 90_000 };

describe('Postfix relaying to the relay port with a client certificate and no SASL', () => {
  let gw: TestGateway | undefined;
  let hook: WebhookReceiver | undefined;
  let dns: TestDnsServer | undefined;
  let dir: TempDir | undefined;
  let gatewayCa: TestCa;
  let orgCa: TestCa;
  let credentialId = '';
  const instances: { postfix: PostfixRelay; dir: TempDir }[] = [];

  before(async () => {
    if (POSTFIX_MISSING) return;
    dir = await tempDir('relaygate-postfix-cert-');
    [gatewayCa, orgCa] = await Promise.all([makeTestCa(), makeTestCa()]);
    const leaf = await makeLeafCert(gatewayCa, ['localhost']);
    hook = await startWebhookReceiver();
    const path = (file: string) => join(dir?.path ?? '', file);
    await Promise.all([
      writeFile(path('cert.pem'), leaf.chain),
      writeFile(path('key.pem'), leaf.key),
      writeFile(path('hook-ca.pem'), hook.caCert),
      writeFile(path('client-ca.pem'), orgCa.caCert),
    ]);
    dns = await startDnsServer();
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'tls.certFile': path('cert.pem'),
      'tls.keyFile': path('key.pem'),
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': path('hook-ca.pem'),
      'inbound.clientCa': path('client-ca.pem'),
    });
    const target = await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      return s.inboundTargets.set({ kind: 'webhook', url: hook?.url ?? '' }, HARNESS_ACTOR);
    });
    hook.secret = target.secret ?? '';
    credentialId = (await gw.createCredential('Exchange Online connector', { kind: 'inbound', domain: 'example.com', tlsClientName: 'mail.example.com' })).id;
  });

  after(async () => {
    for (const { postfix, dir } of instances) {
      await postfix.stop();
      await dir.cleanup();
    }
    await gw?.stop();
    await hook?.stop();
    await dns?.stop();
    await dir?.cleanup();
  });

  /** A Postfix instance relaying to the relay port, with a client certificate for these names or none. */
  async function exchangeLike(certificateNames: string[] | undefined): Promise<PostfixRelay> {
    const instanceDir = await tempDir('relaygate-postfix-instance-');
    const leaf = certificateNames ? await makeLeafCert(orgCa, certificateNames) : undefined;
    const postfix = await startPostfixRelay({
      relayHost: '127.0.0.1',
      relayPort: gw?.gateway.ports.relay ?? 0,
      caCertPem: gatewayCa.caCert,
      ...(leaf ? { clientCertificate: { certPem: leaf.chain, keyPem: leaf.key } } : {}),
      dir: instanceDir.path,
    });
    instances.push({ postfix, dir: instanceDir });
    return postfix;
  }

  async function handTo(postfix: PostfixRelay, subject: string): Promise<void> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: postfix.port, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({
        envelope: { from: 'customer@customer.example', to: ['support@example.com'] },
        raw: `From: customer@customer.example\r\nTo: support@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replaceAll(' ', '-')}@customer.example>\r\n\r\nHello.\r\n`,
      });
    } finally {
      transport.close();
    }
  }

  /** The line Postfix logs when the gateway refused the message for good. */
  async function bounced(postfix: PostfixRelay): Promise<string> {
    return waitFor(() => /^.*to=<support@example\.com>.*status=bounced.*$/m.exec(postfix.maillog())?.[0], {
      what: 'Postfix to log the bounce',
      timeoutMs: 60_000,
    });
  }

  test('the certificate for the credential name: accepted and delivered to the application, marked with the certificate', SLOW_OK, async () => {
    const postfix = await exchangeLike(['mail.example.com']);
    const before = hook?.requests.length ?? 0;
    await handTo(postfix, 'Right certificate');
    const [request] = ((await hook?.waitForRequests(before + 1, 60_000)) ?? []).slice(before);
    assert.equal(request?.payload.subject, 'Right certificate');
    assert.equal(request?.payload.authenticated, true);
    assert.equal(request?.payload.relay.credentialId, credentialId);
    assert.equal(request?.payload.relay.clientCertificate?.name, 'mail.example.com');
    assert.match(request?.payload.relay.clientCertificate?.spkiSha256 ?? '', /^[A-Za-z0-9+/]{43}=$/);
    assert.match(postfix.maillog(), /Verified TLS connection established to \S+127\.0\.0\.1\]:\d+/);
    assert.doesNotMatch(postfix.maillog(), /SASL/);
    await waitFor(() => postfix.queueEmpty(), { what: 'the Postfix queue to empty' });
  });

  test('a certificate for another name: refused with 550 5.7.1 at RCPT, never relayed', SLOW_OK, async () => {
    const postfix = await exchangeLike(['mail.example.net']);
    const before = hook?.requests.length ?? 0;
    await handTo(postfix, 'Wrong certificate');
    const line = await bounced(postfix);
    assert.match(
      line,
      /said: 550 5\.7\.1 Relaying denied: client certificate not accepted: no inbound credential names mail\.example\.net \(in reply to RCPT TO command\)/,
    );
    assert.equal(hook?.requests.length, before);
  });

  test('no certificate: refused with 530 5.7.0 at RCPT, never relayed', SLOW_OK, async () => {
    const postfix = await exchangeLike(undefined);
    const before = hook?.requests.length ?? 0;
    await handTo(postfix, 'No certificate');
    const line = await bounced(postfix);
    assert.match(
      line,
      /said: 530 5\.7\.0 Authentication required: present a client certificate in STARTTLS, or AUTH with an inbound credential \(in reply to RCPT TO command\)/,
    );
    assert.equal(hook?.requests.length, before);
  });
});
