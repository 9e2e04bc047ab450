import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Answer, RecordType } from 'dns-packet';
import { cachingResolver } from '../src/dns/caching-resolver.js';
import { isNullMx, type Lookup, lookUpA, lookUpMx, lookUpTlsa, lookUpTxt, tlsaText } from '../src/dns/records.js';
import type { DnsResolver, DnsResponse } from '../src/dns/resolver.js';
import { parseServerAddress, type ServerAddress } from '../src/dns/server-address.js';
import { stubResolver } from '../src/dns/stub-resolver.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';

const HASH = '8282e5c8c8f685a28a7ed0bf803ebb5a501056142c4a794b1f741b8643eb9fef';

describe('DNS records through the stub resolver, against a local server', () => {
  let dns: TestDnsServer;
  let resolver: DnsResolver;

  before(async () => {
    dns = await startDnsServer({
      'signed.test': {
        mx: [
          { exchange: 'mx2.signed.test', priority: 20 },
          { exchange: 'MX1.Signed.Test.', priority: 10 },
        ],
        txt: ['v=spf1 -all'],
        ad: true,
      },
      '_25._tcp.mx1.signed.test': { tlsa: [{ usage: 3, selector: 1, matchingType: 1, data: HASH }], ad: true, ttl: 300 },
      'mx1.signed.test': { a: ['127.0.0.25'], ad: true, soa: { ttl: 900, minimum: 300 } },
      'gone.signed.test': { nxdomain: true, ad: true, soa: { ttl: 900, minimum: 300 } },
      'plain.test': { mx: [{ exchange: 'mx.plain.test', priority: 10 }] },
      'nullmx.test': { mx: [{ exchange: '.', priority: 0 }] },
      'long.test': { txt: [`v=DKIM1; k=rsa; p=${'A'.repeat(400)}`] },
      'broken.test': 'servfail',
      'refusing.test': 'refused',
      'silent.test': 'silent',
    });
    resolver = stubResolver({ servers: [server(dns.address)] });
  });
  after(() => dns.stop());

  test('queries carry EDNS DO and AD, and the AD bit of the answer is read', async () => {
    const mx = await lookUpMx(resolver, 'signed.test');
    assert.equal(mx.kind, 'ok');
    assert.equal(mx.kind === 'ok' && mx.authenticated, true);
    const seen = dns.queries.find((q) => q.name === 'signed.test' && q.type === 'MX');
    assert.deepEqual(seen && { dnssecOk: seen.dnssecOk, adRequested: seen.adRequested }, { dnssecOk: true, adRequested: true });
    const plain = await lookUpMx(resolver, 'plain.test');
    assert.deepEqual(plain, { kind: 'ok', records: [{ exchange: 'mx.plain.test', preference: 10 }], authenticated: false, ttlSeconds: 60 });
  });

  test('each helper answers in RFC words', async () => {
    const cases: [string, () => Promise<unknown>, unknown][] = [
      // Most preferred first, names lowercase without the root dot.
      [
        'MX sorted',
        () => lookUpMx(resolver, 'signed.test'),
        {
          kind: 'ok',
          records: [
            { exchange: 'mx1.signed.test', preference: 10 },
            { exchange: 'mx2.signed.test', preference: 20 },
          ],
          authenticated: true,
          ttlSeconds: 60,
        },
      ],
      [
        'null MX (RFC 7505)',
        async () => records(await lookUpMx(resolver, 'nullmx.test')).map((r) => [r, isNullMx([r])]),
        [[{ exchange: '', preference: 0 }, true]],
      ],
      ['TLSA at _25._tcp', async () => records(await lookUpTlsa(resolver, 'mx1.signed.test')).map(tlsaText), [`3 1 1 ${HASH}`]],
      // 255-octet character-strings read back whole (RFC 1035 §3.3.14).
      ['TXT strings joined', async () => records(await lookUpTxt(resolver, 'long.test')).map((v) => v.length), [418]],
      ['A', () => lookUpA(resolver, 'mx1.signed.test'), { kind: 'ok', records: ['127.0.0.25'], authenticated: true, ttlSeconds: 60 }],
      // An authenticated denial is told apart from an unsigned one (RFC 7672 §2.1).
      ['NODATA, validated', () => lookUpTxt(resolver, 'mx1.signed.test'), { kind: 'nodata', authenticated: true, detail: 'mx1.signed.test has no TXT record' }],
      [
        'NXDOMAIN, validated',
        () => lookUpA(resolver, 'gone.signed.test'),
        { kind: 'nxdomain', authenticated: true, detail: 'gone.signed.test does not exist (NXDOMAIN)' },
      ],
      [
        'NXDOMAIN, unsigned',
        () => lookUpA(resolver, 'unknown.test'),
        { kind: 'nxdomain', authenticated: false, detail: 'unknown.test does not exist (NXDOMAIN)' },
      ],
      [
        'SERVFAIL is its own kind',
        () => lookUpMx(resolver, 'broken.test'),
        {
          kind: 'servfail',
          detail: `the DNS resolver ${dns.address} answered SERVFAIL for broken.test MX: the domain's name servers failed or its DNSSEC did not validate`,
        },
      ],
      [
        'other RCODEs fail',
        () => lookUpMx(resolver, 'refusing.test'),
        { kind: 'failed', detail: `the DNS resolver ${dns.address} answered REFUSED for refusing.test MX` },
      ],
    ];
    for (const [name, run, expected] of cases) assert.deepEqual(await run(), expected, name);
  });

  test('silence is a timeout, within the budget', async () => {
    const quick = stubResolver({ servers: [server(dns.address)], timeoutMs: 300, retransmitMs: 100 });
    const lookup = await lookUpA(quick, 'silent.test');
    assert.equal(lookup.kind, 'timeout');
    assert.match(
      lookup.kind === 'timeout' ? lookup.detail : '',
      new RegExp(`^no answer for silent.test A from the DNS resolver ${dns.address} within 0\\.\\d s$`),
    );
  });

  test('negative answers are cached for the SOA minimum (RFC 2308 §5), positive ones for their TTL, with the AD bit', async () => {
    const clock = fakeClock();
    const cached = cachingResolver(resolver, { clock });
    const asked = () => dns.queries.filter((q) => q.name === 'gone.signed.test').length;
    const before = asked();
    assert.equal((await lookUpA(cached, 'gone.signed.test')).kind, 'nxdomain');
    clock.advance(299_000);
    assert.deepEqual(await lookUpA(cached, 'gone.signed.test'), {
      kind: 'nxdomain',
      authenticated: true,
      detail: 'gone.signed.test does not exist (NXDOMAIN)',
    });
    assert.equal(asked(), before + 1, 'answered from the cache');
    clock.advance(1000);
    await lookUpA(cached, 'gone.signed.test');
    assert.equal(asked(), before + 2, 'the SOA minimum (300 s), not its TTL (900 s), bounds it');

    const tlsaQueries = () => dns.queries.filter((q) => q.name === '_25._tcp.mx1.signed.test').length;
    const tlsaBefore = tlsaQueries();
    const tlsa = await lookUpTlsa(cached, 'mx1.signed.test');
    clock.advance(120_000);
    const again = await lookUpTlsa(cached, 'mx1.signed.test');
    assert.deepEqual(
      [tlsa.kind === 'ok' && tlsa.ttlSeconds, again.kind === 'ok' && again.ttlSeconds, again.kind === 'ok' && again.authenticated],
      [300, 180, true],
    );
    assert.equal(tlsaQueries(), tlsaBefore + 1);
  });
});

describe('caching resolver', () => {
  const answer = (name: string, type: RecordType, ttl: number, extra: Partial<Extract<DnsResponse, { kind: 'answer' }>> = {}): DnsResponse => ({
    kind: 'answer',
    server: 'fake',
    rcode: 'NOERROR',
    authenticated: true,
    answers: [{ type: 'A', name, ttl, data: '192.0.2.1' } as Answer].filter(() => type === 'A'),
    ...extra,
  });

  test('what is kept, and for how long', async () => {
    const soa = (ttl: number, minimum: number): Answer => ({
      type: 'SOA',
      name: 'example.test',
      ttl,
      data: { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
    });
    const cases: [string, DnsResponse, number | undefined][] = [
      // [case, answer of the inner resolver, seconds it is served from the cache (undefined: never cached)]
      ['positive: the smallest TTL', answer('a.test', 'A', 120), 120],
      ['positive, capped at maxTtlSeconds', answer('a.test', 'A', 7 * 86_400), 86_400],
      ['TTL 0 is not cached', answer('a.test', 'A', 0), undefined],
      [
        'NXDOMAIN with SOA: min(TTL, MINIMUM)',
        { kind: 'answer', server: 'f', rcode: 'NXDOMAIN', authenticated: false, answers: [], authorities: [soa(600, 60)] },
        60,
      ],
      ['NODATA with SOA', { kind: 'answer', server: 'f', rcode: 'NOERROR', authenticated: false, answers: [], authorities: [soa(30, 600)] }, 30],
      [
        'negative, capped at three hours',
        { kind: 'answer', server: 'f', rcode: 'NXDOMAIN', authenticated: false, answers: [], authorities: [soa(86_400, 86_400)] },
        10_800,
      ],
      // RFC 2308 §5: negative answers without SOA SHOULD NOT be cached.
      ['negative without SOA', { kind: 'answer', server: 'f', rcode: 'NXDOMAIN', authenticated: false, answers: [] }, undefined],
      ['SERVFAIL', { kind: 'answer', server: 'f', rcode: 'SERVFAIL', authenticated: false, answers: [] }, undefined],
      ['timeout', { kind: 'timeout', servers: ['f'], waitedMs: 1 }, undefined],
      ['failure', { kind: 'failed', servers: ['f'], detail: 'x' }, undefined],
    ];
    for (const [name, response, keptSeconds] of cases) {
      const clock = fakeClock();
      const inner = countingResolver(() => response);
      const cached = cachingResolver(inner, { clock });
      await cached.query('a.test', 'A');
      if (keptSeconds !== undefined) clock.advance(keptSeconds * 1000 - 1);
      await cached.query('A.TEST.', 'A');
      assert.equal(inner.calls, keptSeconds === undefined ? 2 : 1, `${name}: still cached just before expiry`);
      clock.advance(1);
      await cached.query('a.test', 'A');
      assert.equal(inner.calls, keptSeconds === undefined ? 3 : 2, `${name}: asked again at expiry`);
    }
  });

  test('bounded: the least recently used answer goes first', async () => {
    const inner = countingResolver((name) => answer(name, 'A', 300));
    const cached = cachingResolver(inner, { clock: fakeClock(), maxEntries: 2 });
    await cached.query('one.test', 'A');
    await cached.query('two.test', 'A');
    await cached.query('one.test', 'A');
    await cached.query('three.test', 'A');
    assert.equal(cached.size, 2);
    await cached.query('one.test', 'A');
    assert.equal(inner.calls, 3, 'one.test was used last, so two.test was evicted');
    await cached.query('two.test', 'A');
    assert.equal(inner.calls, 4);
  });

  test('questions in flight are asked once; a different type is a different question', async () => {
    const inner = countingResolver((name, type) => answer(name, type, 300));
    const cached = cachingResolver(inner, { clock: fakeClock() });
    await Promise.all([cached.query('x.test', 'A'), cached.query('x.test', 'A'), cached.query('x.test', 'AAAA')]);
    assert.equal(inner.calls, 2);
  });
});

function records<T>(lookup: Lookup<T>): T[] {
  assert.equal(lookup.kind, 'ok', JSON.stringify(lookup));
  return lookup.kind === 'ok' ? lookup.records : [];
}

function server(address: string): ServerAddress {
  const parsed = parseServerAddress(address);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function countingResolver(respond: (name: string, type: RecordType) => DnsResponse): DnsResolver & { calls: number } {
  const resolver = {
    calls: 0,
    async query(name: string, type: RecordType) {
      resolver.calls += 1;
      return respond(name, type);
    },
  };
  return resolver;
}
