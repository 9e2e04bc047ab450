import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { type DnsResolver, parseServerAddress, type ServerAddress, stubResolver } from '../src/dns/index.js';
import { nodeStyleResolver } from '../src/dns/mailauth-resolver.js';
import { type AuthVerdict, authenticateMessage, type SmtpAuthFact } from '../src/inbound/authentication-results.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';

const AUTHSERV_ID = 'mx.relaygate.test';
const CREDENTIAL: SmtpAuthFact = { credentialId: 'cred_7Hq2', domain: 'example.org' };
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

function message(from: string, body = 'Hello Bob,\r\n\r\nthe report is attached.\r\n'): Buffer {
  const head = [
    `From: Alice <${from}>`,
    'To: bob@example.net',
    'Subject: Quarterly report',
    'Date: Tue, 2 Jun 2026 09:30:00 +0000',
    'Message-ID: <q2@example.org>',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
}

async function signed(raw: Buffer, signingDomain: string): Promise<Buffer> {
  const { signatures } = await dkimSign(raw, {
    signingDomain,
    selector: 'sel',
    privateKey: PRIVATE_KEY,
    canonicalization: 'relaxed/relaxed',
    signatureData: [{ signingDomain, selector: 'sel', privateKey: PRIVATE_KEY, algorithm: 'rsa-sha256' }],
  });
  return Buffer.concat([Buffer.from(signatures), raw]);
}

function serverOf(dns: TestDnsServer): ServerAddress {
  const server = parseServerAddress(dns.address);
  if (typeof server === 'string') throw new Error(server);
  return server;
}

/** Every line of a header field within 78 characters, continuations indented, CRLF only (RFC 5322 §2.1.1, §2.2.3). */
function assertWellFormed(header: string): void {
  assert.match(header, new RegExp(`^Authentication-Results: ${AUTHSERV_ID.replaceAll('.', '\\.')};\\r\\n`));
  assert.ok(header.endsWith('\r\n'));
  assert.doesNotMatch(header.replace(/\r\n/g, ''), /[\r\n]/, 'bare CR or LF');
  const lines = header.slice(0, -2).split('\r\n');
  for (const line of lines) assert.ok(line.length <= 78, `line over 78 characters: ${line}`);
  for (const line of lines.slice(1)) assert.match(line, /^[ \t]+\S/);
}

describe('Authentication-Results for inbound mail, checked through a local DNS server', () => {
  let dns: TestDnsServer;
  let resolver: DnsResolver;
  const check = (body: Buffer | Readable, mailFrom: string, clientIp = '127.0.0.1', smtpAuth: SmtpAuthFact | null = null): Promise<AuthVerdict> =>
    authenticateMessage({ body, clientIp, helo: 'app1.example.org', mailFrom, authservId: AUTHSERV_ID, resolver, smtpAuth });

  before(async () => {
    dns = await startDnsServer({
      'example.org': { txt: ['v=spf1 ip4:127.0.0.1 -all'], a: ['192.0.2.10'], aaaa: ['2001:db8::10'], mx: [{ exchange: 'mx.example.org', priority: 10 }] },
      'sel._domainkey.example.org': { txt: [`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`] },
      '_dmarc.example.org': { txt: ['v=DMARC1; p=reject'] },
      'lists.example.org': { txt: ['v=spf1 include:_spf.example.com -all'] },
      'nodata.example.org': {},
      // example.com's name servers are broken; example.net has no records at all (NXDOMAIN).
      'example.com': 'servfail',
      '_spf.example.com': 'servfail',
      'sel._domainkey.example.com': 'servfail',
      '_dmarc.example.com': 'servfail',
      'refused.example.org': 'refused',
      'silent.example.org': 'silent',
      '_dmarc.silent.example.org': 'silent',
    });
    resolver = stubResolver({ servers: [serverOf(dns)], timeoutMs: 1000, retransmitMs: 250 });
  });
  after(() => dns.stop());

  test('the resolver answers in the shapes of dns.promises.resolve, and says why when it cannot', async () => {
    const resolve = nodeStyleResolver(resolver);
    const code = (name: string, type: string) =>
      resolve(name, type).then(
        () => 'resolved',
        (error: NodeJS.ErrnoException) => error.code,
      );
    assert.deepEqual(await resolve('example.org', 'TXT'), [['v=spf1 ip4:127.0.0.1 -all']]);
    // A 2048-bit key does not fit one character-string: each record's strings stay apart.
    const [key] = (await resolve('sel._domainkey.example.org', 'TXT')) as string[][];
    assert.ok(key && key.length > 1 && key.every((part) => part.length <= 255));
    assert.equal(key.join(''), `v=DKIM1; k=rsa; p=${PUBLIC_KEY}`);
    assert.deepEqual(await resolve('example.org', 'A'), ['192.0.2.10']);
    assert.deepEqual(await resolve('example.org', 'AAAA'), ['2001:db8::10']);
    assert.deepEqual(await resolve('example.org', 'MX'), [{ exchange: 'mx.example.org', priority: 10 }]);
    assert.deepEqual(
      {
        nodata: await code('nodata.example.org', 'TXT'),
        typeNotThere: await code('lists.example.org', 'A'),
        nxdomain: await code('example.net', 'TXT'),
        servfail: await code('example.com', 'TXT'),
        refused: await code('refused.example.org', 'TXT'),
        silent: await code('silent.example.org', 'TXT'),
        longLabel: await code(`${'a'.repeat(64)}._domainkey.example.org`, 'TXT'),
        unsupportedType: await code('example.org', 'SRV'),
      },
      {
        nodata: 'ENODATA',
        typeNotThere: 'ENODATA',
        nxdomain: 'ENOTFOUND',
        servfail: 'ESERVFAIL',
        refused: 'EREFUSED',
        silent: 'ETIMEOUT',
        longLabel: 'ENOTFOUND',
        unsupportedType: 'ENOTIMP',
      },
    );
    assert.ok(!dns.queries.some((q) => q.name.startsWith('aaaa')), 'a name that cannot exist is never asked');
  });

  test('a signed message from an SPF-authorised host over an authenticated session passes everything', async () => {
    const verdict = await check(await signed(message('alice@example.org'), 'example.org'), 'bounces@example.org', '127.0.0.1', CREDENTIAL);
    assert.deepEqual(verdict.facts, {
      auth: { result: 'pass', credentialId: 'cred_7Hq2', domain: 'example.org' },
      spf: { result: 'pass', domain: 'example.org' },
      dkim: [{ result: 'pass', domain: 'example.org', selector: 'sel' }],
      dmarc: { result: 'pass', domain: 'example.org', policy: 'reject' },
    });
    assert.equal(
      verdict.header,
      [
        'Authentication-Results: mx.relaygate.test;',
        ' auth=pass (inbound credential for example.org) smtp.auth=cred_7Hq2;',
        ' spf=pass (mx.relaygate.test: domain of bounces@example.org designates',
        '  127.0.0.1 as permitted sender) smtp.mailfrom=bounces@example.org;',
        ' dkim=pass header.d=example.org header.s=sel;',
        ' dmarc=pass (p=REJECT) header.from=example.org',
        '',
      ].join('\r\n'),
    );
    assertWellFormed(verdict.header);
  });

  test('the body may come as a stream, in small chunks', async () => {
    const raw = await signed(message('alice@example.org'), 'example.org');
    const chunks = Array.from({ length: Math.ceil(raw.length / 7) }, (_, i) => raw.subarray(i * 7, i * 7 + 7));
    const verdict = await check(Readable.from(chunks), 'bounces@example.org');
    assert.deepEqual(verdict.facts.dkim, [{ result: 'pass', domain: 'example.org', selector: 'sel' }]);
    assert.equal(verdict.facts.auth.result, 'none');
    assert.match(verdict.header, /\r\n auth=none;\r\n/);
  });

  test('a body changed after signing fails DKIM, and DMARC with it when SPF does not align', async () => {
    const raw = await signed(message('alice@example.org'), 'example.org');
    const tampered = Buffer.from(raw.toString().replace('the report is attached', 'pay invoice 4471 today'));
    const verdict = await check(tampered, 'bounces@example.org', '192.0.2.7');
    // mailauth says "neutral" for a body hash mismatch, as Gmail does; RFC 8601 §2.7.1 allows it.
    assert.deepEqual(verdict.facts.dkim, [{ result: 'neutral', domain: 'example.org', selector: 'sel' }]);
    assert.deepEqual(verdict.facts.spf, { result: 'fail', domain: 'example.org' });
    assert.deepEqual(verdict.facts.dmarc, { result: 'fail', domain: 'example.org', policy: 'reject' });
    assert.match(verdict.header, /\r\n dkim=neutral \(body hash did not verify\) header\.d=example\.org header\.s=sel;\r\n/);
    assertWellFormed(verdict.header);
  });

  test('an unsigned message from a domain without records has nothing to check', async () => {
    const verdict = await check(message('carol@example.net'), 'carol@example.net');
    assert.deepEqual(verdict.facts, {
      auth: { result: 'none', credentialId: null, domain: null },
      spf: { result: 'none', domain: 'example.net' },
      dkim: [],
      dmarc: { result: 'none', domain: 'example.net', policy: null },
    });
    assert.equal(
      verdict.header,
      [
        'Authentication-Results: mx.relaygate.test;',
        ' auth=none;',
        ' spf=none (mx.relaygate.test: example.net does not designate permitted sender',
        '  hosts) smtp.mailfrom=carol@example.net;',
        ' dkim=none;',
        ' dmarc=none header.from=example.net',
        '',
      ].join('\r\n'),
    );
  });

  test('SERVFAIL is a temporary error for every method, not an exception', async () => {
    const verdict = await check(await signed(message('dave@example.com'), 'example.com'), 'dave@example.com');
    assert.deepEqual(verdict.facts.spf, { result: 'temperror', domain: 'example.com' });
    assert.deepEqual(verdict.facts.dkim, [{ result: 'temperror', domain: 'example.com', selector: 'sel' }]);
    assert.deepEqual(verdict.facts.dmarc, { result: 'temperror', domain: 'example.com', policy: null });
    assert.match(verdict.header, /\r\n dkim=temperror \(DNS failure: ESERVFAIL\) header\.d=example\.com header\.s=sel;\r\n/);
    assertWellFormed(verdict.header);
  });

  test('a lookup that fails inside include: makes SPF temperror, not the -all after it (RFC 7208 §5.2)', async () => {
    const verdict = await check(message('alice@lists.example.org'), 'owner@lists.example.org');
    assert.deepEqual(verdict.facts.spf, { result: 'temperror', domain: 'lists.example.org' });
  });

  test('a resolver that never answers is a temporary error too', async () => {
    const verdict = await check(message('erin@silent.example.org'), 'erin@silent.example.org');
    assert.deepEqual(verdict.facts.spf, { result: 'temperror', domain: 'silent.example.org' });
    assert.equal(verdict.facts.dmarc.result, 'temperror');
  });

  test('a signature mailauth cannot process still shows the message was signed', async () => {
    const raw = message('alice@example.org');
    const bogus = Buffer.concat([Buffer.from('DKIM-Signature: v=1; a=rsa-sha512; d=example.org; s=sel; h=from;\r\n bh=AAAA; b=AAAA\r\n'), raw]);
    const verdict = await check(bogus, 'bounces@example.org');
    assert.deepEqual(verdict.facts.dkim, [{ result: 'neutral', domain: 'example.org', selector: 'sel' }]);
    assert.equal(verdict.facts.dmarc.result, 'pass', 'SPF aligns');
  });

  test('a message mailauth cannot parse is a permanent error for DKIM and DMARC, and SPF is still checked', async () => {
    // mailauth 4.13.3 throws on t=1e99: the date it makes of it cannot be formatted.
    const raw = await signed(message('alice@example.org'), 'example.org');
    const verdict = await check(Buffer.from(raw.toString().replace(/t=\d+;/, 't=1e99;')), 'bounces@example.org');
    assert.deepEqual(verdict.facts.spf, { result: 'pass', domain: 'example.org' });
    assert.deepEqual(verdict.facts.dkim, [{ result: 'permerror', domain: null, selector: null }]);
    assert.deepEqual(verdict.facts.dmarc, { result: 'permerror', domain: null, policy: null });
    assert.match(verdict.header, /\r\n dkim=permerror \(the message could not be parsed\);\r\n/);
    assertWellFormed(verdict.header);
  });

  test('a message with two From addresses has no DMARC policy to apply', async () => {
    const raw = Buffer.from(message('alice@example.org').toString().replace('From: Alice <alice@example.org>', 'From: alice@example.org, mallory@example.com'));
    const verdict = await check(raw, 'bounces@example.org');
    assert.deepEqual(verdict.facts.dmarc, { result: 'permerror', domain: null, policy: null });
    assert.match(verdict.header, /\r\n dmarc=permerror \(2 RFC5322\.From addresses, DMARC needs one\)\r\n$/);
  });

  test('a body stream that fails is the only thing that rejects', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('client connection reset'));
      },
    });
    await assert.rejects(check(broken, 'bounces@example.org'), /client connection reset/);
  });
});
