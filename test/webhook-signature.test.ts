import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { generateWebhookSecret, isWebhookSecret, signatureHeaders, verifyWebhook } from '../src/inbound/webhook-signature.js';

const NOW_SEC = 1_800_000_000;
const body = '{"type":"message.received","id":"evt_1"}';

test('webhook signature: a generated secret is whsec_ and 32 random bytes', () => {
  const secret = generateWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
  assert.ok(isWebhookSecret(secret));
  assert.notEqual(generateWebhookSecret(), secret);
});

test('webhook signature: isWebhookSecret wants the prefix, canonical base64 and 24 to 64 bytes', () => {
  assert.ok(isWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'));
  assert.equal(isWebhookSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), false);
  assert.equal(isWebhookSecret(`whsec_${Buffer.alloc(16).toString('base64')}`), false);
  assert.equal(isWebhookSecret(`whsec_${Buffer.alloc(65).toString('base64')}`), false);
  assert.equal(isWebhookSecret('whsec_not base64!'), false);
});

// The vector every Standard Webhooks reference library checks (libraries/*/webhook_test in
// github.com/standard-webhooks/standard-webhooks), recomputed here with node:crypto as well.
test('webhook signature: the Standard Webhooks known-answer vector', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const payload = '{"test": 2432232314}';
  const independent = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')).update(`${id}.1614265330.${payload}`).digest('base64');
  assert.equal(independent, 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  assert.deepEqual(signatureHeaders([secret], id, 1614265330, payload), {
    'webhook-id': id,
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  });
  assert.deepEqual(verifyWebhook(secret, signatureHeaders([secret], id, 1614265330, payload), payload, { nowSec: 1614265330 }), { ok: true });
});

test('webhook signature: round trip, and a tampered body, id or timestamp fails', () => {
  const secret = generateWebhookSecret();
  const headers = signatureHeaders([secret], 'evt_1', NOW_SEC, body);
  assert.deepEqual(verifyWebhook(secret, headers, body, { nowSec: NOW_SEC }), { ok: true });
  const mismatch = { ok: false, problem: 'no v1 signature in webhook-signature matches' };
  assert.deepEqual(verifyWebhook(secret, headers, body.replace('evt_1', 'evt_2'), { nowSec: NOW_SEC }), mismatch);
  assert.deepEqual(verifyWebhook(secret, { ...headers, 'webhook-id': 'evt_2' }, body, { nowSec: NOW_SEC }), mismatch);
  assert.deepEqual(verifyWebhook(secret, { ...headers, 'webhook-timestamp': String(NOW_SEC + 1) }, body, { nowSec: NOW_SEC }), mismatch);
  assert.deepEqual(verifyWebhook(generateWebhookSecret(), headers, body, { nowSec: NOW_SEC }), mismatch);
});

test('webhook signature: a timestamp beyond the tolerance either way is refused (replay)', () => {
  const secret = generateWebhookSecret();
  const at = (timestampSec: number, toleranceSec?: number) =>
    verifyWebhook(secret, signatureHeaders([secret], 'evt_1', timestampSec, body), body, { nowSec: NOW_SEC, toleranceSec });
  assert.deepEqual(at(NOW_SEC - 300), { ok: true });
  assert.deepEqual(at(NOW_SEC - 301), { ok: false, problem: 'webhook-timestamp is 301 s old, beyond 300 s' });
  assert.deepEqual(at(NOW_SEC + 300), { ok: true });
  assert.deepEqual(at(NOW_SEC + 301), { ok: false, problem: 'webhook-timestamp is 301 s ahead, beyond 300 s' });
  assert.deepEqual(at(NOW_SEC - 30, 10), { ok: false, problem: 'webhook-timestamp is 30 s old, beyond 10 s' });
});

test('webhook signature: two live secrets during a rotation, either one verifies', () => {
  const [old, next] = [generateWebhookSecret(), generateWebhookSecret()];
  const headers = signatureHeaders([old, next], 'evt_1', NOW_SEC, body);
  assert.match(headers['webhook-signature'] ?? '', /^v1,\S{44} v1,\S{44}$/);
  assert.deepEqual(verifyWebhook(old, headers, body, { nowSec: NOW_SEC }), { ok: true });
  assert.deepEqual(verifyWebhook(next, headers, body, { nowSec: NOW_SEC }), { ok: true });
});

test('webhook signature: other versions and junk in the list are skipped, not fatal', () => {
  const secret = generateWebhookSecret();
  const headers = signatureHeaders([secret], 'evt_1', NOW_SEC, body);
  const list = `v1a,AAAA v2,${headers['webhook-signature']?.slice(3)} v1,short   ${headers['webhook-signature']}`;
  assert.deepEqual(verifyWebhook(secret, { ...headers, 'webhook-signature': list }, body, { nowSec: NOW_SEC }), { ok: true });
  // Repeated headers arrive as an array and are one list; names match whatever their case.
  const repeated = { 'Webhook-Id': 'evt_1', 'WEBHOOK-TIMESTAMP': String(NOW_SEC), 'webhook-signature': ['v1,junk', headers['webhook-signature'] ?? ''] };
  assert.deepEqual(verifyWebhook(secret, repeated, body, { nowSec: NOW_SEC }), { ok: true });
});

test('webhook signature: missing or malformed headers and secrets say what is wrong', () => {
  const secret = generateWebhookSecret();
  const headers = signatureHeaders([secret], 'evt_1', NOW_SEC, body);
  const check = (changed: Record<string, string | string[] | undefined>) => verifyWebhook(secret, { ...headers, ...changed }, body, { nowSec: NOW_SEC });
  assert.deepEqual(check({ 'webhook-id': undefined }), { ok: false, problem: 'webhook-id is missing or repeated' });
  assert.deepEqual(check({ 'webhook-id': ['a', 'b'] }), { ok: false, problem: 'webhook-id is missing or repeated' });
  assert.deepEqual(check({ 'webhook-timestamp': '1.8e9' }), { ok: false, problem: 'webhook-timestamp is missing, repeated, or not whole seconds' });
  assert.deepEqual(check({ 'webhook-signature': '' }), { ok: false, problem: 'webhook-signature is missing' });
  assert.deepEqual(check({ 'webhook-signature': 'v1,' }), { ok: false, problem: 'no v1 signature in webhook-signature matches' });
  assert.deepEqual(verifyWebhook('secret', headers, body, { nowSec: NOW_SEC }), {
    ok: false,
    problem: 'the secret is not whsec_ followed by base64 of 24 to 64 bytes',
  });
  assert.throws(() => signatureHeaders(['whsec_short'], 'evt_1', NOW_SEC, body), RangeError);
  assert.throws(() => signatureHeaders([secret], 'evt_1', NOW_SEC + 0.5, body), RangeError);
  assert.throws(() => signatureHeaders([], 'evt_1', NOW_SEC, body), RangeError);
});
