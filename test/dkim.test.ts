import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { DNSResolver } from 'mailauth';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import type { OutboundMessage } from '../src/delivery/courier.js';
import { RelaxedBodyHash } from '../src/dkim/canonicalize.js';
import type { DkimKeyRecord } from '../src/dkim/dkim-key-store.js';
import {
  type DkimDirectory,
  dkimDirectory,
  dkimSelectorsFor,
  dkimSignatures,
  dkimSigningCourier,
  generateDkimKey,
  type SigningKey,
  sameKey,
  txtStrings,
  zoneFileValue,
} from '../src/dkim/index.js';
import { transitionsAfterCheck } from '../src/dkim/rotation.js';
import { configuredResolver } from '../src/dns/index.js';
import { nodeStyleResolver } from '../src/dns/mailauth-resolver.js';
import type { DeliveryOutcome } from '../src/model/outcome.js';
import { sqlDkimKeyStore } from '../src/store/dkim-keys/index.js';
import { dkimpyUnavailable, dkimpyVerify } from './support/dkimpy.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { PEERS_REQUIRED, peerAvailable } from './support/peers.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { tempDir } from './support/temp-dir.js';
import { testDatabaseUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const DKIMPY_MISSING = dkimpyUnavailable();
if (DKIMPY_MISSING && !PEERS_REQUIRED) console.log(`# dkimpy checks left out: ${DKIMPY_MISSING}`);

/** mailauth's verdict per signature, top first: `pass`, `fail`, `neutral` (body hash mismatch)… */
async function mailauthResults(message: Buffer, dns: TestDnsServer): Promise<{ selector: string; result: string }[]> {
  const resolver = nodeStyleResolver(configuredResolver(dns.address)) as DNSResolver;
  const { results } = await dkimVerify(message, { resolver });
  return results.map((r) => ({ selector: r.selector ?? '', result: r.status.result }));
}

/** dkimpy's verdict per signature, top first; undefined when dkimpy is not installed (and peers are not required). */
async function dkimpyResults(message: Buffer, dns: TestDnsServer): Promise<boolean[] | undefined> {
  if (!peerAvailable(DKIMPY_MISSING)) return undefined;
  return (await dkimpyVerify(message, dns.port)).map((r) => r.ok);
}

async function assertBothVerifiers(message: Buffer, dns: TestDnsServer, expected: Record<string, 'pass' | 'fail'>): Promise<void> {
  const byMailauth = await mailauthResults(message, dns);
  assert.deepEqual(
    Object.fromEntries(byMailauth.map((r) => [r.selector, r.result === 'pass' ? 'pass' : 'fail'])),
    expected,
    `mailauth: ${JSON.stringify(byMailauth)}`,
  );
  const byDkimpy = await dkimpyResults(message, dns);
  if (byDkimpy)
    assert.deepEqual(
      byDkimpy.map((ok) => (ok ? 'pass' : 'fail')),
      byMailauth.map((r) => expected[r.selector]),
      'dkimpy agrees, signature by signature',
    );
}

/** When the scheduler last checked the domain's keys (0 before its first check): each check writes it in the key rows. */
async function lastCheckAt(gw: TestGateway, domain: string): Promise<number> {
  const shown = await gw.services((s) => s.dkim.show(domain, { lookUp: false }));
  return Math.max(0, ...shown.keys.map((k) => k.lastCheck?.at ?? 0));
}

/**
 * Waits until `count` checks of the domain's keys later than `since` have committed, each
 * seen as a new last-check time. Polling may miss one between two looks, which only means
 * more have run: it never counts a check that did not happen.
 */
async function scheduledChecks(gw: TestGateway, domain: string, since: number, count: number): Promise<void> {
  const seen = new Set<number>();
  await waitFor(
    async () => {
      const at = await lastCheckAt(gw, domain);
      if (at > since) seen.add(at);
      return seen.size >= count;
    },
    { what: `${count} scheduled DKIM checks of ${domain}`, intervalMs: 50 },
  );
}

const STORED = Buffer.from(
  [
    'Received: from app.example.com ([192.0.2.10])\r\n\tby gateway.test (Relaygate) with ESMTPSA id 01TEST;\r\n\tMon, 2 Nov 2026 10:00:00 +0000',
    'From: "Support" <support@example.com>',
    'To: customer@example.net,\r\n  second@example.net',
    'Subject:   Your   ticket  ',
    'Date: Mon, 2 Nov 2026 10:00:00 +0000',
    'Message-ID: <t1@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello  there \t ',
    '',
    'Ticket #1 is open.',
    '',
    '',
  ].join('\r\n'),
);

function signingKey(domain: string, selector: string, algorithm: SigningKey['algorithm'], pem: string): SigningKey {
  return { domain, selector, algorithm, privateKey: createPrivateKey(pem) };
}

describe('DKIM keys and their records', () => {
  test('RSA-2048: p= is the SubjectPublicKeyInfo, the record split into strings of at most 255 octets', async () => {
    const key = await generateDkimKey('rsa-sha256');
    const p = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/.exec(key.record)?.[1];
    assert.ok(p, key.record);
    const publicKey = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
    assert.equal(publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(publicKey.equals(createPublicKey(createPrivateKey(key.privateKeyPem))));
    const strings = txtStrings(key.record);
    assert.equal(strings.length, 2, `${key.record.length} characters`);
    assert.ok(strings.every((s) => s.length <= 255));
    assert.equal(strings.join(''), key.record);
    assert.equal(zoneFileValue(key.record), `"${strings[0]}" "${strings[1]}"`);
  });

  test('Ed25519: p= is the raw 32-byte public key (RFC 8463 §4.2), one string', async () => {
    const key = await generateDkimKey('ed25519-sha256');
    const p = /^v=DKIM1; k=ed25519; p=([A-Za-z0-9+/=]+)$/.exec(key.record)?.[1];
    assert.ok(p, key.record);
    const raw = Buffer.from(p, 'base64');
    assert.equal(raw.length, 32);
    const data = randomBytes(32);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    assert.ok(verify(null, data, publicKey, sign(null, data, createPrivateKey(key.privateKeyPem))), 'the published key is the private key’s');
    assert.deepEqual(txtStrings(key.record), [key.record]);
  });

  test('a published record matches ours despite folding in p= and a missing k=rsa; another key or version does not', async () => {
    const key = await generateDkimKey('rsa-sha256');
    const p = key.record.split('p=')[1] ?? '';
    assert.ok(sameKey(key.record, key.record));
    assert.ok(sameKey(`v=DKIM1; p=${p.slice(0, 100)} ${p.slice(100)}`, key.record));
    assert.ok(!sameKey(`v=DKIM1; k=ed25519; p=${p}`, key.record));
    assert.ok(!sameKey(`v=DKIM2; k=rsa; p=${p}`, key.record));
    assert.ok(!sameKey('v=DKIM1; k=rsa; p=', key.record), 'an empty p= is a revoked key');
  });
});

/** The relaxed body canonicalization of RFC 6376 §3.4.4 on a whole body, as the reference. */
function referenceBodyHash(body: string): string {
  let canonical = body.replace(/[\t ]+/g, ' ').replace(/ (?=\r\n|$)/g, '');
  if (canonical !== '' && !canonical.endsWith('\r\n')) canonical += '\r\n';
  canonical = canonical.replace(/(\r\n)+$/, '\r\n');
  if (canonical === '\r\n') canonical = '';
  return createHash('sha256').update(canonical, 'latin1').digest('base64');
}

function hashInChunks(body: string, sizes: () => number): string {
  const bytes = Buffer.from(body, 'latin1');
  const hash = new RelaxedBodyHash();
  for (let i = 0; i < bytes.length; ) {
    const size = Math.max(1, sizes());
    hash.update(bytes.subarray(i, i + size));
    i += size;
  }
  return hash.digest();
}

describe('relaxed body hash', () => {
  // Each case is hashed whole, byte by byte (short ones) and in random chunks, and must equal the reference.
  const cases: [string, string][] = [
    ['empty body', ''],
    ['one empty line', '\r\n'],
    ['only empty and whitespace lines: empty', ' \t \r\n  \r\n\r\n'],
    ['whitespace runs and trailing whitespace', 'Hello  there \t \r\n\r\nline\t\tend\r\n\r\n\r\n'],
    ['empty lines inside are kept', 'a\r\n\r\n \r\nb\r\n'],
    ['empty lines before content', '\r\n\r\nstart\r\n'],
    ['last line without CRLF gets one', 'no final line end   '],
    ['lone CR and LF are content', 'bare\rcr and bare\nlf \r\n'],
    ['8-bit bytes pass unchanged', 'caf\xc3\xa9  \xff\r\n'],
    ['a line longer than the carry, spaces at a cut', `${'x'.repeat(70_000)}   ${'y'.repeat(70_000)}  \r\n\r\n`],
    ['a long run of spaces', `${' '.repeat(100_000)}z\r\n`],
    ['a long line of spaces only', `${' '.repeat(100_000)}\r\nend\r\n`],
    // Quadratic backtracking in a whitespace expression would take minutes here, not milliseconds.
    ['many long runs of spaces inside lines', `${' '.repeat(996)}x\r\n`.repeat(2000)],
  ];
  let seed = 7;
  const random = (max: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (seed % max);
  };
  for (const [name, body] of cases) {
    test(name, () => {
      const expected = referenceBodyHash(body);
      assert.equal(
        hashInChunks(body, () => body.length),
        expected,
        'whole',
      );
      if (body.length < 1000)
        assert.equal(
          hashInChunks(body, () => 1),
          expected,
          'byte by byte',
        );
      for (let run = 0; run < 5; run++) assert.equal(hashInChunks(body, random(body.length < 1000 ? 7 : 5000)), expected, `random chunks, run ${run}`);
    });
  }
});

test('the body hash takes linear time over long runs of spaces (no backtracking expression)', () => {
  const body = Buffer.from(`${' '.repeat(996)}x\r\n`.repeat(2000));
  const started = performance.now();
  const hash = new RelaxedBodyHash();
  hash.update(body);
  hash.digest();
  // Measured: 4 ms; `[ \t]+\r\n` took 1.9 s on the same 2 MB, so the bound is far from both.
  assert.ok(performance.now() - started < 500, `${(performance.now() - started).toFixed(0)} ms`);
});

describe('signing a stored message', () => {
  let dns: TestDnsServer;
  let keys: SigningKey[];
  const keysFor = async (domain: string) => (domain === 'example.com' ? keys : []);
  const signedMessage = async (stored: Buffer) =>
    Buffer.concat([Buffer.from(await dkimSignatures(Readable.from([stored]), keysFor, Date.now()), 'latin1'), stored]);

  before(async () => {
    const rsa = await generateDkimKey('rsa-sha256');
    const ed = await generateDkimKey('ed25519-sha256');
    keys = [signingKey('example.com', 'sel-rsa', 'rsa-sha256', rsa.privateKeyPem), signingKey('example.com', 'sel-ed', 'ed25519-sha256', ed.privateKeyPem)];
    dns = await startDnsServer({ 'sel-rsa._domainkey.example.com': { txt: [rsa.record] }, 'sel-ed._domainkey.example.com': { txt: [ed.record] } });
  });
  after(() => dns?.stop());

  test('an RSA and an Ed25519 signature, relaxed/relaxed, that mailauth and dkimpy both verify', async () => {
    const message = await signedMessage(STORED);
    const head = message.subarray(0, message.length - STORED.length).toString('latin1');
    assert.match(head, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com;\r\n\ts=sel-rsa; t=\d+;\r\n/);
    assert.match(head, /\r\nDKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example\.com;\r\n\ts=sel-ed; t=\d+;\r\n/);
    assert.ok(
      head.split('\r\n').every((line) => line.length <= 78),
      'folded within 78 characters (RFC 5322 §2.1.1)',
    );
    assert.doesNotMatch(head, /received|return-path/i, 'trace fields are never signed');
    await assertBothVerifiers(message, dns, { 'sel-rsa': 'pass', 'sel-ed': 'pass' });
  });

  test('h= lists each field as often as present, oversigning From, Subject and Reply-To always and the single-instance fields when present', async () => {
    const message = await signedMessage(STORED);
    const h = /h=([^;]+);/.exec(message.toString('latin1').replace(/\r\n\t/g, ''))?.[1];
    assert.equal(h, 'from:from:reply-to:subject:subject:to:to:date:date:message-id:message-id:mime-version:mime-version:content-type:content-type');
  });

  test('a field added after signing breaks both signatures in both verifiers; a later hop’s Received does not', async () => {
    const message = await signedMessage(STORED);
    await assertBothVerifiers(Buffer.concat([Buffer.from('Received: from gateway.test by mx.example.net; Mon, 2 Nov 2026 10:00:01 +0000\r\n'), message]), dns, {
      'sel-rsa': 'pass',
      'sel-ed': 'pass',
    });
    for (const added of [
      'From: "Support" <attacker@evil.example>',
      'Subject: Urgent: wire the money',
      'Reply-To: attacker@evil.example',
      'To: victim@example.org',
    ]) {
      const tampered = Buffer.concat([Buffer.from(`${added}\r\n`), message]);
      await assertBothVerifiers(tampered, dns, { 'sel-rsa': 'fail', 'sel-ed': 'fail' });
    }
    const body = Buffer.from(message.toString('latin1').replace('Ticket #1 is open.', 'Ticket #2 is open.'), 'latin1');
    await assertBothVerifiers(body, dns, { 'sel-rsa': 'fail', 'sel-ed': 'fail' });
  });

  test("an application's own signature for its domain stays valid beneath ours", async () => {
    const application = await generateDkimKey('rsa-sha256');
    dns.set('app2026._domainkey.example.com', { txt: [application.record] });
    const original = STORED.subarray(STORED.indexOf('From:'));
    const signature = { signingDomain: 'example.com', selector: 'app2026', privateKey: application.privateKeyPem, algorithm: 'rsa-sha256' };
    const { signatures } = await dkimSign(original, { ...signature, canonicalization: 'relaxed/relaxed', signatureData: [signature] });
    const received = STORED.subarray(0, STORED.indexOf('From:'));
    const stored = Buffer.concat([received, Buffer.from(signatures), original]);
    const message = await signedMessage(stored);
    assert.ok(message.subarray(message.length - stored.length).equals(stored), 'the stored message is unchanged beneath our fields');
    await assertBothVerifiers(message, dns, { 'sel-rsa': 'pass', 'sel-ed': 'pass', app2026: 'pass' });
  });

  test('the header From chooses the keys: another From domain is not signed, and its body is never read', async () => {
    let bytesRead = 0;
    const other = Buffer.from(STORED.toString('latin1').replace('support@example.com', 'billing@example.org'), 'latin1');
    const big = Buffer.concat([other, Buffer.alloc(4 * 1024 * 1024, 'a')]);
    const chunks = Array.from({ length: Math.ceil(big.length / 65_536) }, (_, i) => big.subarray(i * 65_536, (i + 1) * 65_536));
    const body = Readable.from(
      (function* () {
        for (const chunk of chunks) {
          bytesRead += chunk.length;
          yield chunk;
        }
      })(),
    );
    assert.equal(await dkimSignatures(body, keysFor, Date.now()), '');
    assert.ok(bytesRead <= 2 * 65_536, `read ${bytesRead} bytes`);
  });

  test('the courier signs outbound mail only, passes inbound forwards through, and defers when a key cannot be opened', async () => {
    const sent: Buffer[] = [];
    const inner = {
      remote: 'smarthost.test',
      async deliver(message: OutboundMessage): Promise<Map<string, DeliveryOutcome>> {
        sent.push(Buffer.concat(await message.openBody().toArray()));
        return new Map(message.recipients.map((r) => [r, { kind: 'delivered', reply: '250 ok' }]));
      },
      async close() {},
    };
    const message = (direction: 'outbound' | 'inbound'): OutboundMessage => ({
      id: 'Q1',
      direction,
      mailFrom: 'support@example.com',
      recipients: ['customer@example.net'],
      receivedAt: Date.now(),
      sizeBytes: STORED.length,
      openBody: () => Readable.from([STORED]),
    });
    const courier = dkimSigningCourier(inner, keysFor);
    assert.equal((await courier.deliver(message('outbound'))).get('customer@example.net')?.kind, 'delivered');
    assert.match(sent[0]?.toString('latin1') ?? '', /^DKIM-Signature: v=1; a=rsa-sha256;[\s\S]*\r\nDKIM-Signature: v=1; a=ed25519-sha256;/);
    await courier.deliver(message('inbound'));
    assert.ok(sent[1]?.equals(STORED), 'inbound forwards are not signed');

    const broken = dkimSigningCourier(inner, async () => {
      throw new Error('the DKIM key sel-rsa of example.com cannot be opened');
    });
    assert.deepEqual(
      await broken.deliver(message('outbound')),
      new Map([
        ['customer@example.net', { kind: 'deferred', reason: 'config', reply: 'DKIM signing failed: the DKIM key sel-rsa of example.com cannot be opened' }],
      ]),
    );
    assert.equal(sent.length, 2, 'nothing sent unsigned');
  });
});

describe('state changes a DNS check allows', () => {
  const row = (selector: string, algorithm: DkimKeyRecord['algorithm'], state: DkimKeyRecord['state'], extra: Partial<DkimKeyRecord> = {}): DkimKeyRecord => ({
    id: selector,
    domainId: 'dom_1',
    selector,
    algorithm,
    privateSealed: '',
    publicRecord: '',
    state,
    graceMs: null,
    createdAt: 0,
    publishedSeenAt: null,
    activatedAt: null,
    retireAt: null,
    retiredAt: null,
    lastCheck: null,
    ...extra,
  });
  const seen = (...ids: string[]) => new Map(ids.map((id) => [id, { outcome: 'published' as const, detail: '', found: [] }]));
  const NOW = 1_000_000;
  const cases: { name: string; rows: DkimKeyRecord[]; published: string[]; expected: string[] }[] = [
    { name: 'a pending key DNS does not show stays pending', rows: [row('a-rsa', 'rsa-sha256', 'pending')], published: [], expected: [] },
    { name: 'a pending key DNS shows becomes active', rows: [row('a-rsa', 'rsa-sha256', 'pending')], published: ['a-rsa'], expected: ['a-rsa pending→active'] },
    {
      name: 'its successor active, the old key of that algorithm retires after the grace period set at rotation',
      rows: [row('b-rsa', 'rsa-sha256', 'pending', { graceMs: 60_000 }), row('a-rsa', 'rsa-sha256', 'active'), row('a-ed', 'ed25519-sha256', 'active')],
      published: ['b-rsa', 'a-rsa', 'a-ed'],
      expected: ['b-rsa pending→active', `a-rsa active→retiring@${NOW + 60_000}`],
    },
    {
      name: 'a grace period of 0 retires the old key at once (a compromised key)',
      rows: [row('b-ed', 'ed25519-sha256', 'pending', { graceMs: 0 }), row('a-ed', 'ed25519-sha256', 'active')],
      published: ['b-ed'],
      expected: ['b-ed pending→active', `a-ed active→retired@${NOW}`],
    },
    {
      name: 'a retiring key whose time has come is retired, published or not',
      rows: [row('a-rsa', 'rsa-sha256', 'retiring', { retireAt: NOW }), row('z-rsa', 'rsa-sha256', 'retiring', { retireAt: NOW + 1 })],
      published: [],
      expected: ['a-rsa retiring→retired'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const transitions = transitionsAfterCheck(c.rows, seen(...c.published), NOW);
      assert.deepEqual(
        transitions.map((t) => `${t.selector} ${t.from}→${t.to}${t.changes.retireAt !== undefined ? `@${t.changes.retireAt}` : ''}`),
        c.expected,
      );
    });
  }
});

describe('key rotation in stages, confirmed by DNS', () => {
  let dns: TestDnsServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: Awaited<ReturnType<typeof openStore>>;
  let dkim: DkimDirectory;
  let now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const DAY = 86_400_000;

  before(async () => {
    dns = await startDnsServer();
    dir = await tempDir('relaygate-dkim-');
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir.path,
        ...(testDatabaseUrl(dir.path) ? { databaseUrl: testDatabaseUrl(dir.path) } : {}),
        dnsResolver: dns.address,
        hostname: 'gateway.test',
      },
    });
    store = await openStore(config);
    await insertDomain(store.db, 'example.com');
    const ctx = { db: store.db, clock: { now: () => now }, hashKey: store.hashKey, syncCommitted: store.syncCommitted };
    dkim = dkimDirectory({ dkimKeys: sqlDkimKeyStore(store.db) }, ctx, config);
  });
  after(async () => {
    await store?.close();
    await dns?.stop();
    await dir?.cleanup();
  });

  const publish = (d: { keys: { selector: string; state: string; record: { name: string; value: string } }[] }, ...selectors: string[]) => {
    for (const key of d.keys.filter((k) => selectors.includes(k.selector))) dns.set(key.record.name, { txt: [key.record.value] });
  };
  const states = (d: { keys: { selector: string; state: string }[] }) => Object.fromEntries(d.keys.map((k) => [k.selector, k.state]));
  const signing = async () => (await dkim.signingKeys('example.com')).map((k) => k.selector);

  test('generate → publish → check; rotate → publish → check; grace period → check', async () => {
    const generated = await dkim.generate('Example.COM', HARNESS_ACTOR);
    assert.deepEqual(states(generated), { 'rg202611a-rsa': 'pending', 'rg202611a-ed': 'pending' });
    assert.deepEqual(await signing(), []);
    await assert.rejects(
      dkim.generate('example.com', HARNESS_ACTOR),
      /already has DKIM keys \(rg202611a-rsa, rg202611a-ed\); to replace them: relaygate dkim rotate example\.com/,
    );

    // Not published yet: nothing changes, and the check says why.
    let checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(checked.changes, []);
    assert.equal(checked.keys[0]?.dns?.detail, 'rg202611a-rsa._domainkey.example.com does not exist (NXDOMAIN)');

    // Only the RSA record published: only RSA signs.
    publish(generated, 'rg202611a-rsa');
    checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(checked.changes, [{ selector: 'rg202611a-rsa', from: 'pending', to: 'active' }]);
    assert.deepEqual(await signing(), ['rg202611a-rsa']);
    publish(generated, 'rg202611a-ed');
    checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(states(checked), { 'rg202611a-rsa': 'active', 'rg202611a-ed': 'active' });
    assert.deepEqual(await signing(), ['rg202611a-rsa', 'rg202611a-ed']);

    // Rotation: the new pair waits while the current one signs.
    now += 40 * DAY;
    const rotated = await dkim.rotate('example.com', 7 * DAY, HARNESS_ACTOR);
    assert.deepEqual(states(rotated), { 'rg202612a-rsa': 'pending', 'rg202612a-ed': 'pending', 'rg202611a-rsa': 'active', 'rg202611a-ed': 'active' });
    checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(checked.changes, []);
    assert.deepEqual(await signing(), ['rg202611a-rsa', 'rg202611a-ed']);

    publish(rotated, 'rg202612a-rsa', 'rg202612a-ed');
    checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(states(checked), { 'rg202612a-rsa': 'active', 'rg202612a-ed': 'active', 'rg202611a-rsa': 'retiring', 'rg202611a-ed': 'retiring' });
    assert.equal(checked.keys.find((k) => k.selector === 'rg202611a-rsa')?.retireAt, now + 7 * DAY);
    assert.deepEqual(await signing(), ['rg202612a-rsa', 'rg202612a-ed']);

    // Within the grace period nothing retires; after it, the next check retires the old pair.
    now += 7 * DAY - 1;
    assert.deepEqual((await dkim.check('example.com', HARNESS_ACTOR)).changes, []);
    now += 1;
    checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(checked.changes, [
      { selector: 'rg202611a-rsa', from: 'retiring', to: 'retired' },
      { selector: 'rg202611a-ed', from: 'retiring', to: 'retired' },
    ]);

    const shown = await dkim.show('example.com');
    assert.equal(shown.keys.find((k) => k.selector === 'rg202611a-rsa')?.dns?.outcome, 'published', 'show looks DNS up: the retired record may now be removed');
    assert.deepEqual(
      (await dkimSelectorsFor(sqlDkimKeyStore(store.db), 'example.com')).map((s) => `${s.name} ${s.state}`),
      ['rg202612a-rsa._domainkey.example.com active', 'rg202612a-ed._domainkey.example.com active'],
    );
  });

  test('a wrong record or a failing resolver changes nothing; a second rotation supersedes keys never seen', async () => {
    const first = await dkim.rotate('example.com', DAY, HARNESS_ACTOR);
    const pending = first.keys.filter((k) => k.state === 'pending');
    assert.deepEqual(
      pending.map((k) => k.selector),
      ['rg202612b-rsa', 'rg202612b-ed'],
    );
    dns.set(pending[0]?.record.name ?? '', { txt: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong'] });
    dns.set(pending[1]?.record.name ?? '', 'servfail');
    const checked = await dkim.check('example.com', HARNESS_ACTOR);
    assert.deepEqual(checked.changes, []);
    assert.deepEqual(
      checked.keys.filter((k) => k.state === 'pending').map((k) => k.dns?.outcome),
      ['mismatch', 'dns_error'],
    );

    const second = await dkim.rotate('example.com', DAY, HARNESS_ACTOR);
    assert.deepEqual(
      second.keys.filter((k) => k.selector.startsWith('rg202612')).map((k) => `${k.selector} ${k.state}`),
      ['rg202612c-rsa pending', 'rg202612c-ed pending', 'rg202612b-rsa retired', 'rg202612b-ed retired', 'rg202612a-rsa active', 'rg202612a-ed active'],
    );
    await assert.rejects(dkim.rotate('example.com', -1, HARNESS_ACTOR), (err: Error & { field?: string }) => err.field === 'graceSeconds');
  });
});

describe('DKIM through the gateway', () => {
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer();
  });
  after(() => dns?.stop());

  test('a submitted message reaches the smarthost with an RSA and an Ed25519 signature that verify, its bytes unchanged beneath', async () => {
    const sink = await startSmtpSink();
    const gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`, dnsResolver: dns.address });
    try {
      const generated = await gw.services((s) => s.dkim.generate('example.com', HARNESS_ACTOR));
      for (const key of generated.keys) dns.set(key.record.name, { txt: [key.record.value] });
      const checked = await gw.services((s) => s.dkim.check('example.com', HARNESS_ACTOR));
      assert.deepEqual(
        checked.keys.map((k) => k.state),
        ['active', 'active'],
      );

      const credential = await gw.createCredential();
      const raw = applicationMessage('signed at delivery');
      await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.com', to: ['customer@example.net'], raw });
      const [delivered] = await sink.waitForMessages(1);
      assert.ok(delivered);
      const text = delivered.raw.toString('latin1');
      const received = text.indexOf('Received: ');
      assert.match(text.slice(0, received), /^DKIM-Signature: v=1; a=rsa-sha256; [\s\S]*DKIM-Signature: v=1; a=ed25519-sha256; /);
      assert.ok(text.endsWith(Buffer.from(raw).toString('latin1')), 'the application message is unchanged beneath our Received');
      const selectors = generated.keys.map((k) => k.selector);
      await assertBothVerifiers(delivered.raw, dns, { [selectors[0] ?? '']: 'pass', [selectors[1] ?? '']: 'pass' });
    } finally {
      await gw.stop();
      await sink.stop();
    }
  });

  test('the gateway moves keys on by itself: a published pending key becomes active at the next scheduled check, audited once', async () => {
    const gw = await startTestGateway({ dnsResolver: dns.address, 'dkim.checkInterval': '200ms' });
    try {
      const generated = await gw.services((s) => s.dkim.generate('example.com', HARNESS_ACTOR));
      // example.test's keys are never published: every scheduled round checks them, which
      // counts the rounds once example.com has nothing left to check.
      await gw.services((s) => s.dkim.generate('example.test', HARNESS_ACTOR));
      const audited = async () =>
        (await gw.services((s) => s.audit.list({ limit: 200, offset: 0 }))).items.filter((e: { action: string }) => e.action === 'dkim.check');
      // Unpublished: two scheduled checks committed (the audit entry would be in the same
      // transaction) change nothing and leave no trace in the audit log.
      await scheduledChecks(gw, 'example.com', 0, 2);
      assert.equal((await audited()).length, 0);
      for (const key of generated.keys) dns.set(key.record.name, { txt: [key.record.value] });
      await waitFor(async () => {
        const shown = await gw.services((s) => s.dkim.show('example.com', { lookUp: false }));
        return shown.keys.every((k) => k.state === 'active') ? true : undefined;
      });
      // Rounds never overlap: of three checks of example.test from here on, the second is in a
      // round begun after the one that activated example.com's keys, and the third proves that
      // round over. Had it audited example.com again, the entry would be there by now.
      await scheduledChecks(gw, 'example.test', await lastCheckAt(gw, 'example.test'), 3);
      const entries = await audited();
      assert.equal(entries.length, 1);
      assert.equal((entries[0] as { actor: string }).actor, 'system:dkim-schedule');
      assert.ok(gw.logs.some((line) => line.includes('"event":"dkim.key.state"') && line.includes('"to":"active"')));
    } finally {
      await gw.stop();
    }
  });

  test('the CLI and the API walk through generate, check and rotate', async () => {
    const gw = await startTestGateway({ dnsResolver: dns.address });
    try {
      const env = gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: dns.address });
      const generated = await runCli(['dkim', 'generate', 'example.test'], env);
      assert.equal(generated.code, 0, generated.stderr);
      const lines = [...generated.stdout.matchAll(/^ {2}(rg\d{6}a-(rsa|ed)\._domainkey\.example\.test) {2}TXT {2}(.+)$/gm)];
      assert.equal(lines.length, 2, generated.stdout);
      assert.match(generated.stdout, /then confirm with: relaygate dkim check example\.test\n$/);

      const unpublished = await runCli(['dkim', 'check', 'example.test'], env);
      assert.equal(unpublished.code, 1);
      assert.match(unpublished.stderr, /^relaygate: rg\d{6}a-rsa \(pending\): rg\d{6}a-rsa\._domainkey\.example\.test does not exist \(NXDOMAIN\)\n/);

      for (const [, name, , value] of lines) dns.set(name ?? '', { txt: [JSON.parse(`[${value?.replace(/" "/g, '","')}]`).join('')] });
      const published = await runCli(['dkim', 'check', 'example.test', '--json'], env);
      assert.equal(published.code, 0, published.stderr);
      const json = JSON.parse(published.stdout) as { keys: { state: string; dns: { outcome: string } }[]; changes: unknown[] };
      assert.deepEqual(
        json.keys.map((k) => `${k.state} ${k.dns.outcome}`),
        ['active published', 'active published'],
      );
      assert.equal(json.changes.length, 2);

      const rotated = await runCli(['dkim', 'rotate', 'example.test', '--grace', '2d'], env);
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.match(rotated.stdout, /^New DKIM keys for example\.test; the current ones keep signing until these are published\./);
      assert.match(rotated.stdout, /The keys they replace then stay published for 2d\.\n$/);
      const bad = await runCli(['dkim', 'rotate', 'example.test', '--grace', 'soon'], env);
      assert.equal(bad.stderr, 'relaygate: --grace must be a duration such as 7d, 48h or 0s, not "soon"\n');

      const shown = await runCli(['dkim', 'show', 'example.test'], env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^DKIM keys of example\.test\n\nSELECTOR\s+ALGORITHM\s+STATE\s+DNS\s+SINCE\s+RETIRE AT\n/);
      assert.match(shown.stdout, /rg\d{6}b-rsa: publish its record, then run "relaygate dkim check example\.test"\./);

      const token = await gw.createApiToken();
      const viaApi = await gw.api('/api/v1/domains/example.test/dkim', { token });
      assert.equal(viaApi.status, 200, viaApi.text);
      assert.deepEqual(
        (viaApi.body as { keys: { state: string }[] }).keys.map((k) => k.state),
        ['pending', 'pending', 'active', 'active'],
      );
      const conflict = await gw.api('/api/v1/domains/example.test/dkim/generate', { method: 'POST', token });
      assert.equal(conflict.status, 409, conflict.text);
      const rotateApi = await gw.api('/api/v1/domains/example.test/dkim/rotate', { method: 'POST', token, body: { graceSeconds: 3600 } });
      assert.equal(rotateApi.status, 200, rotateApi.text);
      const checkApi = await gw.api('/api/v1/domains/example.test/dkim/check', { method: 'POST', token });
      assert.equal(checkApi.status, 200, checkApi.text);
      assert.deepEqual((checkApi.body as { changes: unknown[] }).changes, []);
      const unknown = await gw.api('/api/v1/domains/nope.example/dkim', { token });
      assert.equal(unknown.status, 404, unknown.text);
    } finally {
      await gw.stop();
    }
  });
});
