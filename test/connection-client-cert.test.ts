import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keyEncryption } from '../src/secure/key-encryption.js';
import { loadKeyEncryptionKey } from '../src/secure/master-key.js';
import { type LeafCert, makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { postfixUnavailable } from './support/postfix.js';
import { type PostfixReceiver, startPostfixReceiver } from './support/postfix-receiver.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { TEST_ENGINE } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

type Json = Record<string, unknown>;

/**
 * The Exchange Online inbound connector's certificate check, played by Postfix: STARTTLS with
 * smtpd_tls_req_ccert and permit_tls_clientcerts. The gateway presents the connection's
 * client certificate and relays; without it, or with one Postfix does not list, it cannot.
 */
describe('outbound with a client certificate to a Postfix that requires one', needsPeer(postfixUnavailable()), () => {
  let ca: TestCa;
  let gatewayCert: LeafCert;
  let strangerCert: LeafCert;
  let nextHop: SmtpSink;
  let receiver: PostfixReceiver;
  let gw: TestGateway;
  let dir: TempDir;
  let caFile: string;
  const cliEnv = () => gatewayEnv(gw.dataDir, { RELAYGATE_SMARTHOST_CA: caFile });
  const file = async (name: string, text: string) => {
    const path = join(dir.path, name);
    await writeFile(path, text, { mode: 0o600 });
    return path;
  };

  before(async () => {
    ca = await makeTestCa();
    dir = await tempDir('relaygate-ccert-');
    caFile = await file('ca.pem', ca.caCert);
    // The name an Exchange Online connector would check ("certificate domain"): the gateway's.
    gatewayCert = await makeLeafCert(ca, ['gateway.example.test']);
    strangerCert = await makeLeafCert(ca, ['stranger.example.test']);
    const serverCert = await makeLeafCert(ca, ['tenant-test.mail.protection.test']);
    nextHop = await startSmtpSink();
    receiver = await startPostfixReceiver({
      relayDomain: 'tenant.test',
      server: { chain: serverCert.chain, key: serverCert.key },
      clientCaPem: ca.caCert,
      trustedClientCerts: [gatewayCert.cert],
      nextHopPort: nextHop.port,
      dir: (await tempDir('relaygate-pf-recv-')).path,
    });
    gw = await startTestGateway({ smarthost: 'smtp://127.0.0.1:9?tls=none', smarthostCaFile: caFile, 'queue.retryInitial': '30s', 'queue.retryMax': '60s' });
  });
  after(async () => {
    await gw?.stop();
    await receiver?.stop();
    await nextHop?.stop();
    await dir?.cleanup();
  });

  test('connection add --client-cert/--client-key: the key is sealed, the certificate shown; mail reaches the tenant through the certificate check', async () => {
    const certFile = await file('gateway.pem', gatewayCert.chain);
    const keyFile = await file('gateway.key', gatewayCert.key);
    const strangerCertFile = await file('stranger.pem', strangerCert.chain);
    const strangerKeyFile = await file('stranger.key', strangerCert.key);
    const cli = (...args: string[]) => runCli(args, cliEnv());
    const target = ['--host', '127.0.0.1', '--port', String(receiver.port)];
    const added = await cli('connection', 'add', '--domain', 'example.test', ...target, '--client-cert', certFile, '--client-key', keyFile, '--json');
    assert.equal(added.code, 0, added.stderr);
    const connection = JSON.parse(added.stdout) as Json;
    const shownCert = connection.clientCert as Json;
    assert.equal(shownCert.subjectAltName, 'DNS:gateway.example.test, IP Address:127.0.0.1');
    assert.match(shownCert.fingerprint256 as string, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // Two more senders: one presenting a certificate Postfix does not list, one presenting none.
    const stranger = await cli('connection', 'add', '--domain', 'example.com', ...target, '--client-cert', strangerCertFile, '--client-key', strangerKeyFile);
    assert.equal(stranger.code, 0, stranger.stderr);
    const none = await cli('connection', 'add', '--address', 'nocert@example.com', ...target);
    assert.equal(none.code, 0, none.stderr);

    const id = connection.id as string;
    const row = (await gw.db((db) => db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow())) as Record<string, unknown>;
    const keyBody = gatewayCert.key.split('\n')[1] ?? '';
    assert.doesNotMatch(JSON.stringify(row), new RegExp(keyBody.replace(/[+/]/g, '\\$&')));
    const kek = keyEncryption(loadKeyEncryptionKey({ masterKey: undefined, dataDir: gw.dataDir }));
    assert.match(kek.open(row.client_key_sealed as string, { purpose: 'connection-client-key', id }).toString(), /^-----BEGIN PRIVATE KEY-----/);
    for (const name of TEST_ENGINE === 'sqlite' ? ['relaygate.db', 'relaygate.db-wal'] : []) {
      assert.equal(readFileSync(join(gw.dataDir, name)).includes(keyBody), false, `${name} holds no plaintext key`);
    }

    const tested = await cli('connection', 'test', id);
    assert.equal(tested.code, 0, tested.stderr + tested.stdout);
    assert.match(tested.stdout, /PASS {2}tls {7}TLSv1\.[23] .*: verified; our client certificate CN=gateway\.example\.test offered if asked\n/);

    const credential = await gw.createCredential('client-cert');
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.test',
      to: ['user@tenant.test'],
      raw: applicationMessage('ccert'),
    });
    const [arrived] = await nextHop.waitForMessages(1, 60_000);
    assert.deepEqual([arrived?.mailFrom, arrived?.rcptTo], ['support@example.test', ['user@tenant.test']]);
    assert.match(arrived?.raw.toString() ?? '', new RegExp(`with ESMTPS[A]? id ${queueId}`));
    // Postfix verified the certificate against the CA and matched its fingerprint.
    assert.match(receiver.maillog(), /Trusted TLS connection established from unknown\[127\.0\.0\.1\]: .* client-signature ECDSA/);

    const refused = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['user@tenant.test'],
      raw: applicationMessage('stranger'),
    });
    const reply = await deferredReply(gw, refused.queueId);
    assert.match(reply, /^554 5\.7\.1 <user@tenant\.test>: Recipient address rejected: Access denied$/);
    const bare = await submit(gw.gateway.ports.smtp, credential, { from: 'nocert@example.com', to: ['user@tenant.test'], raw: applicationMessage('none') });
    assert.match(await deferredReply(gw, bare.queueId), /^EHLO: 421 4\.7\.1 tenant-test\.mail\.protection\.test Error: No client certificate presented$/);
    assert.equal(nextHop.messages.length, 1);
  });

  test('refusals name the flag: a key without its certificate, a key of another certificate, a client certificate without TLS', async () => {
    const cli = (...args: string[]) => runCli(args, cliEnv());
    const certFile = await file('only.pem', gatewayCert.chain);
    const otherKey = await file('other.key', strangerCert.key);
    const base = ['connection', 'add', '--domain', 'refused.example.test', '--host', 'smtp.example.net'];
    const cases: [string[], string][] = [
      [['--client-key', otherKey], 'a client key needs its certificate: give both --client-cert and --client-key (--client-cert)'],
      [['--client-cert', certFile, '--client-key', otherKey], 'clientKey does not belong to the certificate CN=gateway.example.test (--client-key)'],
      [['--client-cert', certFile, '--client-key', certFile], /^clientKey is not an unencrypted PEM private key/.source],
      [['--client-cert', join(dir.path, 'missing.pem'), '--client-key', otherKey], `--client-cert ${join(dir.path, 'missing.pem')}: cannot read it (ENOENT)`],
    ];
    for (const [flags, message] of cases) {
      const refused = await cli(...base, ...flags);
      assert.equal(refused.code, 1);
      if (message.startsWith('^')) assert.match(refused.stderr, new RegExp(message.replace('^', '^relaygate: ')));
      else assert.equal(refused.stderr, `relaygate: ${message}\n`);
    }
    const keyFile = await file('right.key', gatewayCert.key);
    const plain = await cli(...base, '--tls', 'none', '--client-cert', certFile, '--client-key', keyFile);
    assert.equal(plain.stderr, 'relaygate: a client certificate is presented in the TLS handshake: use tlsMode starttls or implicit (--tls)\n');
  });
});

async function deferredReply(gw: TestGateway, queueId: string): Promise<string> {
  return waitFor(
    async () => {
      const queue = await gw.queue();
      try {
        const r = (await queue.show(queueId))?.recipients[0];
        return r?.status === 'deferred' || r?.status === 'bounced' ? (r.lastReply ?? '') : undefined;
      } finally {
        await queue.close();
      }
    },
    { what: `${queueId} deferred`, timeoutMs: 60_000 },
  );
}
