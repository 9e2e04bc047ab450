import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renderDomainCheck, terminalStyle } from '../src/cli/dns-check-report.js';
import { spkiSha256 } from '../src/delivery/dane-match.js';
import { mxTlsProber } from '../src/delivery/mx-tls-probe.js';
import { checkDomain, type DomainCheck, type DomainCheckerDeps } from '../src/dns/check/index.js';
import { mtaStsFetcher } from '../src/dns/mta-sts-fetch.js';
import type { DnsResolver } from '../src/dns/resolver.js';
import { parseServerAddress, type ServerAddress } from '../src/dns/server-address.js';
import { stubResolver } from '../src/dns/stub-resolver.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { assertProblem } from './support/directory.js';
import { type RecordsEntry, startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { type MtaStsServer, policyText, startMtaStsServer } from './support/mta-sts-server.js';
import { type MxHosts, startMxHosts } from './support/mx-hosts.js';
import { type TempDir, tempDir } from './support/temp-dir.js';

const DKIM = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const NOW = Date.UTC(2026, 10, 21, 10, 30);

/** Where each domain's MX host listens: a loopback address of its own, on the port of `startMxHosts`. */
const MX_ADDRESS: Record<string, string> = { 'dane.test': '127.0.0.141', 'pkix.test': '127.0.0.142', 'unsigned.test': '127.0.0.143' };
/** An address where nothing listens. */
const SILENT_ADDRESS = '127.0.0.144';

/** One CA for the MX hosts' certificates; the dane.test one is pinned by its TLSA record. */
async function mxCertificates(ca: TestCa) {
  const leaf = async (name: string) => {
    const made = await makeLeafCert(ca, [name]);
    return { cert: made.chain, key: made.key, spki: spkiSha256(new X509Certificate(made.cert)) };
  };
  return { dane: await leaf('mx.dane.test'), pkix: await leaf('mx.pkix.test'), unsigned: await leaf('mx.unsigned.test') };
}

function startMxServers(certs: Awaited<ReturnType<typeof mxCertificates>>): Promise<MxHosts> {
  return startMxHosts([
    { name: 'mx.dane.test', address: MX_ADDRESS['dane.test'] as string, cert: certs.dane },
    { name: 'mx.pkix.test', address: MX_ADDRESS['pkix.test'] as string, cert: certs.pkix },
  ]);
}

/**
 * Three mail domains on the local DNS server, each signed or not (the `ad` flag stands for a
 * validating resolver's verdict): dane.test has everything, pkix.test relies on MTA-STS,
 * unsigned.test publishes the same records without DNSSEC. `daneHash` is the TLSA data
 * of mx.dane.test's key.
 */
function zone(policyHost: string, daneHash: string): Record<string, RecordsEntry | 'servfail'> {
  const signed = (entry: RecordsEntry): RecordsEntry => ({ ...entry, ad: true, soa: { ttl: 300, minimum: 300 } });
  const mailDomain = (domain: string, ad: boolean, extra: Record<string, RecordsEntry> = {}) => {
    const mark = (entry: RecordsEntry) => (ad ? signed(entry) : entry);
    return {
      [domain]: mark({ mx: [{ exchange: `mx.${domain}`, priority: 10 }], txt: ['v=spf1 mx -all'] }),
      [`mx.${domain}`]: mark({ a: [MX_ADDRESS[domain] as string] }),
      [`_mta-sts.${domain}`]: mark({ txt: ['v=STSv1; id=20261121T000000'] }),
      [`mta-sts.${domain}`]: mark({ a: [policyHost] }),
      [`_smtp._tls.${domain}`]: mark({ txt: [`v=TLSRPTv1; rua=mailto:tlsrpt@${domain}`] }),
      [`_dmarc.${domain}`]: mark({ txt: ['v=DMARC1; p=reject'] }),
      [`rg1._domainkey.${domain}`]: mark({ txt: [DKIM] }),
      [`_25._tcp.mx.${domain}`]: mark({}),
      ...Object.fromEntries(Object.entries(extra).map(([name, entry]) => [name, mark(entry)])),
    };
  };
  return {
    ...mailDomain('dane.test', true, { '_25._tcp.mx.dane.test': { tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: daneHash }] } }),
    ...mailDomain('pkix.test', true),
    ...mailDomain('unsigned.test', false, { '_25._tcp.mx.unsigned.test': { tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: daneHash }] } }),
    'bogus.test': 'servfail',
  };
}

describe('DNS checker against a local DNS server and MTA-STS policy server', () => {
  let dir: TempDir;
  let dns: TestDnsServer;
  let policies: MtaStsServer;
  let resolver: DnsResolver;
  let deps: DomainCheckerDeps;
  let mx: MxHosts;
  let certs: Awaited<ReturnType<typeof mxCertificates>>;
  let claimed = true;

  before(async () => {
    dir = await tempDir('relaygate-dns-check-');
    policies = await startMtaStsServer(dir.path, ['mta-sts.dane.test', 'mta-sts.pkix.test', 'mta-sts.unsigned.test']);
    for (const domain of ['dane.test', 'pkix.test', 'unsigned.test']) policies.set(`mta-sts.${domain}`, { body: policyText('enforce', [`mx.${domain}`]) });
    const ca = await makeTestCa();
    certs = await mxCertificates(ca);
    mx = await startMxServers(certs);
    dns = await startDnsServer(zone('127.0.0.1', certs.dane.spki));
    resolver = stubResolver({ servers: [server(dns.address)] });
    deps = {
      resolver,
      fetchMtaStsPolicy: mtaStsFetcher({ resolver, caFile: policies.caFile, port: policies.port }),
      probeMx: mxTlsProber({ port: mx.port, heloName: 'relay.example.net', ca: ca.caCert, connectMs: 5_000, sessionMs: 20_000 }),
      isClaimed: async () => claimed,
      dkimSelectorsFor: async () => [{ selector: 'rg1', algorithm: 'ed25519-sha256', record: DKIM, state: 'active' }],
      gatewayHostname: 'relay.example.net',
      clock: { now: () => NOW },
    };
  });
  after(async () => {
    await mx?.stop();
    await dns?.stop();
    await policies?.stop();
    await dir?.cleanup();
  });

  test('a signed domain with DANE and every record passes every check: DNSSEC + DANE', async () => {
    const check = await checkDomain(deps, 'dane.test');
    assert.deepEqual(statuses(check), [
      'dnssec dane.test pass',
      'mx dane.test pass',
      'tlsa _25._tcp.mx.dane.test pass',
      'starttls mx.dane.test pass',
      'mta-sts _mta-sts.dane.test pass',
      'tls-rpt _smtp._tls.dane.test pass',
      'spf dane.test pass',
      'dkim rg1._domainkey.dane.test pass',
      'dmarc _dmarc.dane.test pass',
    ]);
    assert.deepEqual(check.directDelivery, { level: 'dnssec+dane', text: 'DNSSEC + DANE', reasons: [] });
    assert.deepEqual(policies.requests, ['mta-sts.dane.test /.well-known/mta-sts.txt']);
  });

  test('without TLSA, MTA-STS in enforce mode over a signed MX gives DNSSEC + PKIX', async () => {
    const check = await checkDomain(deps, 'pkix.test');
    const tlsa = check.findings.find((f) => f.check === 'tlsa');
    assert.deepEqual([tlsa?.status, tlsa?.summary], ['warn', 'no TLSA record: DANE is not offered for mx.pkix.test']);
    assert.deepEqual(check.directDelivery, { level: 'dnssec+pkix', text: 'DNSSEC + PKIX', reasons: [] });
  });

  test('the probe: a DANE host whose key is not the one its TLSA record names fails, with the record for the key it presents', async () => {
    const signed = { ad: true, soa: { ttl: 300, minimum: 300 } };
    dns.set('_25._tcp.mx.dane.test', { ...signed, tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: certs.pkix.spki }] });
    try {
      const check = await checkDomain(deps, 'dane.test');
      assert.equal(check.findings.find((f) => f.check === 'tlsa')?.status, 'pass', 'the DNS alone still looks right');
      const probe = check.findings.find((f) => f.check === 'starttls');
      assert.deepEqual(
        [probe?.status, probe?.summary],
        ['fail', 'the certificate mx.dane.test presents matches none of its TLSA records: no TLSA record matched the certificate of mx.dane.test'],
      );
      assert.deepEqual(probe?.fix?.records, [{ name: '_25._tcp.mx.dane.test', type: 'TLSA', value: `3 1 1 ${certs.dane.spki}` }]);
      assert.deepEqual(probe?.found, [`127.0.0.141: TLSv1.3, key 3 1 1 ${certs.dane.spki}`]);
      assert.deepEqual(check.directDelivery, {
        level: 'not-possible',
        text: 'not possible, because mx.dane.test: its certificate matches none of its TLSA records (no TLSA record matched the certificate of mx.dane.test)',
        reasons: ['mx.dane.test: its certificate matches none of its TLSA records (no TLSA record matched the certificate of mx.dane.test)'],
      });
    } finally {
      dns.set('_25._tcp.mx.dane.test', { ...signed, tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: certs.dane.spki }] });
    }
  });

  test('the probe: under MTA-STS a certificate for another name, or a host that does not answer, is no PKIX proof', async () => {
    const signed = { ad: true, soa: { ttl: 300, minimum: 300 } };
    // mx.pkix.test now points at the server of mx.dane.test, whose certificate names only that.
    dns.set('mx.pkix.test', { ...signed, a: [MX_ADDRESS['dane.test'] as string] });
    try {
      const check = await checkDomain(deps, 'pkix.test');
      const probe = check.findings.find((f) => f.check === 'starttls');
      assert.deepEqual([probe?.status, probe?.fix?.action], ['fail', 'change']);
      assert.match(probe?.summary ?? '', /^its certificate does not authenticate it under the MTA-STS policy: ERR_TLS_CERT_ALTNAME_INVALID$/);
      assert.deepEqual(check.directDelivery.reasons, ['mx.pkix.test: its certificate is not valid for it (ERR_TLS_CERT_ALTNAME_INVALID)']);

      dns.set('mx.pkix.test', { ...signed, a: [SILENT_ADDRESS] });
      const silent = await checkDomain(deps, 'pkix.test');
      const unreachable = silent.findings.find((f) => f.check === 'starttls');
      assert.equal(unreachable?.status, 'fail');
      assert.match(unreachable?.summary ?? '', new RegExp(`^could not be probed: ${SILENT_ADDRESS.replaceAll('.', '\\.')} port \\d+: .*ECONNREFUSED`));
      assert.equal(silent.directDelivery.level, 'not-possible');
      assert.match(silent.directDelivery.text, /^not possible, because mx\.pkix\.test: it could not be probed \(/);
    } finally {
      dns.set('mx.pkix.test', { ...signed, a: [MX_ADDRESS['pkix.test'] as string] });
    }
    assert.equal((await checkDomain(deps, 'pkix.test')).directDelivery.level, 'dnssec+pkix');
  });

  test('the probe asks nothing of an unsigned domain, and QUITs before any envelope', async () => {
    const before = [...mx.sinks.values()].map((sink) => sink.connections);
    await checkDomain(deps, 'unsigned.test');
    assert.deepEqual(
      [...mx.sinks.values()].map((sink) => sink.connections),
      before,
    );
    await checkDomain(deps, 'dane.test');
    assert.equal(mx.sinks.get('mx.dane.test')?.connections, (before[0] ?? 0) + 1);
    assert.deepEqual(
      [...mx.sinks.values()].flatMap((sink) => sink.messages),
      [],
    );
  });

  test('a recipient domain (not claimed) is not judged on SPF, DKIM and DMARC: those are about the gateway’s own mail', async () => {
    claimed = false;
    try {
      const check = await checkDomain(deps, 'dane.test');
      assert.deepEqual(
        check.findings.map((f) => f.check),
        ['dnssec', 'mx', 'tlsa', 'starttls', 'mta-sts', 'tls-rpt'],
      );
      assert.equal(check.directDelivery.level, 'dnssec+dane');
    } finally {
      claimed = true;
    }
  });

  test('the same records unsigned: not possible, and DNSSEC fails with what to do', async () => {
    const check = await checkDomain(deps, 'unsigned.test');
    assert.equal(check.directDelivery.text, 'not possible, because its MX records are not DNSSEC-signed');
    const [dnssec] = check.findings;
    assert.deepEqual([dnssec?.status, dnssec?.fix?.action], ['fail', 'change']);
    assert.equal(check.findings.find((f) => f.check === 'tlsa')?.summary, 'DANE does not apply: the MX records are not DNSSEC-validated (RFC 7672 §2.2.1)');
  });

  test('SERVFAIL is reported where it happens, and blocks direct delivery', async () => {
    const check = await checkDomain(deps, 'bogus.test');
    assert.deepEqual(
      check.findings.slice(0, 2).map((f) => [f.check, f.status, f.summary]),
      [
        [
          'dnssec',
          'fail',
          `DNSSEC validation fails or the name servers fail: the DNS resolver ${dns.address} answered SERVFAIL for bogus.test MX: the domain's name servers failed or its DNSSEC did not validate`,
        ],
        ['mx', 'fail', `the DNS resolver ${dns.address} answered SERVFAIL for bogus.test MX: the domain's name servers failed or its DNSSEC did not validate`],
      ],
    );
    assert.equal(check.directDelivery.text, 'not possible, because the MX lookup fails (SERVFAIL: its DNSSEC does not validate or its name servers fail)');
  });

  test('the policy fetch: the configured CA is trusted, the system store alone is not; redirects are not followed', async () => {
    const untrusted = await mtaStsFetcher({ resolver, port: policies.port })('dane.test');
    assert.equal(untrusted.kind, 'unreachable');
    assert.match(
      untrusted.kind === 'unreachable' ? untrusted.detail : '',
      /^https:\/\/mta-sts\.dane\.test:\d+\/\.well-known\/mta-sts\.txt: .*(self-signed|local issuer)/i,
    );
    const fetch = mtaStsFetcher({ resolver, caFile: policies.caFile, port: policies.port });
    policies.set('mta-sts.pkix.test', { status: 301, body: '', headers: { location: 'https://elsewhere.test/' } });
    assert.deepEqual(await fetch('pkix.test'), {
      kind: 'http-status',
      url: `https://mta-sts.pkix.test:${policies.port}/.well-known/mta-sts.txt`,
      status: 301,
      detail: `https://mta-sts.pkix.test:${policies.port}/.well-known/mta-sts.txt answered HTTP 301 (redirects are not followed, RFC 8461 §3.3)`,
    });
    policies.set('mta-sts.pkix.test', { body: 'version: STSv1\r\nmode: sometimes\r\n' });
    const invalid = await fetch('pkix.test');
    assert.deepEqual([invalid.kind, invalid.kind === 'invalid' && invalid.detail.endsWith('Invalid mode field (RFC 8461 §3.2)')], ['invalid', true]);
    const missing = await fetch('nowhere.test');
    assert.deepEqual(missing, {
      kind: 'unreachable',
      url: `https://mta-sts.nowhere.test:${policies.port}/.well-known/mta-sts.txt`,
      detail: 'mta-sts.nowhere.test does not exist (NXDOMAIN)',
    });
    const check = await checkDomain(deps, 'pkix.test');
    assert.equal(check.findings.find((f) => f.check === 'mta-sts')?.status, 'fail');
    assert.match(check.directDelivery.text, /^not possible, because mx\.pkix\.test: no TLSA record, and no MTA-STS policy in enforce mode lists it$/);
    policies.set('mta-sts.pkix.test', { body: policyText('enforce', ['mx.pkix.test']) });
  });

  test('the table: one row per finding, fixes under their rows, colour only for a terminal without NO_COLOR', async () => {
    dns.set('_dmarc.pkix.test', { ad: true, txt: ['v=DMARC1; p=none'] });
    const check = await checkDomain(deps, 'pkix.test');
    const plain = renderDomainCheck(check, { color: false });
    assert.equal(
      plain,
      [
        'DNS check of pkix.test, 2026-11-21T10:30:00Z',
        '',
        'CHECK     STATUS  NAME                      RESULT',
        'dnssec    pass    pkix.test                 the answers for pkix.test are DNSSEC-validated (the resolver set the AD bit)',
        'mx        pass    pkix.test                 10 mx.pkix.test (127.0.0.142)',
        'tlsa      warn    _25._tcp.mx.pkix.test     no TLSA record: DANE is not offered for mx.pkix.test',
        '          fix (publish): DANE-EE (3 1 1) pins the server key and survives certificate renewals with the same key; compute it with `openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`, and publish the next key beside it before a key change (RFC 7671 §8.1)',
        "            _25._tcp.mx.pkix.test  TLSA  3 1 1 <SHA-256 of the public key (SPKI) of mx.pkix.test's certificate>",
        'starttls  pass    mx.pkix.test              STARTTLS, with a certificate valid for its name (PKIX)',
        'mta-sts   pass    _mta-sts.pkix.test        mode enforce, max_age 604800 s, mx mx.pkix.test: every MX host is covered',
        'tls-rpt   pass    _smtp._tls.pkix.test      reports go to mailto:tlsrpt@pkix.test',
        'spf       pass    pkix.test                 v=spf1 mx -all (unlisted hosts fail)',
        'dkim      pass    rg1._domainkey.pkix.test  published (ed25519-sha256 key, active)',
        'dmarc     warn    _dmarc.pkix.test          p=none, no aggregate reports (rua=): failing mail is only reported, never refused',
        '          fix (change): move to p=quarantine, then p=reject, once the reports show your own mail passes',
        '            _dmarc.pkix.test  TXT  "v=DMARC1; p=quarantine"',
        '',
        'Inbound direct delivery: DNSSEC + PKIX',
        '',
      ].join('\n'),
    );
    const coloured = renderDomainCheck(check, { color: true });
    assert.ok(coloured.includes('\x1b[32mpass  \x1b[0m') && coloured.includes('\x1b[33mwarn  \x1b[0m'), coloured);
    assert.equal(coloured.replace(/\x1b\[\d+m/g, ''), plain);
    assert.deepEqual(
      [
        terminalStyle({ isTTY: true }, {}),
        terminalStyle({ isTTY: true }, { NO_COLOR: '1' }),
        terminalStyle({ isTTY: false }, {}),
        terminalStyle({}, { NO_COLOR: '' }),
      ],
      [{ color: true }, { color: false }, { color: false }, { color: false }],
    );
  });
});

describe('relaygate dns check and GET /api/v1/dns-check/{domain}', () => {
  let dir: TempDir;
  let dns: TestDnsServer;
  let policies: MtaStsServer;
  let gw: TestGateway;
  let token: string;
  let mx: MxHosts;
  let caFile: string;

  before(async () => {
    dir = await tempDir('relaygate-dns-check-');
    policies = await startMtaStsServer(dir.path, ['mta-sts.dane.test']);
    policies.set('mta-sts.dane.test', { body: policyText('enforce', ['mx.dane.test']) });
    const ca = await makeTestCa();
    const certs = await mxCertificates(ca);
    mx = await startMxServers(certs);
    dns = await startDnsServer(zone('127.0.0.1', certs.dane.spki));
    // delivery.caFile: the trust for the MTA-STS fetch and for the MX probe.
    caFile = join(dir.path, 'delivery-ca.pem');
    await writeFile(caFile, `${await readFile(policies.caFile, 'utf8')}\n${ca.caCert}`);
    gw = await startTestGateway({ dnsResolver: dns.address, 'delivery.caFile': caFile, 'delivery.mtaStsPort': policies.port, 'delivery.mxPort': mx.port });
    token = await gw.createApiToken('dns check');
  });
  after(async () => {
    await gw?.stop();
    await mx?.stop();
    await dns?.stop();
    await policies?.stop();
    await dir?.cleanup();
  });

  test('the API answers the check with the verdict; the CLI prints the same as JSON, and a table', async () => {
    const response = await gw.api('/api/v1/dns-check/dane.test', { token });
    assert.equal(response.status, 200, response.text);
    const body = response.body as DomainCheck & { checkedAt: string };
    assert.deepEqual(body.directDelivery, { level: 'dnssec+dane', text: 'DNSSEC + DANE', reasons: [] });
    // dane.test is a recipient domain, not one of the gateway's: its SPF, DKIM and DMARC are
    // not about the gateway's mail, so they are not judged.
    assert.deepEqual(
      body.findings.map((f) => [f.check, f.status]),
      [
        ['dnssec', 'pass'],
        ['mx', 'pass'],
        ['tlsa', 'pass'],
        ['starttls', 'pass'],
        ['mta-sts', 'pass'],
        ['tls-rpt', 'pass'],
      ],
    );
    assert.equal(body.findings[3]?.summary, 'STARTTLS, and the certificate matches TLSA 3 1 1');
    assert.match(body.checkedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const env = gatewayEnv(gw.dataDir, {
      RELAYGATE_DNS_RESOLVER: dns.address,
      RELAYGATE_DELIVERY_CA: caFile,
      RELAYGATE_DELIVERY_MTA_STS_PORT: String(policies.port),
      RELAYGATE_DELIVERY_MX_PORT: String(mx.port),
      NO_COLOR: '',
    });
    const json = await runCli(['dns', 'check', 'dane.test', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const { checkedAt: _cli, ...fromCli } = JSON.parse(json.stdout) as typeof body;
    const { checkedAt: _api, ...fromApi } = body;
    assert.deepEqual(fromCli, fromApi);

    const table = await runCli(['dns', 'check', 'dane.test'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^DNS check of dane\.test, \S+\n\nCHECK {5}STATUS {2}NAME {2,}RESULT\n/);
    assert.match(table.stdout, /\ntlsa {6}pass {4}_25\._tcp\.mx\.dane\.test {2,}1 usable TLSA record \(DANE-EE 3 1 1\): DANE authenticates mx\.dane\.test\n/);
    assert.match(table.stdout, /\n\nInbound direct delivery: DNSSEC \+ DANE\n$/);
    assert.doesNotMatch(table.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
  });

  test('a name that is not a domain is refused before any lookup', async () => {
    const asked = dns.queries.length;
    assertProblem(await gw.api('/api/v1/dns-check/Example.COM', { token }), 422, '"Example.COM" must be lowercase: use "example.com"', 'domain');
    assert.equal((await gw.api('/api/v1/dns-check/dane.test')).status, 401);
    const cli = await runCli(['dns', 'check', 'example.com.'], gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: dns.address }));
    assert.deepEqual([cli.code, cli.stderr.trim()], [1, 'relaygate: "example.com." must not end with a dot: use "example.com"']);
    assert.equal(dns.queries.length, asked);
  });
});

function statuses(check: DomainCheck): string[] {
  return check.findings.map((f) => `${f.check} ${f.subject} ${f.status}`);
}

function server(address: string): ServerAddress {
  const parsed = parseServerAddress(address);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}
