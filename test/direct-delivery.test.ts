/**
 * Inbound direct delivery (IDD) against real DNSSEC: the shared lab (Unbound validating zones
 * this file writes, served by NSD) on loopback addresses of our own, one SMTP server per MX
 * host on its own loopback address (all on one port, delivery.mxPort), and the smarthost sink
 * that carries portal notifications. Skipped, with the reason, where the lab cannot run.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import type { SecureRecipientsTable } from '../src/store/tables.js';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { type DnssecLab, type DnssecLabOptions, startDnssecLab } from './support/dnssec-lab.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { type MxHosts, startMxHosts } from './support/mx-hosts.js';
import { skipWithoutPeer } from './support/peers.js';
import { routeSecure, SECURE_SENDER } from './support/secure.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

const LAB = { resolver: '127.0.0.97', auth: '127.0.0.98' };
const STATE_DIR = join(tmpdir(), 'relaygate-direct-delivery-lab');
const SECRET_LINE = 'Your lab results: glucose 5.4 mmol/l';

/** Each flagged-domain scenario: its lab mode, its MX host's address, and whose key its TLSA record names. */
const ZONES: Record<string, { mode: string; mx: string; tlsa: 'server' | 'other' }> = {
  // TLSA 3 1 1 of the MX server's certificate: DNSSEC + DANE, and the server matches.
  'idd.test': { mode: 'secure', mx: '127.0.0.181', tlsa: 'server' },
  // DNSSEC + DANE on paper, but the TLSA record is for another key (the server's certificate changed).
  'iddswap.test': { mode: 'secure', mx: '127.0.0.182', tlsa: 'other' },
  // Secure until the test turns it bogus.
  'iddflip.test': { mode: 'secure', mx: '127.0.0.183', tlsa: 'server' },
  // Unsigned: the TLSA record means nothing.
  'plainidd.test': { mode: 'insecure', mx: '127.0.0.184', tlsa: 'server' },
};

type Row = SecureRecipientsTable;

describe('inbound direct delivery of secure messages (DNSSEC lab)', () => {
  let dir: TempDir;
  let lab: DnssecLab | undefined;
  let labOptions: DnssecLabOptions;
  let skipReason: string | undefined;
  let gw: TestGateway;
  let smarthost: SmtpSink;
  let token: string;
  let credential: { username: string; secret: string };
  let tlsa: { server: string; other: string };
  let certs: { server: { cert: string; key: string }; other: { cert: string; key: string } };
  let mxHosts: MxHosts;
  const mx = new Map<string, SmtpSink>();

  const skipped = (t: TestContext) => skipWithoutPeer(t, skipReason);

  before(async () => {
    dir = await tempDir('relaygate-idd-');
    const ca = await makeTestCa();
    const server = await makeLeafCert(
      ca,
      Object.keys(ZONES).map((zone) => `mx1.${zone}`),
    );
    const other = await makeLeafCert(ca, ['elsewhere.test']);
    tlsa = { server: `3 1 1 ${spkiSha256(server.cert)}`, other: `3 1 1 ${spkiSha256(other.cert)}` };
    certs = { server: { cert: server.chain, key: server.key }, other: { cert: other.chain, key: other.key } };
    await writeZones();
    labOptions = { zonesDir: join(dir.path, 'zones'), stateDir: STATE_DIR, resolverAddress: LAB.resolver, authAddress: LAB.auth };
    const started = await startDnssecLab(labOptions);
    if ('skip' in started) {
      skipReason = started.skip;
      return;
    }
    lab = started;
    mxHosts = await startMxHosts(Object.entries(ZONES).map(([zone, z]) => ({ name: `mx1.${zone}`, address: z.mx, cert: certs.server })));
    for (const zone of Object.keys(ZONES)) mx.set(zone, mxHosts.sinks.get(`mx1.${zone}`) as SmtpSink);
    smarthost = await startSmtpSink({ tls: 'none' });
    gw = await startTestGateway({
      smarthost: `smtp://127.0.0.1:${smarthost.port}?tls=none`,
      dnsResolver: lab.resolver,
      // Plain mail keeps going through the smarthost: IDD goes direct on its own.
      'delivery.direct': false,
      'delivery.mxPort': mxHosts.port,
      'delivery.connectTimeout': '5s',
      'queue.retryInitial': '1h',
      'queue.retryMax': '1h',
    });
    await routeSecure(gw);
    await gw.db(async (db) => {
      for (const zone of Object.keys(ZONES)) await insertDomain(db, zone);
      await insertDomain(db, 'pendingidd.test', { status: 'pending' });
    });
    token = await gw.createApiToken('idd suite');
    credential = await gw.createCredential('idd suite');
  });

  after(async () => {
    await gw?.stop();
    await smarthost?.stop();
    await mxHosts?.stop();
    await lab?.stop();
    await dir?.cleanup();
  });

  async function writeZones(modes: Record<string, string> = {}): Promise<void> {
    const zonesDir = join(dir.path, 'zones');
    await mkdir(zonesDir, { recursive: true });
    for (const [zone, z] of Object.entries(ZONES)) {
      const text = [
        `; dnssec-lab: ${modes[zone] ?? z.mode}`,
        `$ORIGIN ${zone}.`,
        '$TTL 300',
        '@ SOA ns1 hostmaster 1 3600 600 86400 300',
        '@ NS ns1',
        `ns1 A ${LAB.auth}`,
        '@ MX 10 mx1',
        `mx1 A ${z.mx}`,
        `_25._tcp.mx1 TLSA ${tlsa[z.tlsa]}`,
        '',
      ].join('\n');
      await writeFile(join(zonesDir, `${zone}.zone`), text);
    }
  }

  const setDirect = (domain: string, enabled: boolean) => gw.api(`/api/v1/domains/${domain}/direct-delivery`, { method: 'PUT', token, body: { enabled } });

  async function sendSecure(to: string[], subject: string): Promise<string> {
    const raw = [`From: "Care Team" <${SECURE_SENDER}>`, `To: ${to.join(', ')}`, `Subject: ${subject}`, '', SECRET_LINE, ''].join('\r\n');
    return (await submit(gw.gateway.ports.smtp, credential, { from: SECURE_SENDER, to, raw })).queueId;
  }

  /** The recipient's row once delivery has decided (delivered, notified or bounced). */
  const settled = (queueId: string, address: string): Promise<Row> =>
    waitFor(
      () =>
        gw.db(async (db) => {
          const row = await db.selectFrom('secure_recipients').selectAll().where('message_id', '=', queueId).where('address', '=', address).executeTakeFirst();
          return row && row.status !== 'pending' ? row : undefined;
        }),
      { what: `the secure recipient ${address} of ${queueId}`, intervalMs: 100 },
    );

  const notificationsTo = (address: string) => smarthost.messages.filter((m) => m.rcptTo.includes(address));

  test('enabling is refused for an unsigned domain (409, with the reasons) and for a pending one; allowed for DNSSEC + DANE', async (t) => {
    if (skipped(t)) return;
    const refused = await setDirect('plainidd.test', true);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = refused.body as { detail: string; errors: { field: string; problem: string }[] };
    assert.equal(problem.detail, 'secure messages cannot be delivered directly to plainidd.test: not possible, because its MX records are not DNSSEC-signed');
    assert.deepEqual(problem.errors, [{ field: 'enabled', problem: 'its MX records are not DNSSEC-signed' }]);

    const pending = await setDirect('pendingidd.test', true);
    assert.equal(pending.status, 409, pending.text);
    assert.match((pending.body as { detail: string }).detail, /^pendingidd\.test is not verified: .*relaygate domain verify pendingidd\.test/);
    assert.equal((await setDirect('nowhere.test', true)).status, 404);
    const wrong = await gw.api('/api/v1/domains/idd.test/direct-delivery', { method: 'PUT', token, body: { enabled: 'yes' } });
    assert.equal(wrong.status, 400);
    assert.equal((wrong.body as { errors: { field: string }[] }).errors[0]?.field, 'enabled');

    const enabled = await setDirect('idd.test', true);
    assert.equal(enabled.status, 200, enabled.text);
    const state = enabled.body as { domain: string; enabled: boolean; changedAt: string; verdict: unknown };
    assert.deepEqual(
      { ...state, changedAt: undefined },
      {
        domain: 'idd.test',
        enabled: true,
        changedAt: undefined,
        verdict: { level: 'dnssec+dane', text: 'DNSSEC + DANE', reasons: [] },
      },
    );
    const shown = (await gw.api('/api/v1/domains/idd.test', { token })).body as { directDelivery: unknown };
    assert.deepEqual(shown.directDelivery, { enabled: true, changedAt: state.changedAt });
    assert.equal(((await gw.api('/api/v1/domains/plainidd.test', { token })).body as { directDelivery: { enabled: boolean } }).directDelivery.enabled, false);

    const audited = (await gw.api('/api/v1/audit?action=domain.direct-delivery.enable&targetId=idd.test', { token })).body as {
      items: { detail: Record<string, unknown> }[];
    };
    assert.equal(audited.items.length, 1);
    assert.deepEqual({ ...audited.items[0]?.detail, id: undefined }, { id: undefined, changed: true, verdict: 'dnssec+dane' });
  });

  test('CLI: on for a DANE domain prints the verdict; refused for an unsigned one with the reasons; off always', async (t) => {
    if (skipped(t)) return;
    const env = gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: lab?.resolver ?? '', RELAYGATE_DELIVERY_MX_PORT: String(mxHosts.port) });
    const on = await runCli(['domain', 'direct-delivery', 'iddflip.test', '--enable'], env);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^Inbound direct delivery is on for iddflip\.test \(DNS check: DNSSEC \+ DANE\)\.\n/);

    const refused = await runCli(['domain', 'direct-delivery', 'plainidd.test', 'on'], env);
    assert.deepEqual(
      [refused.code, refused.stderr],
      [
        1,
        'relaygate: inbound direct delivery to plainidd.test is not enabled: the DNS check says it is not possible, because\n' +
          '  - its MX records are not DNSSEC-signed\nfix these (relaygate dns check plainidd.test shows how) and try again\n',
      ],
    );
    const off = await runCli(['domain', 'direct-delivery', 'plainidd.test', '--disable'], env);
    assert.deepEqual(
      [off.code, off.stdout],
      [0, 'Inbound direct delivery is off for plainidd.test: its recipients of secure messages get the portal notification.\n'],
    );
    const shown = await runCli(['domain', 'show', 'iddflip.test'], env);
    assert.match(shown.stdout, /\n {2}direct: {7}on since \S+Z \(inbound direct delivery of secure messages\)\n/);
  });

  test('flagged DANE domain: the message arrives decrypted at its MX over TLS, the row says direct with the evidence; no notification', async (t) => {
    if (skipped(t)) return;
    const queueId = await sendSecure(['alice@idd.test', 'bob@example.net'], 'Results of 12 March');
    const alice = await settled(queueId, 'alice@idd.test');
    assert.equal(alice.status, 'delivered', alice.fallback_reason ?? '');
    assert.equal(alice.delivered_via, 'direct');
    assert.equal(alice.fallback_reason, null);
    const evidence = JSON.parse(alice.evidence ?? '{}') as { peerAuthentication: string; dnssec: unknown; tlsaMatch: string; mxHost: string };
    assert.deepEqual(
      [evidence.peerAuthentication, evidence.dnssec, evidence.tlsaMatch, evidence.mxHost],
      ['DANE-EE', { mx: 'secure', tlsa: 'secure' }, '3 1 1', 'mx1.idd.test'],
    );

    const [received] = await (mx.get('idd.test') as SmtpSink).waitForMessages(1);
    assert.equal(received?.secure, true, 'delivered over TLS');
    assert.deepEqual([received?.mailFrom, received?.rcptTo], [SECURE_SENDER, ['alice@idd.test']]);
    const text = received?.raw.toString() ?? '';
    assert.match(text, /\r\nSubject: Results of 12 March\r\n/);
    assert.ok(text.includes(SECRET_LINE), 'the body arrives decrypted');

    // The recipient outside the flagged domain is notified as before, alone.
    const bob = await settled(queueId, 'bob@example.net');
    assert.deepEqual([bob.status, bob.delivered_via, bob.fallback_reason], ['notified', 'portal', null]);
    assert.equal(notificationsTo('bob@example.net').length, 1);
    assert.ok(!notificationsTo('bob@example.net')[0]?.raw.includes(SECRET_LINE));
    assert.equal(notificationsTo('alice@idd.test').length, 0, 'a recipient delivered directly gets no notification');
  });

  test('the TLSA record stops matching the MX certificate → portal notification, the reason names DANE, nothing reaches the MX', async (t) => {
    if (skipped(t)) return;
    // The DNS alone proves DNSSEC + DANE, but the MX presents another key: the check probes it and refuses.
    const refused = await setDirect('iddswap.test', true);
    assert.equal(refused.status, 409, refused.text);
    assert.deepEqual((refused.body as { errors: unknown }).errors, [
      {
        field: 'enabled',
        problem: 'mx1.iddswap.test: its certificate matches none of its TLSA records (no TLSA record matched the certificate of mx1.iddswap.test)',
      },
    ]);
    // With the key its TLSA record names, it is enabled; then the server's key changes again.
    mx.set('iddswap.test', await mxHosts.recertify('mx1.iddswap.test', certs.other));
    assert.equal((await setDirect('iddswap.test', true)).status, 200, 'the probe matches the TLSA record');
    mx.set('iddswap.test', await mxHosts.recertify('mx1.iddswap.test', certs.server));
    const queueId = await sendSecure(['carol@iddswap.test'], 'Results of 13 March');
    const carol = await settled(queueId, 'carol@iddswap.test');
    assert.deepEqual([carol.status, carol.delivered_via], ['notified', 'portal']);
    assert.equal(
      carol.fallback_reason,
      'the MX of iddswap.test did not authenticate as its DNS proof requires: dane: no TLSA record matched the certificate of mx1.iddswap.test',
    );
    const evidence = JSON.parse(carol.evidence ?? '{}') as { verdict: { level: string }; attempt: unknown; checkedAt: string };
    assert.equal(evidence.verdict.level, 'dnssec+dane');
    assert.deepEqual(evidence.attempt, { reason: 'dane', reply: 'dane: no TLSA record matched the certificate of mx1.iddswap.test' });
    assert.ok(Number.isFinite(Date.parse(evidence.checkedAt)));

    assert.equal(notificationsTo('carol@iddswap.test').length, 1);
    assert.ok(!notificationsTo('carol@iddswap.test')[0]?.raw.includes(SECRET_LINE), 'the notification carries no content');
    const server = mx.get('iddswap.test') as SmtpSink;
    assert.ok(server.connections >= 1, 'the MX was tried, and its certificate checked');
    assert.equal(server.messages.length, 0, 'nothing reached the MX');
  });

  test('the zone turns bogus after it was flagged → the next message falls back to the portal, with the reason and the verdict', async (t) => {
    if (skipped(t)) return;
    // Flagged in the CLI test, while secure: the first message goes direct.
    const first = await settled(await sendSecure(['dave@iddflip.test'], 'Results of 14 March'), 'dave@iddflip.test');
    assert.deepEqual([first.status, first.delivered_via], ['delivered', 'direct']);
    const server = mx.get('iddflip.test') as SmtpSink;
    assert.equal(server.messages.length, 1);

    await lab?.stop();
    lab = undefined;
    await writeZones({ 'iddflip.test': 'bogus' });
    const restarted = await startDnssecLab(labOptions);
    assert.ok(!('skip' in restarted), 'skip' in restarted ? restarted.skip : '');
    lab = restarted;

    const connectionsBefore = server.connections;
    const queueId = await sendSecure(['dave@iddflip.test'], 'Results of 15 March');
    const dave = await settled(queueId, 'dave@iddflip.test');
    assert.deepEqual([dave.status, dave.delivered_via], ['notified', 'portal']);
    assert.equal(
      dave.fallback_reason,
      'the DNS of iddflip.test does not prove a secure transport: the MX lookup fails (SERVFAIL: its DNSSEC does not validate or its name servers fail)',
    );
    const evidence = JSON.parse(dave.evidence ?? '{}') as { verdict: { level: string; reasons: string[] }; attempt: unknown };
    assert.deepEqual([evidence.verdict.level, evidence.attempt], ['not-possible', null]);
    assert.equal(notificationsTo('dave@iddflip.test').length, 1);
    assert.equal(server.connections, connectionsBefore, 'the MX of a bogus zone is never contacted');
    assert.equal(server.messages.length, 1);
  });

  test('a domain turned off: its recipients get the notification, nothing is tried directly', async (t) => {
    if (skipped(t)) return;
    const off = await setDirect('idd.test', false);
    assert.equal(off.status, 200, off.text);
    assert.deepEqual({ ...(off.body as object), changedAt: undefined }, { domain: 'idd.test', enabled: false, changedAt: undefined, verdict: null });
    const server = mx.get('idd.test') as SmtpSink;
    const connectionsBefore = server.connections;
    const erin = await settled(await sendSecure(['erin@idd.test'], 'Results of 16 March'), 'erin@idd.test');
    assert.deepEqual([erin.status, erin.delivered_via, erin.fallback_reason], ['notified', 'portal', null]);
    assert.equal(server.connections, connectionsBefore);
  });
});

function spkiSha256(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}
