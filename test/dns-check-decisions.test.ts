import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeDkim } from '../src/dns/check/dkim.js';
import { judgeDmarc } from '../src/dns/check/dmarc.js';
import { judgeDnssec } from '../src/dns/check/dnssec.js';
import type { CheckStatus, Finding } from '../src/dns/check/finding.js';
import { quoted } from '../src/dns/check/finding.js';
import { judgeMtaSts, type MtaStsFacts, policyCoversMx } from '../src/dns/check/mta-sts.js';
import { judgeMx, type MxHost } from '../src/dns/check/mx.js';
import { judgeSpf } from '../src/dns/check/spf.js';
import { judgeTlsRpt } from '../src/dns/check/tls-rpt.js';
import { type HostDane, judgeTlsa, tlsaProblem } from '../src/dns/check/tlsa.js';
import { directDeliveryVerdict } from '../src/dns/check/verdict.js';
import type { MtaStsPolicy, PolicyFetch } from '../src/dns/mta-sts-fetch.js';
import type { Lookup, MxRecord, TlsaRecord } from '../src/dns/records.js';

// Lookups as the records helpers return them.
const ok = <T>(records: T[], authenticated = true): Lookup<T> => ({ kind: 'ok', records, authenticated, ttlSeconds: 300 });
const nodata = (authenticated = true): Lookup<never> => ({ kind: 'nodata', authenticated, detail: 'no record' });
const nxdomain = (authenticated = true): Lookup<never> => ({ kind: 'nxdomain', authenticated, detail: 'does not exist (NXDOMAIN)' });
const servfail: Lookup<never> = { kind: 'servfail', detail: 'the DNS resolver answered SERVFAIL' };
const timeout: Lookup<never> = { kind: 'timeout', detail: 'no answer' };

const sha256 = Buffer.alloc(32, 0xab);
const tlsa = (usage: number, selector: number, matchingType: number, data = sha256): TlsaRecord => ({ usage, selector, matchingType, data });
const host = (name: string, authenticated = true, a: Lookup<string> = ok(['192.0.2.25'], authenticated)): MxHost => ({
  name,
  preference: 10,
  a,
  aaaa: nodata(authenticated),
});
const brief = (f: Finding) => [f.status, f.summary] as const;

describe('DNSSEC and MX', () => {
  test('DNSSEC is read from the AD bit of the MX answer, positive or denial', () => {
    const cases: [string, Lookup<MxRecord>, CheckStatus][] = [
      ['validated answer', ok([{ exchange: 'mx.example.com', preference: 10 }]), 'pass'],
      ['validated denial', nodata(true), 'pass'],
      ['unsigned', ok([{ exchange: 'mx.example.com', preference: 10 }], false), 'fail'],
      ['bogus or broken', servfail, 'fail'],
      ['no answer', timeout, 'fail'],
    ];
    for (const [name, lookup, status] of cases) assert.equal(judgeDnssec('example.com', lookup).status, status, name);
  });

  test('MX: every host must resolve; a null MX or none at all fails with the record to publish', () => {
    const mx = ok([
      { exchange: 'mx1.example.com', preference: 10 },
      { exchange: 'mx2.example.com', preference: 20 },
    ]);
    const cases: [string, Parameters<typeof judgeMx>[1], CheckStatus, string][] = [
      [
        'both resolve',
        { lookup: mx, hosts: [host('mx1.example.com'), host('mx2.example.com')] },
        'pass',
        '10 mx1.example.com (192.0.2.25); 10 mx2.example.com (192.0.2.25)',
      ],
      [
        'one unresolvable',
        { lookup: mx, hosts: [host('mx1.example.com'), host('mx2.example.com', true, nxdomain())] },
        'warn',
        '10 mx2.example.com (does not exist)',
      ],
      ['none resolvable', { lookup: mx, hosts: [host('mx1.example.com', true, servfail)] }, 'fail', 'no address: the DNS resolver answered SERVFAIL'],
      ['null MX', { lookup: ok([{ exchange: '', preference: 0 }]), hosts: [] }, 'fail', 'null MX'],
      ['no MX', { lookup: nodata(), hosts: [] }, 'fail', 'example.com has no MX record'],
    ];
    for (const [name, facts, status, summary] of cases) {
      const f = judgeMx('example.com', facts);
      assert.equal(f.status, status, name);
      assert.ok(f.summary.includes(summary), `${name}: ${f.summary}`);
    }
    assert.deepEqual(judgeMx('example.com', { lookup: nodata(), hosts: [] }).fix?.records, [
      { name: 'example.com', type: 'MX', value: '10 <host that receives mail>.' },
    ]);
  });
});

describe('TLSA per MX host (RFC 7672)', () => {
  test('which records authenticate an SMTP server', () => {
    const cases: [TlsaRecord, string | undefined][] = [
      [tlsa(3, 1, 1), undefined],
      [tlsa(2, 0, 1), undefined],
      [tlsa(3, 1, 2, Buffer.alloc(64)), undefined],
      [tlsa(2, 0, 0, Buffer.from('3082', 'hex')), undefined],
      // PKIX-TA and PKIX-EE are unusable for SMTP (§3.1.3).
      [tlsa(0, 0, 1), 'usage 0 (PKIX-TA) is not usable for SMTP (RFC 7672 §3.1.3)'],
      [tlsa(1, 1, 1), 'usage 1 (PKIX-EE) is not usable for SMTP (RFC 7672 §3.1.3)'],
      [tlsa(4, 1, 1), 'usage 4 is unknown'],
      [tlsa(3, 2, 1), 'selector 2 is unknown'],
      [tlsa(3, 1, 3), 'matching type 3 is unknown'],
      [tlsa(3, 1, 1, Buffer.alloc(31)), 'the digest has 31 bytes instead of 32'],
      [tlsa(3, 1, 0, Buffer.alloc(0)), 'the data is empty'],
    ];
    for (const [record, problem] of cases) assert.equal(tlsaProblem(record), problem, JSON.stringify(record));
  });

  test('what DANE does for a host, and the finding', () => {
    const cases: [string, MxHost, boolean, Lookup<TlsaRecord>, HostDane, CheckStatus][] = [
      ['validated 3 1 1', host('mx.example.com'), true, ok([tlsa(3, 1, 1)]), 'usable', 'pass'],
      ['usable beside an unusable one', host('mx.example.com'), true, ok([tlsa(3, 1, 1), tlsa(1, 1, 1)]), 'usable', 'warn'],
      ['only PKIX usages', host('mx.example.com'), true, ok([tlsa(0, 0, 1), tlsa(1, 1, 1)]), 'unusable', 'fail'],
      ['no TLSA', host('mx.example.com'), true, nodata(), 'absent', 'warn'],
      ['TLSA not validated', host('mx.example.com'), true, ok([tlsa(3, 1, 1)], false), 'insecure', 'warn'],
      // §2.2.1: an MX RRset that is not validated leaves DANE out, TLSA or not.
      ['MX not validated', host('mx.example.com'), false, ok([tlsa(3, 1, 1)]), 'insecure', 'warn'],
      // §2.2.2: so do address records that are not.
      ['address not validated', host('mx.example.com', false), true, ok([tlsa(3, 1, 1)]), 'insecure', 'warn'],
      // §2.2: bogus TLSA means defer, never fall back.
      ['TLSA SERVFAIL', host('mx.example.com'), true, servfail, 'failed', 'fail'],
      ['TLSA SERVFAIL, MX unsigned too', host('mx.example.com'), false, servfail, 'failed', 'fail'],
      ['no address', host('mx.example.com', true, nxdomain()), true, ok([tlsa(3, 1, 1)]), 'failed', 'fail'],
    ];
    for (const [name, mxHost, mxAuthenticated, lookup, dane, status] of cases) {
      const judged = judgeTlsa({ host: mxHost, tlsa: lookup }, mxAuthenticated);
      assert.deepEqual([judged.dane, judged.finding.status], [dane, status], name);
      assert.equal(judged.finding.subject, '_25._tcp.mx.example.com');
      assert.equal(judged.gap === '', dane === 'usable', `${name}: a gap unless usable`);
    }
    const absent = judgeTlsa({ host: host('mx.example.com'), tlsa: nodata() }, true).finding;
    assert.deepEqual(absent.fix?.records, [
      { name: '_25._tcp.mx.example.com', type: 'TLSA', value: "3 1 1 <SHA-256 of the public key (SPKI) of mx.example.com's certificate>" },
    ]);
    assert.equal(
      judgeTlsa({ host: host('mx.example.com'), tlsa: ok([tlsa(3, 1, 1)]) }, true).finding.summary,
      '1 usable TLSA record (DANE-EE 3 1 1): DANE authenticates mx.example.com',
    );
  });
});

describe('MTA-STS (RFC 8461)', () => {
  const policy = (mode: MtaStsPolicy['mode'], mx: string[], maxAgeSeconds = 604_800): MtaStsPolicy => ({ mode, mx, maxAgeSeconds });
  const fetched = (p: MtaStsPolicy, contentType = 'text/plain'): PolicyFetch => ({
    kind: 'ok',
    url: 'https://mta-sts.example.com/.well-known/mta-sts.txt',
    policy: p,
    body: '',
    contentType,
  });
  const facts = (records: string[], id: MtaStsFacts['id'], fetch: PolicyFetch | null = null): MtaStsFacts => ({ txt: ok(records), id, fetch });
  const hosts = ['mx1.example.com', 'mx2.example.com'];

  test('mx patterns: a wildcard stands for exactly one leftmost label (§4.1)', () => {
    const cases: [string, string[], boolean][] = [
      ['mx1.example.com', ['mx1.example.com'], true],
      ['MX1.example.com', ['mx1.example.com'], true],
      ['mx1.example.com', ['*.example.com'], true],
      ['a.mx1.example.com', ['*.example.com'], false],
      ['example.com', ['*.example.com'], false],
      ['mx1.example.com', ['mx2.example.com'], false],
    ];
    for (const [mxHost, mx, covered] of cases) assert.equal(policyCoversMx(mxHost, policy('enforce', mx)), covered, `${mxHost} ${mx}`);
  });

  test('record, policy and coverage', () => {
    const sts = ['v=STSv1; id=20240101T000000'];
    const cases: [string, MtaStsFacts, CheckStatus, string, boolean][] = [
      // [case, facts, status, in the summary, a policy senders apply]
      ['no record', { txt: nodata(), id: false, fetch: null }, 'warn', 'no MTA-STS policy', false],
      ['other TXT only', facts(['v=spf1 -all'], false), 'warn', 'no MTA-STS policy', false],
      ['TXT lookup fails', { txt: servfail, id: false, fetch: null }, 'fail', 'SERVFAIL', false],
      ['two records', facts([...sts, 'v=STSv1; id=2'], { problem: 'several v=STSv1 records' }), 'fail', 'several v=STSv1 records', false],
      ['no id', facts(['v=STSv1;'], false), 'fail', 'no valid id=', false],
      ['bad id', facts(['v=STSv1; id=2024-01-01'], '2024-01-01'), 'fail', 'no valid id=', false],
      [
        'policy unreachable',
        facts(sts, '20240101T000000', {
          kind: 'unreachable',
          url: 'u',
          detail: 'https://mta-sts.example.com/.well-known/mta-sts.txt: self-signed certificate',
        }),
        'fail',
        'self-signed certificate',
        false,
      ],
      ['policy 404', facts(sts, '20240101T000000', { kind: 'http-status', url: 'u', status: 404, detail: 'u answered HTTP 404' }), 'fail', 'HTTP 404', false],
      [
        'enforce, all covered',
        facts(sts, '20240101T000000', fetched(policy('enforce', ['mx1.example.com', '*.example.com']))),
        'pass',
        'every MX host is covered',
        true,
      ],
      [
        'enforce, one missing',
        facts(sts, '20240101T000000', fetched(policy('enforce', ['mx1.example.com']))),
        'fail',
        'mx2.example.com not listed, so senders that enforce MTA-STS do not deliver to it',
        true,
      ],
      ['testing', facts(sts, '20240101T000000', fetched(policy('testing', hosts))), 'warn', 'deliver anyway', true],
      ['none', facts(sts, '20240101T000000', fetched(policy('none', []))), 'warn', 'withdrawn', true],
      ['short max_age', facts(sts, '20240101T000000', fetched(policy('enforce', hosts, 3600))), 'warn', 'max_age is under a day', true],
      ['wrong media type', facts(sts, '20240101T000000', fetched(policy('enforce', hosts), 'text/html')), 'warn', 'instead of text/plain', true],
    ];
    for (const [name, given, status, summary, applies] of cases) {
      const judged = judgeMtaSts('example.com', given, hosts, Date.UTC(2026, 10, 21, 10, 30));
      assert.equal(judged.finding.status, status, `${name}: ${judged.finding.summary}`);
      assert.ok(judged.finding.summary.includes(summary), `${name}: ${judged.finding.summary}`);
      assert.equal(judged.policy !== null, applies, name);
    }
  });

  test('the fix names the record and the policy file to serve', () => {
    const none = judgeMtaSts('example.com', { txt: nodata(), id: false, fetch: null }, hosts, Date.UTC(2026, 10, 21, 10, 30)).finding.fix;
    assert.deepEqual(none?.records, [{ name: '_mta-sts.example.com', type: 'TXT', value: '"v=STSv1; id=20261121T103000"' }]);
    assert.deepEqual(none?.file, {
      url: 'https://mta-sts.example.com/.well-known/mta-sts.txt',
      contentType: 'text/plain',
      content: 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\nmax_age: 604800\r\n',
    });
    const missing = judgeMtaSts('example.com', facts(['v=STSv1; id=1'], '1', fetched(policy('testing', ['mx1.example.com'], 600))), hosts, 0).finding.fix;
    assert.equal(missing?.file?.content, 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\nmax_age: 604800\r\n');
    assert.match(missing?.how ?? '', /then change the id in _mta-sts\.example\.com/);
  });
});

describe('TLS-RPT, SPF, DKIM, DMARC', () => {
  test('TLS-RPT (RFC 8460 §3)', () => {
    const cases: [string, Lookup<string>, CheckStatus][] = [
      ['mailto', ok(['v=TLSRPTv1; rua=mailto:tls@example.com']), 'pass'],
      ['two URIs', ok(['v=TLSRPTv1;rua=mailto:tls@example.com,https://reports.example.com/tls']), 'pass'],
      ['missing', nxdomain(), 'warn'],
      ['two records', ok(['v=TLSRPTv1; rua=mailto:a@example.com', 'v=TLSRPTv1; rua=mailto:b@example.com']), 'fail'],
      ['no rua', ok(['v=TLSRPTv1;']), 'fail'],
      ['http URI', ok(['v=TLSRPTv1; rua=http://example.com/r']), 'fail'],
      ['lookup fails', timeout, 'fail'],
    ];
    for (const [name, lookup, status] of cases) assert.equal(judgeTlsRpt('example.com', lookup).status, status, name);
    assert.deepEqual(judgeTlsRpt('example.com', nodata()).fix?.records, [
      { name: '_smtp._tls.example.com', type: 'TXT', value: '"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"' },
    ]);
  });

  test('SPF (RFC 7208)', () => {
    const cases: [string, Lookup<string>, CheckStatus, string | undefined][] = [
      // [case, TXT at the domain, status, the record the fix suggests]
      ['-all', ok(['v=spf1 mx -all', 'google-site-verification=x']), 'pass', undefined],
      ['~all', ok(['v=spf1 ip4:192.0.2.0/24 ~all']), 'pass', undefined],
      ['redirect', ok(['v=spf1 redirect=_spf.example.net']), 'pass', undefined],
      ['missing', nodata(), 'fail', '"v=spf1 mx a:relay.example.net -all"'],
      ['two records', ok(['v=spf1 -all', 'v=spf1 mx -all']), 'fail', undefined],
      ['+all', ok(['v=spf1 +all']), 'fail', '"v=spf1 mx a:relay.example.net -all"'],
      ['?all and nothing listed', ok(['v=spf1 ?all']), 'warn', '"v=spf1 mx a:relay.example.net -all"'],
      ['bare all', ok(['v=spf1 mx all']), 'fail', '"v=spf1 mx -all"'],
      ['?all', ok(['v=spf1 mx ?all']), 'warn', '"v=spf1 mx -all"'],
      ['no all', ok(['v=spf1 a mx']), 'warn', '"v=spf1 a mx -all"'],
      ['not SPF', ok(['v=spf10 -all']), 'fail', '"v=spf1 mx a:relay.example.net -all"'],
      ['lookup fails', servfail, 'fail', undefined],
    ];
    for (const [name, lookup, status, suggested] of cases) {
      const f = judgeSpf('example.com', lookup, 'relay.example.net');
      assert.deepEqual([f.status, f.fix?.records[0]?.value], [status, suggested], name);
    }
  });

  test('DKIM: each of the gateway keys must be published as given', () => {
    const record = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
    const selector = { selector: 'rg2026a', algorithm: 'ed25519-sha256', record, state: 'active' };
    const cases: [string, Lookup<string>, CheckStatus, string | undefined][] = [
      ['published', ok([record]), 'pass', undefined],
      ['published, split and folded', ok(['v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7h cvPapiMlrwIaaPcHURo=']), 'pass', undefined],
      ['missing', nxdomain(), 'fail', 'publish'],
      ['another key', ok(['v=DKIM1; k=ed25519; p=AAAA']), 'fail', 'replace'],
      ['same p, other type', ok(['v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=']), 'fail', 'replace'],
      ['revoked (empty p=)', ok(['v=DKIM1; k=ed25519; p=']), 'fail', 'replace'],
      ['lookup fails', servfail, 'fail', undefined],
    ];
    for (const [name, lookup, status, action] of cases) {
      const [f] = judgeDkim('example.com', { selectors: [{ selector, lookup }] });
      assert.deepEqual([f?.status, f?.fix?.action, f?.subject], [status, action, 'rg2026a._domainkey.example.com'], name);
    }
    assert.deepEqual(brief(judgeDkim('example.com', { selectors: [] })[0] as Finding), [
      'warn',
      'the gateway has no DKIM key for example.com, so it cannot sign its mail',
    ]);
    assert.deepEqual(brief(judgeDkim('example.com', { selectors: { problem: 'no store' } })[0] as Finding), ['fail', 'no store']);
  });

  test('DMARC (RFC 7489), with a subdomain governed by its parent', () => {
    const own = (lookup: Lookup<string>) => [{ name: '_dmarc.example.com', lookup }];
    const cases: [string, { name: string; lookup: Lookup<string> }[], CheckStatus, string][] = [
      ['reject', own(ok(['v=DMARC1; p=reject; rua=mailto:d@example.com'])), 'pass', 'p=reject, reports to mailto:d@example.com'],
      ['quarantine, no rua', own(ok(['v=DMARC1; p=quarantine'])), 'pass', 'p=quarantine, no aggregate reports (rua=)'],
      ['none', own(ok(['v=DMARC1; p=none'])), 'warn', 'p=none, no aggregate reports (rua=): failing mail is only reported, never refused'],
      ['missing', own(nxdomain()), 'fail', 'no DMARC record'],
      ['two', own(ok(['v=DMARC1; p=reject', 'v=DMARC1; p=none'])), 'fail', 'several v=DMARC1 records'],
      ['no p=', own(ok(['v=DMARC1; rua=mailto:d@example.com'])), 'fail', 'the record has no valid p='],
      ['lookup fails', own(servfail), 'fail', 'the DNS resolver answered SERVFAIL'],
    ];
    for (const [name, facts, status, summary] of cases) {
      const f = judgeDmarc('example.com', facts);
      assert.equal(f.status, status, name);
      assert.ok(f.summary.startsWith(summary), `${name}: ${f.summary}`);
    }
    // RFC 7489 §6.3: sp= governs subdomains.
    const inherited = judgeDmarc('mail.example.com', [
      { name: '_dmarc.mail.example.com', lookup: nxdomain() },
      { name: '_dmarc.example.com', lookup: ok(['v=DMARC1; p=reject; sp=none']) },
    ]);
    assert.deepEqual([inherited.status, inherited.subject], ['warn', '_dmarc.example.com']);
    assert.match(inherited.summary, /^p=none \(from _dmarc\.example\.com, the parent's policy for subdomains\)/);
    assert.deepEqual(inherited.fix?.records, [
      { name: '_dmarc.mail.example.com', type: 'TXT', value: '"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@mail.example.com"' },
    ]);
  });

  test('TXT values are quoted for a zone file and cut into 255-octet strings', () => {
    assert.equal(quoted('v=spf1 -all'), '"v=spf1 -all"');
    assert.equal(quoted('a "b" \\'), '"a \\"b\\" \\\\"');
    assert.equal(quoted('x'.repeat(300)), `"${'x'.repeat(255)}" "${'x'.repeat(45)}"`);
  });
});

describe('inbound direct delivery verdict', () => {
  const signedMx = ok([
    { exchange: 'mx1.example.com', preference: 10 },
    { exchange: 'mx2.example.com', preference: 20 },
  ]);
  const enforce: MtaStsPolicy = { mode: 'enforce', mx: ['*.example.com'], maxAgeSeconds: 604_800 };
  const h = (name: string, dane: HostDane) => ({ name, dane, gap: dane === 'usable' ? '' : `gap of ${name}` });

  test('DANE on every host, or DANE and MTA-STS enforce between them, over a signed MX', () => {
    const cases: [string, Parameters<typeof directDeliveryVerdict>[1], string][] = [
      ['DANE everywhere', { mx: signedMx, hosts: [h('mx1.example.com', 'usable'), h('mx2.example.com', 'usable')], mtaSts: null }, 'DNSSEC + DANE'],
      [
        'DANE everywhere, MTA-STS too',
        { mx: signedMx, hosts: [h('mx1.example.com', 'usable'), h('mx2.example.com', 'usable')], mtaSts: enforce },
        'DNSSEC + DANE',
      ],
      ['MTA-STS enforce, no TLSA', { mx: signedMx, hosts: [h('mx1.example.com', 'absent'), h('mx2.example.com', 'absent')], mtaSts: enforce }, 'DNSSEC + PKIX'],
      ['one DANE, one MTA-STS', { mx: signedMx, hosts: [h('mx1.example.com', 'usable'), h('mx2.example.com', 'insecure')], mtaSts: enforce }, 'DNSSEC + PKIX'],
      [
        'MTA-STS testing',
        { mx: signedMx, hosts: [h('mx1.example.com', 'usable'), h('mx2.example.com', 'absent')], mtaSts: { ...enforce, mode: 'testing' } },
        'not possible, because mx2.example.com: gap of mx2.example.com, and no MTA-STS policy in enforce mode lists it',
      ],
      [
        'enforce, host not listed',
        { mx: signedMx, hosts: [h('mx1.example.com', 'absent'), h('mx2.example.com', 'absent')], mtaSts: { ...enforce, mx: ['mx1.example.com'] } },
        'not possible, because mx2.example.com: gap of mx2.example.com, and no MTA-STS policy in enforce mode lists it',
      ],
      [
        'bogus TLSA is not rescued by MTA-STS',
        { mx: signedMx, hosts: [h('mx1.example.com', 'usable'), h('mx2.example.com', 'failed')], mtaSts: enforce },
        'not possible, because mx2.example.com: gap of mx2.example.com',
      ],
      [
        'unsigned MX, even with DANE and MTA-STS',
        { mx: ok([{ exchange: 'mx1.example.com', preference: 10 }], false), hosts: [h('mx1.example.com', 'usable')], mtaSts: enforce },
        'not possible, because its MX records are not DNSSEC-signed',
      ],
      [
        'MX SERVFAIL',
        { mx: servfail, hosts: [], mtaSts: null },
        'not possible, because the MX lookup fails (SERVFAIL: its DNSSEC does not validate or its name servers fail)',
      ],
      [
        'null MX',
        { mx: ok([{ exchange: '', preference: 0 }]), hosts: [], mtaSts: null },
        'not possible, because example.com accepts no mail (null MX, RFC 7505)',
      ],
      ['no MX', { mx: nodata(), hosts: [], mtaSts: enforce }, 'not possible, because example.com has no MX record'],
      ['no domain', { mx: nxdomain(), hosts: [], mtaSts: null }, 'not possible, because example.com does not exist'],
      [
        'every obstacle named',
        { mx: signedMx, hosts: [h('mx1.example.com', 'absent'), h('mx2.example.com', 'unusable')], mtaSts: null },
        'not possible, because mx1.example.com: gap of mx1.example.com, and no MTA-STS policy in enforce mode lists it; ' +
          'mx2.example.com: gap of mx2.example.com, and no MTA-STS policy in enforce mode lists it',
      ],
    ];
    for (const [name, facts, text] of cases) assert.equal(directDeliveryVerdict('example.com', facts).text, text, name);
    assert.deepEqual(directDeliveryVerdict('example.com', { mx: servfail, hosts: [], mtaSts: null }).level, 'not-possible');
  });
});
