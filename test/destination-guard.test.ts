import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseServerAddress, type ServerAddress, stubResolver } from '../src/dns/index.js';
import type { DnsResolver } from '../src/dns/resolver.js';
import { checkWebhookDestination } from '../src/inbound/destination-guard.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';

type Case = { url: string; allowPrivate?: boolean; expect: { addresses: string[] } | RegExp };

// Every name below is answered by the local DNS server; no case reaches the machine's resolver.
const cases: Case[] = [
  // The shape of the URL, before any address is looked at.
  { url: 'hooks.example/inbound', expect: /^"hooks\.example\/inbound" is not an absolute URL$/ },
  {
    url: 'http://public.example/',
    expect: /^the scheme must be https, not http \(http only with inbound\.allowPrivateWebhooks, for tests and closed networks\)$/,
  },
  { url: 'ftp://public.example/', allowPrivate: true, expect: /^the scheme must be https or http, not ftp$/ },
  { url: 'https://app:secret@public.example/', expect: /must not carry a user name or password/ },
  { url: 'https://app@public.example/', allowPrivate: true, expect: /must not carry a user name or password/ },
  // A fragment is never sent; even an empty one is refused, with or without allowPrivate.
  { url: 'https://public.example/hook#ticket', expect: /^the URL must not have a fragment \(#…\): it is never sent to the server$/ },
  { url: 'https://public.example/hook#', allowPrivate: true, expect: /must not have a fragment/ },
  // RFC 6761 loopback names are refused by name, whatever a resolver says about them.
  { url: 'https://localhost:8443/', expect: /^localhost is a loopback name/ },
  { url: 'https://api.localhost./', expect: /^api\.localhost\. is a loopback name/ },
  // A name whose every address is public passes with all of them, both families.
  { url: 'https://public.example/hook?x=1', expect: { addresses: ['8.8.8.8', '1.1.1.1', '2606:4700::1111'] } },
  { url: 'https://PUBLIC.example./hook', expect: { addresses: ['8.8.8.8', '1.1.1.1', '2606:4700::1111'] } },
  // One bad address among good ones refuses the name: any of them could be dialled.
  {
    url: 'https://mixed.example/',
    expect:
      /^mixed\.example resolves to 10\.0\.0\.7 is private \(10\.0\.0\.0\/8, RFC 1918\); a webhook must be on a public address \(inbound\.allowPrivateWebhooks allows private ones, for tests and closed networks\)$/,
  },
  { url: 'https://v6-ula.example/', expect: /^v6-ula\.example resolves to fd00::1 is unique local \(fc00::\/7/ },
  { url: 'https://v6-mapped.example/', expect: /^v6-mapped\.example resolves to ::ffff:7f00:1 is the IPv4-mapped form of 127\.0\.0\.1, which is loopback/ },
  { url: 'https://metadata.example/', expect: /resolves to 169\.254\.169\.254 is link-local/ },
  // Names that do not lead anywhere.
  { url: 'https://missing.example/', expect: /^missing\.example does not resolve: NXDOMAIN$/ },
  { url: 'https://empty.example/', expect: /^empty\.example does not resolve: no A or AAAA record$/ },
  { url: 'https://broken.example/', expect: /^broken\.example does not resolve: SERVFAIL$/ },
  { url: 'https://silent.example/', expect: /^silent\.example does not resolve: no answer from 127\.0\.0\.1:\d+ within \d+ ms$/ },
  // A family that fails while the other answers: only the answered addresses are used.
  { url: 'https://v4-only.example/', expect: { addresses: ['9.9.9.9'] } },
  // IPv4 literals, as WHATWG URL normalises them (decimal and hex forms become dotted quads).
  {
    url: 'https://127.0.0.1/',
    expect:
      /^127\.0\.0\.1 is loopback \(127\.0\.0\.0\/8\); a webhook must be on a public address \(inbound\.allowPrivateWebhooks allows private ones, for tests and closed networks\)$/,
  },
  { url: 'https://2130706433/', expect: /^127\.0\.0\.1 is loopback/ },
  { url: 'https://0x7f.1/', expect: /^127\.0\.0\.1 is loopback/ },
  { url: 'https://10.1.2.3/', expect: /is private \(10\.0\.0\.0\/8/ },
  { url: 'https://172.16.0.1/', expect: /is private \(172\.16\.0\.0\/12/ },
  { url: 'https://172.31.255.255/', expect: /is private \(172\.16\.0\.0\/12/ },
  { url: 'https://172.32.0.1/', expect: { addresses: ['172.32.0.1'] } },
  { url: 'https://192.168.1.1/', expect: /is private \(192\.168\.0\.0\/16/ },
  { url: 'https://169.254.169.254/latest/meta-data', expect: /is link-local, where cloud metadata services live/ },
  { url: 'https://100.64.0.1/', expect: /carrier-grade NAT \(100\.64\.0\.0\/10/ },
  { url: 'https://100.127.255.255/', expect: /carrier-grade NAT/ },
  { url: 'https://100.128.0.1/', expect: { addresses: ['100.128.0.1'] } },
  { url: 'https://0.0.0.0/', expect: /^0\.0\.0\.0 is unspecified/ },
  { url: 'https://0.1.2.3/', expect: /"this network" \(0\.0\.0\.0\/8/ },
  { url: 'https://224.0.0.1/', expect: /is multicast/ },
  { url: 'https://239.255.255.250/', expect: /is multicast/ },
  { url: 'https://255.255.255.255/', expect: /is broadcast/ },
  { url: 'https://240.0.0.1/', expect: /is reserved \(240\.0\.0\.0\/4\)/ },
  { url: 'https://192.0.2.10/', expect: /is documentation \(192\.0\.2\.0\/24/ },
  { url: 'https://198.51.100.10/', expect: /is documentation \(198\.51\.100\.0\/24/ },
  { url: 'https://203.0.113.10/', expect: /is documentation \(203\.0\.113\.0\/24/ },
  { url: 'https://198.18.0.1/', expect: /is benchmarking/ },
  { url: 'https://192.0.0.8/', expect: /IETF protocol assignments/ },
  { url: 'https://8.8.8.8:8443/hook', expect: { addresses: ['8.8.8.8'] } },
  // IPv6 literals, and the forms that carry an IPv4 address inside.
  {
    url: 'https://[::1]/',
    expect:
      /^::1 is loopback \(::1\); a webhook must be on a public address \(inbound\.allowPrivateWebhooks allows private ones, for tests and closed networks\)$/,
  },
  { url: 'https://[::]/', expect: /^:: is unspecified/ },
  { url: 'https://[fc00::1]/', expect: /is unique local/ },
  { url: 'https://[fd12:3456::1]/', expect: /is unique local/ },
  { url: 'https://[fe80::1]/', expect: /is link-local \(fe80::\/10\)/ },
  { url: 'https://[fec0::1]/', expect: /is site-local, deprecated/ },
  { url: 'https://[ff02::1]/', expect: /is multicast \(ff00::\/8\)/ },
  { url: 'https://[2001:db8::1]/', expect: /is documentation \(2001:db8::\/32/ },
  { url: 'https://[3fff::1]/', expect: /is documentation \(3fff::\/20/ },
  { url: 'https://[100::1]/', expect: /is discard-only/ },
  { url: 'https://[2001::1]/', expect: /is Teredo/ },
  { url: 'https://[::ffff:127.0.0.1]/', expect: /^::ffff:7f00:1 is the IPv4-mapped form of 127\.0\.0\.1, which is loopback/ },
  { url: 'https://[::ffff:192.168.0.1]/', expect: /IPv4-mapped form of 192\.168\.0\.1, which is private/ },
  // Mapped forms are refused even for a public IPv4 address: the address itself is asked for (RFC 4291 §2.5.5.2).
  { url: 'https://[::ffff:8.8.8.8]/', expect: /^::ffff:808:808 is IPv4-mapped \(::ffff:0:0\/96, RFC 4291 §2\.5\.5\.2\): write 8\.8\.8\.8 itself/ },
  { url: 'https://[::ffff:7f00:1]/', expect: /^::ffff:7f00:1 is the IPv4-mapped form of 127\.0\.0\.1, which is loopback/ },
  { url: 'https://[::10.0.0.1]/', expect: /IPv4-compatible form of 10\.0\.0\.1, which is private/ },
  { url: 'https://[::8.8.8.8]/', expect: /IPv4-compatible, deprecated/ },
  { url: 'https://[64:ff9b::10.0.0.1]/', expect: /NAT64 form of 10\.0\.0\.1, which is private/ },
  { url: 'https://[64:ff9b::8.8.8.8]/', expect: { addresses: ['64:ff9b::808:808'] } },
  { url: 'https://[64:ff9b:1::1]/', expect: /local-use NAT64/ },
  { url: 'https://[2002:7f00:1::1]/', expect: /6to4 form of 127\.0\.0\.1, which is loopback/ },
  { url: 'https://[2002:808:808::1]/', expect: { addresses: ['2002:808:808::1'] } },
  { url: 'https://[4000::1]/', expect: /reserved, outside global unicast/ },
  { url: 'https://[2606:4700::1111]/', expect: { addresses: ['2606:4700::1111'] } },
  // allowPrivate (local testing) lets every address through, and http with it.
  { url: 'http://127.0.0.1:8080/hook', allowPrivate: true, expect: { addresses: ['127.0.0.1'] } },
  { url: 'https://[::1]/', allowPrivate: true, expect: { addresses: ['::1'] } },
  { url: 'https://localhost/', allowPrivate: true, expect: /^localhost does not resolve: NXDOMAIN$/ },
  { url: 'https://mixed.example/', allowPrivate: true, expect: { addresses: ['8.8.8.8', '10.0.0.7'] } },
  { url: 'https://missing.example/', allowPrivate: true, expect: /does not resolve: NXDOMAIN/ },
];

describe('webhook destination guard', () => {
  let dns: TestDnsServer;
  let resolver: DnsResolver;

  before(async () => {
    dns = await startDnsServer({
      'public.example': { a: ['8.8.8.8', '1.1.1.1'], aaaa: ['2606:4700::1111'] },
      'mixed.example': { a: ['8.8.8.8', '10.0.0.7'] },
      'v6-ula.example': { a: ['8.8.8.8'], aaaa: ['fd00::1'] },
      'v6-mapped.example': { aaaa: ['::ffff:127.0.0.1'] },
      'metadata.example': { a: ['169.254.169.254'] },
      'empty.example': {},
      'broken.example': 'servfail',
      'silent.example': 'silent',
    });
    const server = parseServerAddress(dns.address) as ServerAddress;
    const stub = stubResolver({ servers: [server], timeoutMs: 300, retransmitMs: 100 });
    // v4-only.example answers A; its AAAA query fails as a broken resolver's would.
    resolver = {
      query: (name, type) =>
        name === 'v4-only.example'
          ? Promise.resolve(
              type === 'A'
                ? { kind: 'answer', server: dns.address, rcode: 'NOERROR', authenticated: false, answers: [{ type: 'A', name, ttl: 60, data: '9.9.9.9' }] }
                : { kind: 'failed', servers: [dns.address], detail: 'connection reset' },
            )
          : stub.query(name, type),
    };
  });
  after(async () => {
    await dns.stop();
  });

  for (const c of cases) {
    test(`${c.url}${c.allowPrivate ? ' (allowPrivate)' : ''}`, async () => {
      const result = await checkWebhookDestination(c.url, resolver, { allowPrivate: c.allowPrivate ?? false });
      if (c.expect instanceof RegExp) {
        assert.equal(result.ok, false, JSON.stringify(result));
        if (!result.ok) assert.match(result.problem, c.expect);
      } else {
        assert.equal(result.ok, true, JSON.stringify(result));
        if (result.ok) {
          assert.deepEqual(result.addresses, c.expect.addresses);
          assert.equal(result.url.href, new URL(c.url).href);
        }
      }
    });
  }

  test('names go to the given resolver, for both families; literals are never looked up', async () => {
    const before = dns.queries.length;
    await checkWebhookDestination('https://public.example/', resolver, { allowPrivate: false });
    await checkWebhookDestination('https://8.8.8.8/', resolver, { allowPrivate: false });
    const seen = dns.queries.slice(before).map((q) => `${q.name} ${q.type}`);
    assert.deepEqual(seen.sort(), ['public.example A', 'public.example AAAA']);
  });
});
