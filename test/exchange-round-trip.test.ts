/**
 * Both legs of the connector with an Exchange Online-like organisation server, played by one
 * private Postfix: it takes the gateway's mail only with the client certificate it lists
 * (smtpd_tls_req_ccert, permit_tls_clientcerts: an inbound connector checking the sender's
 * certificate), and relays the domain's mail to the gateway's relay port presenting its own
 * certificate and no SASL (an outbound connector to a smart host). `verify-connection`
 * proves both legs over that setup, as docs/guides/microsoft-365.md describes it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { postfixUnavailable } from './support/postfix.js';
import { type PostfixReceiver, startPostfixReceiver } from './support/postfix-receiver.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

describe('verify-connection with an Exchange-like server: client certificates both ways, no SASL', needsPeer(postfixUnavailable()), () => {
  let dir: TempDir;
  let postfixDir: TempDir;
  let dns: TestDnsServer;
  let gw: TestGateway;
  let exchange: PostfixReceiver;

  before(async () => {
    dir = await tempDir('relaygate-exchange-');
    postfixDir = await tempDir('relaygate-exchange-pf-');
    // The gateway's CA (its server and client certificates) and the tenant's (Exchange's).
    const [gatewayCa, tenantCa] = await Promise.all([makeTestCa(), makeTestCa()]);
    const gatewayServer = await makeLeafCert(gatewayCa, ['localhost']);
    const gatewayClient = await makeLeafCert(gatewayCa, ['gateway.example.com']);
    const tenantServer = await makeLeafCert(tenantCa, ['tenant.mail.protection.test']);
    const tenantClient = await makeLeafCert(tenantCa, ['mail.protection.test']);
    const path = (name: string) => join(dir.path, name);
    await Promise.all([
      writeFile(path('cert.pem'), gatewayServer.chain),
      writeFile(path('key.pem'), gatewayServer.key),
      writeFile(path('tenant-ca.pem'), tenantCa.caCert),
    ]);
    dns = await startDnsServer();
    gw = await startTestGateway({
      dnsResolver: dns.address,
      'tls.certFile': path('cert.pem'),
      'tls.keyFile': path('key.pem'),
      // Exchange's client certificate is checked against the tenant's CA, and so is its server certificate.
      'inbound.clientCa': path('tenant-ca.pem'),
      smarthostCaFile: path('tenant-ca.pem'),
      'verification.timeout': '60s',
      'verification.interval': 0,
    });
    exchange = await startPostfixReceiver({
      relayDomain: 'example.com',
      server: { chain: tenantServer.chain, key: tenantServer.key },
      clientCaPem: gatewayCa.caCert,
      trustedClientCerts: [gatewayClient.cert],
      nextHopPort: gw.gateway.ports.relay,
      nextHopTls: { caPem: gatewayCa.caCert, serverName: 'localhost', clientCert: { chain: tenantClient.chain, key: tenantClient.key } },
      dir: postfixDir.path,
    });
    await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      await s.connections.create(
        {
          scopeKind: 'domain',
          scope: 'example.com',
          host: '127.0.0.1',
          port: exchange.port,
          tlsMode: 'starttls',
          clientCert: gatewayClient.chain,
          clientKey: gatewayClient.key,
        },
        HARNESS_ACTOR,
      );
    });
    await gw.createCredential('Exchange Online outbound connector', { kind: 'inbound', domain: 'example.com', tlsClientName: 'mail.protection.test' });
  });

  after(async () => {
    await exchange?.stop();
    await gw?.stop();
    await dns?.stop();
    await postfixDir?.cleanup();
    await dir?.cleanup();
  });

  test('both legs verify: out with the gateway certificate, back in with the tenant certificate', { timeout: 120_000 }, async () => {
    const started = await gw.services((s) => s.connector.verify('example.com', HARNESS_ACTOR));
    assert.deepEqual([started.legs.outbound?.status, started.legs.inbound?.status], ['pending', 'pending']);
    const legs = await waitFor(
      async () => {
        const status = await gw.services((s) => s.connector.status('example.com'));
        const { outbound, inbound } = status.legs;
        return outbound?.status !== 'pending' && inbound?.status !== 'pending' ? status : undefined;
      },
      { what: 'both legs checked', timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.deepEqual(
      [legs.legs.outbound?.status, legs.legs.inbound?.status, legs.state],
      ['verified', 'verified', 'connected'],
      `${JSON.stringify(legs.legs)}\n${exchange.maillog()}`,
    );
    const log = exchange.maillog();
    // The gateway's certificate opened Exchange's relay, and Exchange's opened the gateway's.
    assert.match(log, /postfix\/smtpd\[\d+\]: Trusted TLS connection established from \S+\[127\.0\.0\.1\]/);
    assert.match(log, /Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+/);
    assert.doesNotMatch(log, /sasl/i, 'no SASL on either side');
  });
});
