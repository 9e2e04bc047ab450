import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { signPath, verifySignedPath } from '../src/inbound/signed-url.js';

const key = randomBytes(32);
const path = '/v1/messages/q_123/attachments/0';
const expiresAtMs = 1_800_000_000_000;

function queryOf(signed: string): { expires?: string; sig?: string } {
  const params = new URL(signed, 'https://gateway.example').searchParams;
  return { expires: params.get('expires') ?? undefined, sig: params.get('sig') ?? undefined };
}

test('signed url: the link is the path with expires (seconds) and a base64url HMAC', () => {
  const signed = signPath(key, path, expiresAtMs + 999);
  const expectedSig = createHmac('sha256', key).update(`1800000000\n${path}`).digest('base64url');
  assert.equal(signed, `${path}?expires=1800000000&sig=${expectedSig}`);
  assert.equal(verifySignedPath(key, path, queryOf(signed), expiresAtMs - 1), 'ok');
});

test('signed url: expired from the expiry second on', () => {
  const query = queryOf(signPath(key, path, expiresAtMs));
  assert.equal(verifySignedPath(key, path, query, expiresAtMs - 1), 'ok');
  assert.equal(verifySignedPath(key, path, query, expiresAtMs), 'expired');
  assert.equal(verifySignedPath(key, path, query, expiresAtMs + 86_400_000), 'expired');
});

// Each case alters one thing a holder of a genuine link might try to change.
const forgeries: { name: string; path?: string; query: (genuine: { expires?: string; sig?: string }) => { expires?: string; sig?: string } }[] = [
  { name: 'another path with the same signature', path: '/v1/messages/q_123/attachments/1', query: (q) => q },
  { name: 'a later expiry', query: (q) => ({ ...q, expires: String(Number(q.expires) + 3600) }) },
  { name: 'no signature', query: (q) => ({ expires: q.expires }) },
  { name: 'no expiry', query: (q) => ({ sig: q.sig }) },
  { name: 'a signature of the wrong length', query: (q) => ({ ...q, sig: q.sig?.slice(0, 20) }) },
  { name: 'a non-numeric expiry', query: (q) => ({ ...q, expires: '1e12' }) },
  { name: 'one character of the signature changed', query: (q) => ({ ...q, sig: `${q.sig?.startsWith('A') ? 'B' : 'A'}${q.sig?.slice(1)}` }) },
];

for (const forgery of forgeries) {
  test(`signed url: ${forgery.name} is a bad signature`, () => {
    const genuine = queryOf(signPath(key, path, expiresAtMs));
    assert.equal(verifySignedPath(key, forgery.path ?? path, forgery.query(genuine), expiresAtMs - 60_000), 'bad-signature');
  });
}

test('signed url: another key does not verify, even for an expired link', () => {
  const query = queryOf(signPath(randomBytes(32), path, expiresAtMs));
  assert.equal(verifySignedPath(key, path, query, expiresAtMs - 1), 'bad-signature');
  assert.equal(verifySignedPath(key, path, query, expiresAtMs + 1), 'bad-signature');
});

test('signed url: a path that already has a query is refused when signing', () => {
  assert.throws(() => signPath(key, '/raw?x=1', expiresAtMs), RangeError);
});
