/**
 * The relay port (smtp.relayPort) over real TLS: an organisation's server that cannot AUTH
 * (an Exchange Online connector) relays with a client certificate valid for its inbound
 * credential's tls-client-name; without one, with an untrusted or expired one, or with one
 * for another name, nothing is relayed. AUTH still works there, for inbound credentials only.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SLOW_OK = { timeout: 60_000 };
const NO_CREDENTIAL = '530 5.7.0 Authentication required: present a client certificate in STARTTLS, or AUTH with an inbound credential';

describe('relay port: certificate-authenticated inbound credentials', () => {
  let gw: TestGateway;
  let hook: WebhookReceiver;
  let dns: TestDnsServer;
  let dir: TempDir;
  let orgCa: TestCa;
  let credentialId = '';

  before(async () => {
    dns = await startDnsServer();
    hook = await startWebhookReceiver();
    dir = await tempDir('relaygate-relay-port-');
    orgCa = await makeTestCa();
    const [hookCa, clientCa] = [join(dir.path, 'hook-ca.pem'), join(dir.path, 'client-ca.pem')];
    await Promise.all([writeFile(hookCa, hook.caCert), writeFile(clientCa, orgCa.caCert)]);
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': hookCa,
      'inbound.clientCa': clientCa,
    });
    hook.secret =
      (
        await gw.services(async (s) => {
          await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
          await s.addresses.add({ address: 'sales@example.test', kind: 'support' }, HARNESS_ACTOR);
          return s.inboundTargets.set({ kind: 'webhook', url: hook.url }, HARNESS_ACTOR);
        })
      ).secret ?? '';
    credentialId = (await gw.createCredential('Exchange Online connector', { kind: 'inbound', domain: 'example.com', tlsClientName: 'mail.example.com' })).id;
  });

  after(async () => {
    await gw?.stop();
    await hook?.stop();
    await dns?.stop();
    await dir?.cleanup();
  });

  /** A session on the relay port after STARTTLS (with the client certificate, if any) and EHLO. */
  async function relaySession(certificate?: { cert: string; key: string }): Promise<SmtpDialog> {
    const { dialog } = await openDialog(gw.gateway.ports.relay);
    await dialog.ehlo('mail.example.com');
    await dialog.startTls(certificate ?? {});
    await dialog.ehlo('mail.example.com');
    return dialog;
  }

  test('a certificate for the credential name relays to its domain, and the webhook names the certificate', SLOW_OK, async () => {
    const leaf = await makeLeafCert(orgCa, ['mail.example.com']);
    const dialog = await relaySession(leaf);
    try {
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      assert.equal(
        await dialog.send('RCPT TO:<someone@elsewhere.example>'),
        '550 5.7.1 Relaying denied: <someone@elsewhere.example> is not in example.com, the domain of this credential',
        'no open relay',
      );
      assert.equal(
        await dialog.send('RCPT TO:<sales@example.test>'),
        '550 5.7.1 Relaying denied: <sales@example.test> is not in example.com, the domain of this credential',
      );
      assert.equal(await dialog.send('RCPT TO:<support@example.com>'), '250 2.1.5 Accepted');
      assert.match(await dialog.send('DATA'), /^354 /);
      const before = hook.requests.length;
      const reply = await dialog.send('From: customer@customer.example\r\nTo: support@example.com\r\nSubject: By certificate\r\n\r\nHello.\r\n.');
      assert.match(reply, /^250 2\.0\.0 /);
      const [request] = (await hook.waitForRequests(before + 1)).slice(before);
      assert.equal(request?.payload.authenticated, true);
      const spki = new X509Certificate(leaf.cert).publicKey.export({ type: 'spki', format: 'der' });
      assert.deepEqual(request?.payload.relay.clientCertificate, { name: 'mail.example.com', spkiSha256: createHash('sha256').update(spki).digest('base64') });
      assert.equal(request?.payload.relay.credentialId, credentialId);
      assert.equal(request?.payload.relay.domain, 'example.com');
    } finally {
      dialog.close();
    }
    const used = await waitFor(async () => {
      const c = await gw.services((s) => s.credentials.get(credentialId));
      return c.lastUsedAt !== null ? c : undefined;
    });
    assert.equal(used.lastUsedIp, '127.0.0.1');
  });

  test('a wildcard certificate is valid for the host it covers (RFC 6125 §6.4.3)', SLOW_OK, async () => {
    const dialog = await relaySession(await makeLeafCert(orgCa, ['*.example.com']));
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(await dialog.send('RCPT TO:<support@example.com>'), '250 2.1.5 Accepted');
    dialog.close();
  });

  test('no certificate and no AUTH: 530 5.7.0 at RCPT', SLOW_OK, async () => {
    const dialog = await relaySession();
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(await dialog.send('RCPT TO:<support@example.com>'), NO_CREDENTIAL);
    dialog.close();
  });

  test('a certificate for another name: 550 5.7.1, never relayed', SLOW_OK, async () => {
    const dialog = await relaySession(await makeLeafCert(orgCa, ['mail.example.net']));
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(
      await dialog.send('RCPT TO:<support@example.com>'),
      '550 5.7.1 Relaying denied: client certificate not accepted: no inbound credential names mail.example.net',
    );
    dialog.close();
  });

  test('a certificate from a CA that is not inbound.clientCa: 550 5.7.1 not trusted', SLOW_OK, async () => {
    const dialog = await relaySession(await makeLeafCert(await makeTestCa(), ['mail.example.com']));
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.match(await dialog.send('RCPT TO:<support@example.com>'), /^550 5\.7\.1 Relaying denied: client certificate not accepted: not trusted \([A-Z_]+\)$/);
    dialog.close();
  });

  test('an expired certificate: 550 5.7.1 not trusted (CERT_HAS_EXPIRED)', SLOW_OK, async () => {
    const day = 86_400_000;
    const expired = await makeLeafCert(orgCa, ['mail.example.com'], { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) });
    const dialog = await relaySession(expired);
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(
      await dialog.send('RCPT TO:<support@example.com>'),
      '550 5.7.1 Relaying denied: client certificate not accepted: not trusted (CERT_HAS_EXPIRED)',
    );
    dialog.close();
  });

  test('before STARTTLS nothing is taken: MAIL gets 530 5.7.0', SLOW_OK, async () => {
    const { dialog } = await openDialog(gw.gateway.ports.relay);
    const ehlo = await dialog.ehlo('mail.example.com');
    assert.match(ehlo, /STARTTLS/);
    assert.doesNotMatch(ehlo, /AUTH/);
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '530 5.7.0 Must issue a STARTTLS command first');
    dialog.close();
  });

  test('AUTH works there for inbound credentials; a submission credential relays nothing', SLOW_OK, async () => {
    const sasl = await gw.createCredential('Second relay', { kind: 'inbound', domain: 'example.test' });
    const submission = await gw.createCredential('An application');
    const inbound = await relaySession();
    assert.match(await inbound.authPlain(sasl.username, sasl.secret), /^235 /);
    assert.equal(await inbound.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(await inbound.send('RCPT TO:<sales@example.test>'), '250 2.1.5 Accepted');
    inbound.close();
    const app = await relaySession();
    assert.match(await app.authPlain(submission.username, submission.secret), /^235 /);
    assert.equal(await app.send('MAIL FROM:<app@example.com>'), '250 2.1.0 Accepted');
    assert.equal(
      await app.send('RCPT TO:<support@example.com>'),
      '550 5.7.1 Relaying denied: this port relays inbound mail for inbound credentials; submit with a submission credential on the submission port',
    );
    assert.equal(
      await app.send('RCPT TO:<someone@elsewhere.example>'),
      '550 5.7.1 Relaying denied: this port relays inbound mail for inbound credentials; submit with a submission credential on the submission port',
    );
    app.close();
    await gw.revokeCredential(sasl.id);
  });

  test('a certificate credential has no secret: its username gets 535 at AUTH', SLOW_OK, async () => {
    const { username } = await gw.services((s) => s.credentials.get(credentialId));
    const dialog = await relaySession();
    assert.match(await dialog.authPlain(username, ''), /^535 5\.7\.8 /);
    dialog.close();
  });

  test('the API and the directory check the name: a host name, inbound only; the secret is null', SLOW_OK, async () => {
    const token = await gw.createApiToken();
    const wildcard = await gw.api('/api/v1/credentials', {
      method: 'POST',
      token,
      body: { kind: 'inbound', domain: 'example.test', description: 'x', tlsClientName: '*.example.test' },
    });
    assert.equal(wildcard.status, 422, wildcard.text);
    assert.match(wildcard.text, /tlsClientName/);
    const submission = await gw.api('/api/v1/credentials', {
      method: 'POST',
      token,
      body: { kind: 'submission', description: 'x', tlsClientName: 'mail.example.test' },
    });
    assert.equal(submission.status, 422, submission.text);
    const created = await gw.api('/api/v1/credentials', {
      method: 'POST',
      token,
      body: { kind: 'inbound', domain: 'example.test', description: 'Workspace', tlsClientName: 'Smtp-Relay.Example.TEST.' },
    });
    assert.equal(created.status, 201, created.text);
    const body = created.body as { secret: unknown; credential: { id: string; tlsClientName: string } };
    assert.equal(body.secret, null);
    assert.equal(body.credential.tlsClientName, 'smtp-relay.example.test');
    await gw.revokeCredential(body.credential.id);
  });

  test('relaygate credential create --tls-client-name: no secret, audited, allowed networks kept; bad input names the flag', SLOW_OK, async () => {
    const env = gatewayEnv(gw.dataDir);
    const text = await runCli(['credential', 'create', '--kind', 'inbound', '--domain', 'example.test', '--tls-client-name', 'smtp.example.test'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^Created inbound credential (cred_\w+) \(client certificate smtp\.example\.test\) for example\.test\n\n {2}client certificate for: smtp\.example\.test\n\nIt has no secret\./,
    );
    const id = /cred_\w+/.exec(text.stdout)?.[0] ?? '';
    const shown = await runCli(['credential', 'show', id], env);
    assert.match(shown.stdout, /client certificate: +smtp\.example\.test \(relay port, no secret\)/);
    const token = await gw.createApiToken();
    const audit = await gw.api(`/api/v1/audit?targetId=${id}`, { token });
    assert.equal((audit.body as { items: { detail: { tlsClientName: string } }[] }).items[0]?.detail.tlsClientName, 'smtp.example.test');
    await gw.revokeCredential(id);

    const fenced = await runCli(
      [
        'credential',
        'create',
        '--kind',
        'inbound',
        '--domain',
        'example.test',
        '--tls-client-name',
        'fenced.example.test',
        '--allow-network',
        '10.0.0.0/8',
        '--json',
      ],
      env,
    );
    assert.equal(fenced.code, 0, fenced.stderr);
    const made = JSON.parse(fenced.stdout) as { id: string; secret: unknown; allowedNetworks: string[] };
    assert.equal(made.secret, null);
    assert.deepEqual(made.allowedNetworks, ['10.0.0.0/8']);
    const dialog = await relaySession(await makeLeafCert(orgCa, ['fenced.example.test']));
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(
      await dialog.send('RCPT TO:<sales@example.test>'),
      '550 5.7.1 Relaying denied: client certificate not accepted: this client address is not in the allowed networks of its credential',
    );
    dialog.close();
    await gw.revokeCredential(made.id);

    const refusals: [string[], RegExp][] = [
      [
        ['--kind', 'inbound', '--domain', 'example.test', '--tls-client-name', '*.example.test'],
        /^relaygate: --tls-client-name: "\*\.example\.test" is a wildcard/,
      ],
      [
        ['--kind', 'inbound', '--domain', 'example.test', '--tls-client-name', 'not a name'],
        /^relaygate: --tls-client-name: "not a name" is not a DNS host name/,
      ],
      [
        ['--tls-client-name', 'mail.example.com'],
        /^relaygate: --tls-client-name: only inbound credentials authenticate by client certificate; add --kind inbound --domain <name>\n$/,
      ],
      [['--kind', 'inbound', '--domain', 'example.test'], /^relaygate: --description is required/],
    ];
    for (const [args, stderr] of refusals) {
      const result = await runCli(['credential', 'create', ...args], env);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, stderr, args.join(' '));
    }
  });

  test('one certificate for the credentials of two domains: one domain per transaction, the other gets 452 4.5.3', SLOW_OK, async () => {
    const forCom = await gw.createCredential('Tenant connector (com)', { kind: 'inbound', domain: 'example.com', tlsClientName: 'tenant.example.org' });
    const forTest = await gw.createCredential('Tenant connector (test)', { kind: 'inbound', domain: 'example.test', tlsClientName: 'tenant.example.org' });
    const dialog = await relaySession(await makeLeafCert(orgCa, ['tenant.example.org']));
    try {
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      assert.equal(await dialog.send('RCPT TO:<sales@example.test>'), '250 2.1.5 Accepted');
      assert.equal(
        await dialog.send('RCPT TO:<support@example.com>'),
        '452 4.5.3 This transaction relays for example.test; send mail for other domains in another transaction',
      );
      assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
      assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
      assert.equal(await dialog.send('RCPT TO:<support@example.com>'), '250 2.1.5 Accepted');
      assert.match(await dialog.send('DATA'), /^354 /);
      const before = hook.requests.length;
      assert.match(await dialog.send('From: customer@customer.example\r\nTo: support@example.com\r\nSubject: Tenant\r\n\r\nHello.\r\n.'), /^250 2\.0\.0 /);
      const [request] = (await hook.waitForRequests(before + 1)).slice(before);
      assert.equal(request?.payload.relay.credentialId, forCom.id);
      assert.equal(request?.payload.relay.clientCertificate?.name, 'tenant.example.org');
    } finally {
      dialog.close();
      await gw.revokeCredential(forCom.id);
      await gw.revokeCredential(forTest.id);
    }
  });

  // Last: it revokes the suite's credential.
  test('a revoked credential: the next transaction gets 421 4.7.0, as for AUTH sessions', SLOW_OK, async () => {
    const leaf = await makeLeafCert(orgCa, ['mail.example.com']);
    const dialog = await relaySession(leaf);
    assert.equal(await dialog.send('MAIL FROM:<customer@customer.example>'), '250 2.1.0 Accepted');
    assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
    await gw.revokeCredential(credentialId);
    assert.match(await dialog.send('MAIL FROM:<customer@customer.example>'), /^421 4\.7\.0 /);
    dialog.close();
  });
});
