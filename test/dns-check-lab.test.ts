/**
 * The DNS checker against a real validating resolver: the DNSSEC lab (Unbound over NSD-signed
 * zones on loopback) serving zones written here, one per branch of RFC 7672. Skipped, with the
 * reason, where the lab is missing or cannot start (it needs its Debian packages).
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mxTlsProber } from '../src/delivery/mx-tls-probe.js';
import { cachingResolver } from '../src/dns/caching-resolver.js';
import { checkDomain, type DomainCheckerDeps } from '../src/dns/check/index.js';
import { mtaStsFetcher } from '../src/dns/mta-sts-fetch.js';
import { lookUpA, lookUpMx, lookUpTlsa } from '../src/dns/records.js';
import type { DnsResolver } from '../src/dns/resolver.js';
import { parseServerAddress } from '../src/dns/server-address.js';
import { stubResolver } from '../src/dns/stub-resolver.js';
import { makeLeafCert, makeTestCa } from './support/certs.js';
import { type DnssecLab, startDnssecLab } from './support/dnssec-lab.js';
import { type MtaStsServer, policyText, startMtaStsServer } from './support/mta-sts-server.js';
import { type MxHosts, startMxHosts } from './support/mx-hosts.js';
import { skipWithoutPeer } from './support/peers.js';
import { type TempDir, tempDir } from './support/temp-dir.js';

// This file's own lab, beside any other test file's (the lab's defaults are 127.0.0.53/54).
const RESOLVER_ADDRESS = '127.0.0.63';
const AUTH_ADDRESS = '127.0.0.64';
// A fixed state directory: start.sh stops a lab a crashed earlier run left in it.
const STATE_DIR = join(tmpdir(), 'relaygate-dns-check-lab');
const DKIM = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

function zoneFile(domain: string, mode: string, body: string): string {
  return [
    `; dnssec-lab: ${mode}`,
    `$ORIGIN ${domain}.`,
    '$TTL 300',
    `@ IN SOA ns1.${domain}. hostmaster.${domain}. 1 3600 600 86400 300`,
    `@ IN NS ns1.${domain}.`,
    `ns1 IN A ${AUTH_ADDRESS}`,
    '@ IN MX 10 mx',
    'mx IN A 127.0.0.1',
    '@ IN TXT "v=spf1 mx -all"',
    '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.net"',
    '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.net"',
    `rg1._domainkey IN TXT "${DKIM}"`,
    '_mta-sts IN TXT "v=STSv1; id=20261121T000000"',
    'mta-sts IN A 127.0.0.1',
    body,
    '',
  ].join('\n');
}

describe('DNS checker against the DNSSEC lab', () => {
  let dir: TempDir;
  let lab: DnssecLab | undefined;
  let skip: string | undefined;
  let policies: MtaStsServer;
  let resolver: DnsResolver;
  let mxHost: MxHosts | undefined;
  let deps: DomainCheckerDeps;

  before(async () => {
    dir = await tempDir('relaygate-dns-check-lab-');
    const ca = await makeTestCa();
    // Every zone's MX is 127.0.0.1: one server, with a certificate for each name, answers the probes.
    const mx = await makeLeafCert(ca, ['mx.secure.test', 'mx.stsonly.test', 'mx.insecure.test', 'mx.badtlsa.test']);
    const spki = new X509Certificate(mx.cert).publicKey.export({ type: 'spki', format: 'der' });
    const tlsa = `_25._tcp.mx IN TLSA 3 1 1 ${createHash('sha256').update(spki).digest('hex')}`;
    const zones = join(dir.path, 'zones');
    await mkdir(zones);
    const write = (domain: string, mode: string, body: string) => writeFile(join(zones, `${domain}.zone`), zoneFile(domain, mode, body));
    await write('secure.test', 'secure', tlsa);
    await write('stsonly.test', 'secure', '');
    await write('insecure.test', 'insecure', tlsa);
    await write('bogus.test', 'bogus', tlsa);
    await write('badtlsa.test', 'bad-sig TLSA', tlsa);
    const started = await startDnssecLab({ zonesDir: zones, stateDir: STATE_DIR, resolverAddress: RESOLVER_ADDRESS, authAddress: AUTH_ADDRESS });
    if ('skip' in started) {
      skip = started.skip;
      return;
    }
    lab = started;
    const server = parseServerAddress(lab.resolver);
    if (typeof server === 'string') throw new Error(server);
    resolver = stubResolver({ servers: [server] });
    policies = await startMtaStsServer(dir.path, ['mta-sts.secure.test', 'mta-sts.stsonly.test', 'mta-sts.insecure.test', 'mta-sts.badtlsa.test']);
    for (const domain of ['secure.test', 'stsonly.test', 'insecure.test', 'badtlsa.test'])
      policies.set(`mta-sts.${domain}`, { body: policyText('enforce', [`mx.${domain}`]) });
    mxHost = await startMxHosts([{ name: 'mx.secure.test', address: '127.0.0.1', cert: { cert: mx.chain, key: mx.key } }]);
    deps = {
      resolver,
      fetchMtaStsPolicy: mtaStsFetcher({ resolver, caFile: policies.caFile, port: policies.port }),
      probeMx: mxTlsProber({ port: mxHost.port, heloName: 'relay.example.net', ca: ca.caCert, connectMs: 5_000, sessionMs: 20_000 }),
      isClaimed: async () => true,
      dkimSelectorsFor: async () => [{ selector: 'rg1', algorithm: 'ed25519-sha256', record: DKIM, state: 'active' }],
      gatewayHostname: 'relay.example.net',
      clock: { now: () => Date.now() },
    };
  });
  after(async () => {
    await mxHost?.stop();
    await lab?.stop();
    await policies?.stop();
    await dir?.cleanup();
  });

  test('the AD bit: set on validated answers and denials, not on an unsigned zone; SERVFAIL on bogus data', async (t) => {
    if (skipWithoutPeer(t, skip)) return;
    const cases: [string, () => Promise<unknown>, unknown][] = [
      ['signed MX', async () => brief(await lookUpMx(resolver, 'secure.test')), ['ok', true]],
      ['signed TLSA', async () => brief(await lookUpTlsa(resolver, 'mx.secure.test')), ['ok', true]],
      // NSEC proves the name does not exist, and that proof validates.
      ['signed NXDOMAIN', async () => brief(await lookUpA(resolver, 'nope.secure.test')), ['nxdomain', true]],
      ['signed, no TLSA name', async () => brief(await lookUpTlsa(resolver, 'mx.stsonly.test')), ['nxdomain', true]],
      ['signed NODATA', async () => brief(await lookUpA(resolver, '_dmarc.secure.test')), ['nodata', true]],
      ['unsigned MX', async () => brief(await lookUpMx(resolver, 'insecure.test')), ['ok', false]],
      ['bogus zone', async () => brief(await lookUpMx(resolver, 'bogus.test')), ['servfail']],
      ['bad TLSA signatures: MX still validates', async () => brief(await lookUpMx(resolver, 'badtlsa.test')), ['ok', true]],
      ['bad TLSA signatures: TLSA is bogus', async () => brief(await lookUpTlsa(resolver, 'mx.badtlsa.test')), ['servfail']],
      // The cache keeps the AD bit.
      [
        'through the cache, twice',
        async () => {
          const cached = cachingResolver(resolver);
          return [brief(await lookUpTlsa(cached, 'mx.secure.test')), brief(await lookUpTlsa(cached, 'mx.secure.test')), cached.size];
        },
        [['ok', true], ['ok', true], 1],
      ],
    ];
    for (const [name, run, expected] of cases) assert.deepEqual(await run(), expected, name);
  });

  test('the verdict per zone', async (t) => {
    if (skipWithoutPeer(t, skip)) return;
    const cases: [string, string][] = [
      ['secure.test', 'DNSSEC + DANE'],
      ['stsonly.test', 'DNSSEC + PKIX'],
      ['insecure.test', 'not possible, because its MX records are not DNSSEC-signed'],
      ['bogus.test', 'not possible, because the MX lookup fails (SERVFAIL: its DNSSEC does not validate or its name servers fail)'],
      ['badtlsa.test', 'not possible, because mx.badtlsa.test: its TLSA lookup fails (SERVFAIL), so senders that validate DNSSEC defer to it'],
    ];
    for (const [domain, verdict] of cases) assert.equal((await checkDomain(deps, domain)).directDelivery.text, verdict, domain);
  });

  test('the findings of the secure zone all pass; the others fail where they break', async (t) => {
    if (skipWithoutPeer(t, skip)) return;
    const statuses = async (domain: string) => (await checkDomain(deps, domain)).findings.map((f) => `${f.check} ${f.status}`);
    assert.deepEqual(await statuses('secure.test'), [
      'dnssec pass',
      'mx pass',
      'tlsa pass',
      'starttls pass',
      'mta-sts pass',
      'tls-rpt pass',
      'spf pass',
      'dkim pass',
      'dmarc pass',
    ]);
    assert.deepEqual(await statuses('insecure.test'), [
      'dnssec fail',
      'mx pass',
      'tlsa warn',
      'mta-sts pass',
      'tls-rpt pass',
      'spf pass',
      'dkim pass',
      'dmarc pass',
    ]);
    assert.deepEqual(await statuses('badtlsa.test'), [
      'dnssec pass',
      'mx pass',
      'tlsa fail',
      'starttls pass',
      'mta-sts pass',
      'tls-rpt pass',
      'spf pass',
      'dkim pass',
      'dmarc pass',
    ]);
    const bogus = await checkDomain(deps, 'bogus.test');
    assert.deepEqual(
      bogus.findings.map((f) => `${f.check} ${f.status}`),
      ['dnssec fail', 'mx fail', 'mta-sts fail', 'tls-rpt fail', 'spf fail', 'dkim fail', 'dmarc fail'],
    );
    assert.match(bogus.findings[0]?.summary ?? '', /answered SERVFAIL for bogus\.test MX/);
  });
});

function brief(lookup: Awaited<ReturnType<typeof lookUpMx>> | Awaited<ReturnType<typeof lookUpTlsa>> | Awaited<ReturnType<typeof lookUpA>>): unknown[] {
  return 'authenticated' in lookup ? [lookup.kind, lookup.authenticated] : [lookup.kind];
}
