import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import nodemailer from 'nodemailer';
import type { DeliveryEvidence } from '../src/model/outcome.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { type DnssecLab, startDnssecLab } from './support/dnssec-lab.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { skipWithoutPeer } from './support/peers.js';
import { type SmtpSink, type SmtpSinkOptions, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

// Direct MX delivery against real DNSSEC: the shared lab (Unbound validating zones this file
// writes, served by NSD) on loopback addresses of our own, and one SMTP sink per MX host, each
// on its own loopback address and all on one ephemeral port (delivery.mxPort).
const LAB = { resolver: '127.0.0.73', auth: '127.0.0.74' };
const POLICY_HOST = '127.0.0.127';

/** One scenario: a zone (with its lab mode), the MX host's address, and how its sink speaks. */
interface Scenario {
  mode: string;
  address: string;
  /** 'trusted': a certificate from the CA the gateway trusts (delivery.caFile); else from one it does not. */
  sink?: { tls: 'starttls' | 'none'; cert?: 'trusted' | 'untrusted'; offerRequireTls?: boolean };
  records: (ctx: { tlsa: string; otherTlsa: string }) => string[];
}

const SCENARIOS: Record<string, Scenario> = {
  'dane.test': {
    mode: 'secure',
    address: '127.0.0.121',
    sink: { tls: 'starttls', offerRequireTls: true },
    records: ({ tlsa }) => ['@ MX 10 mx1', 'mx1 A 127.0.0.121', `_25._tcp.mx1 TLSA ${tlsa}`],
  },
  'danebad.test': {
    mode: 'secure',
    address: '127.0.0.122',
    sink: { tls: 'starttls' },
    records: ({ otherTlsa }) => ['@ MX 10 mx1', 'mx1 A 127.0.0.122', `_25._tcp.mx1 TLSA ${otherTlsa}`],
  },
  'danenotls.test': {
    mode: 'secure',
    address: '127.0.0.123',
    sink: { tls: 'none' },
    records: ({ tlsa }) => ['@ MX 10 mx1', 'mx1 A 127.0.0.123', `_25._tcp.mx1 TLSA ${tlsa}`],
  },
  'plain.test': {
    mode: 'insecure',
    address: '127.0.0.124',
    sink: { tls: 'starttls' },
    records: ({ otherTlsa }) => ['@ MX 10 mx1', 'mx1 A 127.0.0.124', `_25._tcp.mx1 TLSA ${otherTlsa}`],
  },
  'tlsafail.test': {
    mode: 'bad-sig TLSA',
    address: '127.0.0.125',
    sink: { tls: 'starttls' },
    records: ({ tlsa }) => ['@ MX 10 mx1', 'mx1 A 127.0.0.125', `_25._tcp.mx1 TLSA ${tlsa}`],
  },
  'broken.test': { mode: 'bogus', address: '127.0.0.134', records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.134'] },
  'sts.test': {
    mode: 'insecure',
    address: '127.0.0.126',
    sink: { tls: 'starttls', cert: 'trusted' },
    records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.126', '_mta-sts TXT "v=STSv1; id=sts1"', `mta-sts A ${POLICY_HOST}`],
  },
  'stsok.test': {
    mode: 'insecure',
    address: '127.0.0.128',
    sink: { tls: 'starttls', cert: 'trusted' },
    records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.128', '_mta-sts TXT "v=STSv1; id=sts2"', `mta-sts A ${POLICY_HOST}`],
  },
  'stsbadcert.test': {
    mode: 'insecure',
    address: '127.0.0.132',
    sink: { tls: 'starttls' },
    records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.132', '_mta-sts TXT "v=STSv1; id=sts3"', `mta-sts A ${POLICY_HOST}`],
  },
  'ststest.test': {
    mode: 'insecure',
    address: '127.0.0.129',
    sink: { tls: 'starttls' },
    records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.129', '_mta-sts TXT "v=STSv1; id=sts4"', `mta-sts A ${POLICY_HOST}`],
  },
  'amx.test': { mode: 'secure', address: '127.0.0.130', sink: { tls: 'starttls' }, records: () => ['@ A 127.0.0.130'] },
  'nullmx.test': { mode: 'secure', address: '127.0.0.135', records: () => ['@ MX 0 .'] },
  'reqtls.test': { mode: 'insecure', address: '127.0.0.131', sink: { tls: 'none' }, records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.131'] },
  'nodane.test': { mode: 'insecure', address: '127.0.0.133', sink: { tls: 'starttls' }, records: () => ['@ MX 10 mx1', 'mx1 A 127.0.0.133'] },
};

const POLICIES: Record<string, string> = {
  'mta-sts.sts.test': 'version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n',
  'mta-sts.stsok.test': 'version: STSv1\nmode: enforce\nmx: mx1.stsok.test\nmax_age: 86400\n',
  'mta-sts.stsbadcert.test': 'version: STSv1\nmode: enforce\nmx: *.stsbadcert.test\nmax_age: 86400\n',
  'mta-sts.ststest.test': 'version: STSv1\nmode: testing\nmx: mx1.ststest.test\nmax_age: 86400\n',
};

describe('direct MX delivery with DANE, MTA-STS and TLS policies (DNSSEC lab)', () => {
  let dir: TempDir;
  let lab: DnssecLab | undefined;
  let skipReason: string | undefined;
  let gw: TestGateway;
  let policyServer: Server | undefined;
  let credential: { username: string; secret: string };
  const sinks = new Map<string, SmtpSink>();
  /** MAIL FROM commands each sink saw, refused or not: "never got the envelope" is checked on this. */
  const mailCommands = new Map<string, number>();
  let daneSpki = '';
  /** The application's webhook: delivery events (message.delivered, message.bounced) land here. */
  let hook: WebhookReceiver | undefined;
  const eventFor = (queueId: string, type: string): Promise<ReceivedWebhook> =>
    waitFor(() =>
      hook?.requests.find((r) => {
        const event = r.payload as unknown as { queueId?: string; type?: string };
        return event.queueId === queueId && event.type === type;
      }),
    );

  const skipped = (t: TestContext) => skipWithoutPeer(t, skipReason);

  before(async () => {
    dir = await tempDir('relaygate-mx-');
    const trusted = await makeTestCa();
    const untrusted = await makeTestCa();
    const daneLeaf = await makeLeafCert(untrusted, ['mx1.dane.test']);
    daneSpki = spkiSha256(daneLeaf.cert);
    const other = spkiSha256((await makeLeafCert(untrusted, ['someone.else.test'])).cert);
    await writeZones(join(dir.path, 'zones'), { tlsa: `3 1 1 ${daneSpki}`, otherTlsa: `3 1 1 ${other}` });
    const started = await startDnssecLab({
      zonesDir: join(dir.path, 'zones'),
      // A fixed state directory: a lab left behind by a crashed run of this file is stopped first.
      stateDir: join(tmpdir(), 'relaygate-mx-delivery-lab'),
      resolverAddress: LAB.resolver,
      authAddress: LAB.auth,
    });
    if ('skip' in started) {
      skipReason = started.skip;
      return;
    }
    lab = started;
    await startSinks(trusted, untrusted, daneLeaf);
    policyServer = await startPolicyServer(trusted);
    const caFile = join(dir.path, 'trusted-ca.pem');
    await writeFile(caFile, trusted.caCert);
    hook = await startWebhookReceiver();
    const hookCa = join(dir.path, 'hook-ca.pem');
    await writeFile(hookCa, hook.caCert);
    gw = await startTestGateway({
      'inbound.allowPrivateWebhooks': true,
      'inbound.webhookCaFile': hookCa,
      dnsResolver: lab.resolver,
      'delivery.direct': true,
      'delivery.mxPort': [...sinks.values()][0]?.port,
      'delivery.mtaStsPort': (policyServer.address() as AddressInfo).port,
      'delivery.caFile': caFile,
      'delivery.connectTimeout': '5s',
      'queue.retryInitial': '1h',
      'queue.retryMax': '1h',
    });
    credential = await gw.createCredential('mx delivery');
    const { secret } = await gw.services((svc) => svc.inboundTargets.set({ kind: 'webhook', url: hook?.url ?? '' }, { name: 'test', ip: null }));
    hook.secret = secret ?? '';
  });

  after(async () => {
    await gw?.stop();
    await hook?.stop();
    await Promise.all([...sinks.values()].map((s) => s.stop()));
    await new Promise<void>((resolve) => (policyServer ? policyServer.close(() => resolve()) : resolve()));
    policyServer?.closeAllConnections();
    await lab?.stop();
    await dir?.cleanup();
  });

  async function startSinks(trusted: TestCa, untrusted: TestCa, daneLeaf: Awaited<ReturnType<typeof makeLeafCert>>): Promise<void> {
    const withSink = Object.entries(SCENARIOS).filter(([, s]) => s.sink);
    const certs = new Map<string, { cert: string; key: string }>();
    for (const [domain, s] of withSink) {
      if (s.sink?.tls !== 'starttls') continue;
      const leaf = domain === 'dane.test' ? daneLeaf : await makeLeafCert(s.sink.cert === 'trusted' ? trusted : untrusted, [`mx1.${domain}`, domain]);
      certs.set(domain, { cert: leaf.chain, key: leaf.key });
    }
    // One port on every address; if another process holds it on one of them, start over on another.
    for (let attempt = 1; ; attempt++) {
      try {
        let port = 0;
        for (const [domain, s] of withSink) {
          const options: SmtpSinkOptions = {
            tls: s.sink?.tls ?? 'none',
            host: s.address,
            port,
            name: `mx1.${domain}`,
            offerRequireTls: s.sink?.offerRequireTls ?? false,
          };
          const cert = certs.get(domain);
          const sink = await startSmtpSink(cert ? { ...options, cert } : options);
          mailCommands.set(domain, 0);
          sink.behaviour.mail = () => {
            mailCommands.set(domain, (mailCommands.get(domain) ?? 0) + 1);
            return undefined;
          };
          sinks.set(domain, sink);
          port = sink.port;
        }
        return;
      } catch (err) {
        await Promise.all([...sinks.values()].map((s) => s.stop()));
        sinks.clear();
        if (attempt === 5) throw err;
      }
    }
  }

  async function send(to: string, options: { requireTls?: boolean; headers?: string[] } = {}): Promise<string> {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: gw.gateway.ports.smtp,
      secure: false,
      requireTLS: true,
      auth: { user: credential.username, pass: credential.secret },
      tls: { rejectUnauthorized: false },
    });
    try {
      const info = await transport.sendMail({
        envelope: { from: 'app@example.com', to: [to] },
        raw: applicationMessage(`to ${to}`, options.headers ?? []),
        requireTLSExtensionEnabled: options.requireTls ?? false,
      });
      const queueId = /queued as ([0-9A-Z]+)/.exec(info.response)?.[1];
      assert.ok(queueId, info.response);
      return queueId;
    } finally {
      transport.close();
    }
  }

  /** The message once its recipient has had `attempts` delivery attempts. */
  async function attempted(queueId: string, attempts = 1) {
    return waitFor(
      async () => {
        const queue = await gw.queue();
        try {
          const message = await queue.show(queueId);
          return message?.recipients.every((r) => r.attempts >= attempts) ? message : undefined;
        } finally {
          await queue.close();
        }
      },
      { what: `attempt ${attempts} of ${queueId}` },
    );
  }

  async function evidenceOf(queueId: string): Promise<DeliveryEvidence> {
    const message = await attempted(queueId);
    assert.equal(message.recipients[0]?.status, 'delivered', message.recipients[0]?.lastReply ?? '');
    const evidence = message.events.find((e) => e.kind === 'delivered')?.evidence;
    assert.ok(evidence, 'the delivered event carries its evidence');
    return evidence;
  }

  async function deferredReply(queueId: string): Promise<string> {
    const message = await attempted(queueId);
    assert.equal(message.recipients[0]?.status, 'deferred', message.recipients[0]?.lastReply ?? '');
    return message.recipients[0]?.lastReply ?? '';
  }

  test('DANE: a 3 1 1 record matching the MX certificate → delivered over TLS, evidence DANE-EE', async (t) => {
    if (skipped(t)) return;
    const queueId = await send('someone@dane.test');
    const evidence = await evidenceOf(queueId);
    const port = sinks.get('dane.test')?.port;
    assert.deepEqual(
      { ...evidence, tls: undefined, reply: undefined },
      {
        policy: 'dane',
        override: null,
        tlsRequired: null,
        mxHost: 'mx1.dane.test',
        mxAddress: `127.0.0.121:${port}`,
        dnssec: { mx: 'secure', tlsa: 'secure' },
        tls: undefined,
        peerAuthentication: 'DANE-EE',
        tlsaMatch: '3 1 1',
        spkiSha256: daneSpki,
        mtaSts: null,
        policyFailures: [],
        reply: undefined,
      },
    );
    assert.match(evidence.tls?.version ?? '', /^TLSv1\.[23]$/);
    assert.ok(evidence.tls?.cipher);
    assert.match(evidence.reply, /^250 /);
    const [received] = await (sinks.get('dane.test') as SmtpSink).waitForMessages(1);
    assert.equal(received?.secure, true);
    assert.deepEqual(received?.rcptTo, ['someone@dane.test']);

    const shown = await runCli(['queue', 'show', queueId], gatewayEnv(gw.dataDir));
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /\nDelivery evidence\n {2}someone@dane\.test at \S+\n {4}policy: {4}dane\n/);
    assert.match(shown.stdout, new RegExp(`\\n {4}peer: {6}DANE-EE \\(TLSA 3 1 1\\); SPKI SHA-256 ${daneSpki}\\n`));
    assert.match(shown.stdout, /\n {4}mx: {8}mx1\.dane\.test \(127\.0\.0\.121:\d+\); DNSSEC: MX secure, TLSA secure\n/);

    // The log line of the attempt carries the whole evidence.
    const logged = gw.logs
      .map((line) => JSON.parse(line) as { msg?: string; queueId?: string; evidence?: unknown })
      .find((l) => l.msg === 'delivery attempt' && l.queueId === queueId);
    assert.deepEqual(logged?.evidence, evidence);

    // The same evidence through the admin API's message log.
    const token = await gw.createApiToken();
    const api = await gw.api(`/api/v1/messages/${queueId}`, { token });
    assert.equal(api.status, 200, api.text);
    const message = api.body as { direction: string; recipients: { status: string }[]; events: { kind: string; evidence: unknown }[] };
    assert.equal(message.direction, 'outbound');
    assert.equal(message.recipients[0]?.status, 'delivered');
    assert.deepEqual(message.events.find((e) => e.kind === 'delivered')?.evidence, evidence);
    assert.equal((await gw.api('/api/v1/messages/NOSUCHMESSAGE', { token })).status, 404);

    // And to the application, as a signed message.delivered event.
    const event = await eventFor(queueId, 'message.delivered');
    assert.deepEqual(event.signature, { ok: true });
    assert.equal(event.headers['idempotency-key'], event.headers['webhook-id']);
    const payload = event.payload as unknown as { recipient: string; evidence: unknown };
    assert.equal(payload.recipient, 'someone@dane.test');
    assert.deepEqual(payload.evidence, evidence);
  });

  test('DANE: no TLSA record matches → deferred "dane: …"; the MX never sees MAIL FROM', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@danebad.test'));
    assert.equal(reply, 'dane: no TLSA record matched the certificate of mx1.danebad.test');
    assert.ok((sinks.get('danebad.test')?.connections ?? 0) >= 1, 'it connected and checked the certificate');
    assert.equal(mailCommands.get('danebad.test'), 0);
  });

  test('DANE: an MX that does not offer STARTTLS → deferred, never plaintext', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@danenotls.test'));
    assert.equal(reply, 'dane: mx1.danenotls.test did not offer STARTTLS');
    assert.equal(mailCommands.get('danenotls.test'), 0);
  });

  test('insecure zone: its TLSA record is ignored, delivery is opportunistic STARTTLS', async (t) => {
    if (skipped(t)) return;
    const evidence = await evidenceOf(await send('someone@plain.test'));
    assert.equal(evidence.policy, 'opportunistic');
    assert.deepEqual(evidence.dnssec, { mx: 'insecure', tlsa: 'not-queried' });
    assert.equal(evidence.peerAuthentication, 'none', 'a certificate from a CA the gateway does not trust');
    assert.equal(evidence.tlsaMatch, null);
    assert.ok(evidence.tls, 'STARTTLS was offered and used');
  });

  test('bogus zone: the MX lookup fails validation → deferred (dns), nothing dialled', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@broken.test'));
    assert.match(reply, /^dns: the MX lookup for broken\.test failed: .*SERVFAIL/);
  });

  test('secure zone whose TLSA lookup is bogus → deferred "dane: …", the MX is not contacted', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@tlsafail.test'));
    assert.match(reply, /^dane: the TLSA lookup for _25\._tcp\.mx1\.tlsafail\.test failed: .*SERVFAIL.*; mx1\.tlsafail\.test is not used without it$/);
    assert.equal(sinks.get('tlsafail.test')?.connections, 0);
  });

  test('MTA-STS enforce: an MX host the policy does not list → deferred "mta-sts: …", never contacted', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@sts.test'));
    assert.equal(reply, 'mta-sts: mx1.sts.test is not an MX host the enforce policy of sts.test lists');
    assert.equal(sinks.get('sts.test')?.connections, 0);
  });

  test('MTA-STS enforce: a listed MX whose certificate does not verify → deferred, MAIL FROM never sent', async (t) => {
    if (skipped(t)) return;
    const reply = await deferredReply(await send('someone@stsbadcert.test'));
    assert.match(reply, /^mta-sts: the certificate of mx1\.stsbadcert\.test is not valid for it \(\w+/);
    assert.equal(mailCommands.get('stsbadcert.test'), 0);
  });

  test('MTA-STS enforce: a listed MX with a certificate valid for its name → delivered, PKIX', async (t) => {
    if (skipped(t)) return;
    const evidence = await evidenceOf(await send('someone@stsok.test'));
    assert.equal(evidence.policy, 'mta-sts-enforce');
    assert.equal(evidence.peerAuthentication, 'PKIX');
    assert.deepEqual(evidence.mtaSts, { id: 'sts2', mode: 'enforce' });
    assert.deepEqual(evidence.dnssec, { mx: 'insecure', tlsa: 'not-queried' });
  });

  test('MTA-STS testing: a failed check is logged and delivery goes on', async (t) => {
    if (skipped(t)) return;
    const queueId = await send('someone@ststest.test');
    const evidence = await evidenceOf(queueId);
    assert.equal(evidence.policy, 'mta-sts-testing');
    assert.equal(evidence.peerAuthentication, 'none');
    assert.equal(evidence.policyFailures.length, 1);
    assert.match(evidence.policyFailures[0] ?? '', /^mta-sts: the certificate of mx1\.ststest\.test is not valid for it/);
    const logged = gw.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.event === 'tls.policy.not-enforced' && l.queueId === queueId);
    assert.ok(logged, 'the failure is in the log');
    assert.equal(logged.domain, 'ststest.test');
  });

  test('no MX record: delivered to the address of the domain itself (RFC 5321 §5.1)', async (t) => {
    if (skipped(t)) return;
    const evidence = await evidenceOf(await send('someone@amx.test'));
    assert.equal(evidence.mxHost, 'amx.test');
    assert.equal(evidence.policy, 'opportunistic');
    assert.deepEqual(evidence.dnssec, { mx: 'secure', tlsa: 'secure-denial' });
    assert.equal((await (sinks.get('amx.test') as SmtpSink).waitForMessages(1)).length, 1);
  });

  test('null MX (RFC 7505) → bounced with 5.1.10', async (t) => {
    if (skipped(t)) return;
    const message = await attempted(await send('someone@nullmx.test'));
    assert.equal(message.recipients[0]?.status, 'bounced');
    assert.equal(message.recipients[0]?.lastReply, '556 5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)');
    const event = await eventFor(message.id, 'message.bounced');
    assert.equal((event.payload as unknown as { reply: string }).reply, '556 5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)');
  });

  test('require-tls set through the API, MX without STARTTLS → deferred "tls-policy: …"; removed → delivered in plaintext', async (t) => {
    if (skipped(t)) return;
    const token = await gw.createApiToken();
    const put = await gw.api('/api/v1/tls-policies/reqtls.test', { method: 'PUT', token, body: { require: 'tls' } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual((put.body as { domain: string; require: string }).require, 'tls');
    const listed = await gw.api('/api/v1/tls-policies', { token });
    assert.deepEqual(
      (listed.body as { items: { domain: string; require: string }[] }).items.map((p) => [p.domain, p.require]),
      [['reqtls.test', 'tls']],
    );

    const queueId = await send('someone@reqtls.test');
    assert.equal(await deferredReply(queueId), 'tls-policy: mx1.reqtls.test did not offer STARTTLS');
    assert.equal(mailCommands.get('reqtls.test'), 0);

    const removed = await gw.api('/api/v1/tls-policies/reqtls.test', { method: 'DELETE', token });
    assert.equal(removed.status, 200, removed.text);
    const retried = await runCli(['queue', 'retry', queueId], gatewayEnv(gw.dataDir));
    assert.equal(retried.code, 0, retried.stderr);
    await attempted(queueId, 2);
    const evidence = await evidenceOf(queueId);
    assert.equal(evidence.policy, 'opportunistic');
    assert.equal(evidence.tls, null);
  });

  test('require-dane for a domain without DNSSEC → deferred, the MX is not contacted', async (t) => {
    if (skipped(t)) return;
    await gw.services((s) => s.tlsPolicies.set('nodane.test', 'dane', { name: 'test', ip: null }));
    const reply = await deferredReply(await send('someone@nodane.test'));
    assert.equal(
      reply,
      'tls-policy: nodane.test requires DANE, but mx1.nodane.test has no usable DNSSEC-signed TLSA record (the MX answer is not DNSSEC-signed)',
    );
    assert.equal(sinks.get('nodane.test')?.connections, 0);
  });

  test('REQUIRETLS over DANE to an MX offering it → delivered, REQUIRETLS passed on', async (t) => {
    if (skipped(t)) return;
    const sink = sinks.get('dane.test') as SmtpSink;
    const before = sink.messages.length;
    const evidence = await evidenceOf(await send('other@dane.test', { requireTls: true }));
    assert.equal(evidence.tlsRequired, 'requiretls');
    assert.equal(evidence.peerAuthentication, 'DANE-EE');
    const received = (await sink.waitForMessages(before + 1)).at(-1);
    assert.equal(received?.requireTls, true);
  });

  test('REQUIRETLS to a domain found without DNSSEC or MTA-STS → bounced 5.7.30', async (t) => {
    if (skipped(t)) return;
    const message = await attempted(await send('other@plain.test', { requireTls: true }));
    assert.equal(message.recipients[0]?.status, 'bounced');
    assert.match(
      message.recipients[0]?.lastReply ?? '',
      /^550 5\.7\.30 REQUIRETLS support required: requiretls: mx1\.plain\.test was not found securely: the MX answer of plain\.test is not DNSSEC-signed/,
    );
  });

  test('TLS-Required: No → delivered despite the DANE mismatch, the failure kept in the evidence (RFC 8689 §5)', async (t) => {
    if (skipped(t)) return;
    const evidence = await evidenceOf(await send('other@danebad.test', { headers: ['TLS-Required: No'] }));
    assert.equal(evidence.tlsRequired, 'no');
    assert.equal(evidence.policy, 'dane');
    assert.equal(evidence.peerAuthentication, 'none');
    assert.deepEqual(evidence.policyFailures, ['dane: no TLSA record matched the certificate of mx1.danebad.test']);
  });

  test('tls-policy CLI: set, list, remove, and a wrong level named', async (t) => {
    if (skipped(t)) return;
    const env = gatewayEnv(gw.dataDir);
    const set = await runCli(['tls-policy', 'set', 'Partner.Example', '--require', 'verified'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(
      set.stdout,
      'Mail to partner.example now requires verified: the certificate must be authenticated: DANE, or a CA chain to the MX host name (PKIX)\n',
    );
    const listed = await runCli(['tls-policy', 'list', '--json'], env);
    assert.ok((JSON.parse(listed.stdout) as { domain: string; require: string }[]).some((p) => p.domain === 'partner.example' && p.require === 'verified'));
    const wrong = await runCli(['tls-policy', 'set', 'partner.example', '--require', 'strong'], env);
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, 'relaygate: require must be one of tls, dane, verified, not "strong" (--require)\n');
    const removed = await runCli(['tls-policy', 'remove', 'partner.example'], env);
    assert.equal(removed.stdout, 'Removed the verified requirement for partner.example\n');
    const again = await runCli(['tls-policy', 'remove', 'partner.example'], env);
    assert.equal(again.stderr, 'relaygate: no TLS policy for partner.example; see "relaygate tls-policy list"\n');
  });
});

async function writeZones(zonesDir: string, ctx: { tlsa: string; otherTlsa: string }): Promise<void> {
  await mkdir(zonesDir, { recursive: true });
  for (const [zone, s] of Object.entries(SCENARIOS)) {
    const text = [
      `; dnssec-lab: ${s.mode}`,
      `$ORIGIN ${zone}.`,
      '$TTL 300',
      '@ SOA ns1 hostmaster 1 3600 600 86400 300',
      '@ NS ns1',
      `ns1 A ${LAB.auth}`,
      ...s.records(ctx),
      '',
    ].join('\n');
    await writeFile(join(zonesDir, `${zone}.zone`), text);
  }
}

/** The HTTPS host of every test domain's `mta-sts.` name, with a certificate from the CA the gateway trusts. */
async function startPolicyServer(ca: TestCa): Promise<Server> {
  const leaf = await makeLeafCert(ca, Object.keys(POLICIES));
  const server = createServer({ key: leaf.key, cert: leaf.chain }, (request, response) => {
    const policy = POLICIES[(request.headers.host ?? '').replace(/:\d+$/, '')];
    if (request.url !== '/.well-known/mta-sts.txt' || !policy) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
  });
  await new Promise<void>((resolve) => server.listen(0, POLICY_HOST, resolve));
  return server;
}

function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}
