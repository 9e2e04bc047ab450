import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { daneVerify, isUsableTlsa, type Tlsa, tlsaSelect } from '../src/delivery/dane-match.js';
import { policyListsHost } from '../src/delivery/mta-sts.js';
import { tlsRequiredOf } from '../src/pipeline/tls-required.js';
import { type HostSecurityFacts, type HostTlsPlan, planHostTls } from '../src/policy/mx-tls-policy.js';
import { makeLeafCert, makeTestCa } from './support/certs.js';

const record = (usage: number, selector: number, matchingType: number, c: X509Certificate): Tlsa => {
  const selected = tlsaSelect(c, selector);
  const data =
    matchingType === 0
      ? selected
      : createHash(matchingType === 1 ? 'sha256' : 'sha512')
          .update(selected)
          .digest();
  return { usage, selector, matchingType, data };
};

describe('DANE matching (RFC 7672 §3.1)', () => {
  let leaf: X509Certificate;
  let ca: X509Certificate;
  let stranger: X509Certificate;

  before(async () => {
    const testCa = await makeTestCa();
    leaf = new X509Certificate((await makeLeafCert(testCa, ['mx1.example.net'])).cert);
    ca = new X509Certificate(testCa.caCert);
    stranger = new X509Certificate((await makeLeafCert(await makeTestCa(), ['mx1.example.net'])).cert);
  });

  // Each case: the records published, the chain presented, the MX host name, and the verdict.
  const cases: { name: string; records: () => Tlsa[]; chain: () => X509Certificate[]; host?: string; expect: string }[] = [
    { name: '3 1 1 of the leaf', records: () => [record(3, 1, 1, leaf)], chain: () => [leaf, ca], expect: 'DANE-EE 3 1 1' },
    { name: '3 0 1 of the leaf', records: () => [record(3, 0, 1, leaf)], chain: () => [leaf, ca], expect: 'DANE-EE 3 0 1' },
    { name: '3 1 2 (SHA-512)', records: () => [record(3, 1, 2, leaf)], chain: () => [leaf], expect: 'DANE-EE 3 1 2' },
    { name: 'DANE-EE ignores the name', records: () => [record(3, 1, 1, leaf)], chain: () => [leaf], host: 'other.example', expect: 'DANE-EE 3 1 1' },
    {
      name: '3 1 1 of another key',
      records: () => [record(3, 1, 1, stranger)],
      chain: () => [leaf, ca],
      expect: 'no TLSA record matched the certificate of mx1.example.net',
    },
    { name: '2 1 1 of the CA in the chain', records: () => [record(2, 1, 1, ca)], chain: () => [leaf, ca], expect: 'DANE-TA 2 1 1' },
    { name: '2 0 0: the CA only in DNS', records: () => [record(2, 0, 0, ca)], chain: () => [leaf], expect: 'DANE-TA 2 0 0' },
    {
      name: 'DANE-TA checks the name',
      records: () => [record(2, 1, 1, ca)],
      chain: () => [leaf, ca],
      host: 'other.example',
      expect: 'the certificate of other.example does not name it (DANE-TA requires the name, RFC 7672 §3.2.2)',
    },
    {
      name: 'DANE-TA: the anchor did not issue the leaf',
      records: () => [record(2, 1, 1, ca)],
      chain: () => [stranger, ca],
      expect: 'the certificate chain of mx1.example.net does not verify up to its DANE-TA anchor',
    },
    {
      name: 'PKIX-EE (1) is unusable for SMTP',
      records: () => [record(1, 1, 1, leaf)],
      chain: () => [leaf, ca],
      expect: 'no TLSA record matched the certificate of mx1.example.net',
    },
    { name: 'no certificate', records: () => [record(3, 1, 1, leaf)], chain: () => [], expect: 'mx1.example.net presented no certificate' },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const verdict = daneVerify(c.chain(), c.records(), c.host ?? 'mx1.example.net');
      assert.equal(verdict.ok ? `${verdict.authentication} ${verdict.match}` : verdict.problem, c.expect);
    });
  }

  test('usable records: usages 2 and 3, selectors 0 and 1, matching types 0 to 2, digests of the right length', () => {
    const data32 = Buffer.alloc(32);
    assert.equal(isUsableTlsa({ usage: 3, selector: 1, matchingType: 1, data: data32 }), true);
    assert.equal(isUsableTlsa({ usage: 0, selector: 1, matchingType: 1, data: data32 }), false);
    assert.equal(isUsableTlsa({ usage: 3, selector: 2, matchingType: 1, data: data32 }), false);
    assert.equal(isUsableTlsa({ usage: 3, selector: 1, matchingType: 3, data: data32 }), false);
    assert.equal(isUsableTlsa({ usage: 3, selector: 1, matchingType: 2, data: data32 }), false, 'SHA-512 needs 64 bytes');
  });
});

describe('TLS plan per MX host', () => {
  const facts = (f: Partial<HostSecurityFacts>): HostSecurityFacts => ({
    domain: 'example.net',
    mxHost: 'mx1.example.net',
    mxSecure: false,
    dane: 'none',
    mtaSts: null,
    requirement: undefined,
    tlsRequired: undefined,
    ...f,
  });
  const summary = (p: HostTlsPlan) =>
    p.kind === 'refuse'
      ? `refuse ${p.permanent ? 'permanently ' : ''}${p.problem}`
      : `${p.policy}: tls ${p.tls}, ${p.authenticate}${p.enforce ? '' : ' (reported only)'}${p.requireTlsExtension ? ', REQUIRETLS' : ''}${p.notes.length ? `; ${p.notes.join('; ')}` : ''}`;

  const cases: { name: string; facts: Partial<HostSecurityFacts>; expect: string }[] = [
    { name: 'nothing published: opportunistic', facts: {}, expect: 'opportunistic: tls opportunistic, none' },
    { name: 'usable TLSA: DANE, TLS required', facts: { mxSecure: true, dane: 'usable' }, expect: 'dane: tls required, dane' },
    {
      name: 'secure TLSA, none usable: TLS required, unauthenticated (RFC 7672 §2.2)',
      facts: { mxSecure: true, dane: 'unusable' },
      expect: 'dane: tls required, none',
    },
    {
      name: 'DANE wins over MTA-STS, even an enforce policy not listing the host',
      facts: { mxSecure: true, dane: 'usable', mtaSts: { mode: 'enforce', listsHost: false } },
      expect: 'dane: tls required, dane',
    },
    { name: 'MTA-STS enforce, host listed', facts: { mtaSts: { mode: 'enforce', listsHost: true } }, expect: 'mta-sts-enforce: tls required, pkix' },
    {
      name: 'MTA-STS enforce, host not listed: refused',
      facts: { mtaSts: { mode: 'enforce', listsHost: false } },
      expect: 'refuse mta-sts: mx1.example.net is not an MX host the enforce policy of example.net lists',
    },
    {
      name: 'MTA-STS testing, host not listed: a note',
      facts: { mtaSts: { mode: 'testing', listsHost: false } },
      expect: 'mta-sts-testing: tls opportunistic, pkix (reported only); mta-sts: mx1.example.net is not an MX host the testing policy of example.net lists',
    },
    { name: 'require-tls', facts: { requirement: 'tls' }, expect: 'override: tls required, none' },
    { name: 'require-verified', facts: { requirement: 'verified' }, expect: 'override: tls required, pkix' },
    {
      name: 'require-verified with DANE: DANE authenticates',
      facts: { requirement: 'verified', mxSecure: true, dane: 'usable' },
      expect: 'dane: tls required, dane',
    },
    {
      name: 'require-dane without DANE: refused',
      facts: { requirement: 'dane', mxSecure: true },
      expect: 'refuse tls-policy: example.net requires DANE, but mx1.example.net has no usable DNSSEC-signed TLSA record',
    },
    {
      name: 'require-tls on a testing policy',
      facts: { requirement: 'tls', mtaSts: { mode: 'testing', listsHost: true } },
      expect: 'override: tls required, pkix (reported only)',
    },
    {
      name: 'TLS-Required: No relaxes DANE',
      facts: { mxSecure: true, dane: 'usable', tlsRequired: 'no' },
      expect: 'dane: tls opportunistic, dane (reported only)',
    },
    {
      name: 'TLS-Required: No relaxes MTA-STS enforce',
      facts: { mtaSts: { mode: 'enforce', listsHost: false }, tlsRequired: 'no' },
      expect: 'mta-sts-enforce: tls opportunistic, pkix (reported only); mta-sts: mx1.example.net is not an MX host the enforce policy of example.net lists',
    },
    { name: 'TLS-Required: No never relaxes the operator', facts: { requirement: 'verified', tlsRequired: 'no' }, expect: 'override: tls required, pkix' },
    {
      name: 'REQUIRETLS without DNSSEC or MTA-STS: refused for good',
      facts: { tlsRequired: 'requiretls' },
      expect:
        'refuse permanently requiretls: mx1.example.net was not found securely: the MX answer of example.net is not DNSSEC-signed and no MTA-STS policy lists it',
    },
    {
      name: 'REQUIRETLS with a secure MX: PKIX',
      facts: { tlsRequired: 'requiretls', mxSecure: true },
      expect: 'opportunistic: tls required, pkix, REQUIRETLS',
    },
    {
      name: 'REQUIRETLS enforces a testing policy',
      facts: { tlsRequired: 'requiretls', mtaSts: { mode: 'testing', listsHost: true } },
      expect: 'mta-sts-testing: tls required, pkix, REQUIRETLS',
    },
    { name: 'REQUIRETLS with DANE', facts: { tlsRequired: 'requiretls', mxSecure: true, dane: 'usable' }, expect: 'dane: tls required, dane, REQUIRETLS' },
  ];

  for (const c of cases) {
    test(c.name, () => assert.equal(summary(planHostTls(facts(c.facts))), c.expect));
  }
});

describe('MTA-STS mx patterns (RFC 8461 §4.1)', () => {
  const policy = (mx: string[]) => ({ id: '1', mode: 'enforce' as const, mx });
  const cases: [string[], string, boolean][] = [
    [['mx1.example.net'], 'mx1.example.net', true],
    [['mx1.example.net'], 'MX1.Example.NET.', true],
    [['mx1.example.net'], 'mx2.example.net', false],
    [['*.example.net'], 'mx1.example.net', true],
    [['*.example.net'], 'a.b.example.net', false],
    [['*.example.net'], 'example.net', false],
    [['*.example.net', 'a.b.example.net'], 'a.b.example.net', true],
  ];
  for (const [mx, host, listed] of cases) {
    test(`${mx.join(', ')} ${listed ? 'lists' : 'does not list'} ${host}`, () => assert.equal(policyListsHost(policy(mx), host), listed));
  }
});

describe('what the sender asked of TLS (RFC 8689)', () => {
  const headers = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
  test('REQUIRETLS on MAIL FROM wins over the header', () => {
    assert.equal(tlsRequiredOf({ mailFrom: 'a@b.example', recipients: [], requireTls: true }, headers('TLS-Required: No')), 'requiretls');
  });
  test('TLS-Required: No, any case, folded', () => {
    assert.equal(tlsRequiredOf({ mailFrom: '', recipients: [] }, headers('Subject: x', 'tls-required:', ' no')), 'no');
  });
  test('other values and other fields are not it', () => {
    assert.equal(tlsRequiredOf({ mailFrom: '', recipients: [] }, headers('TLS-Required: Yes', 'X-TLS-Required: No')), undefined);
  });
});
