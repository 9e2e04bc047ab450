import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyFailure } from '../src/delivery/classify-failure.js';
import { nextAttemptAt } from '../src/queue/retry-schedule.js';

// What each client error means for the recipient: a 5xx about the message bounces,
// everything else waits for another attempt.
const failures: { name: string; err: unknown; expect: ReturnType<typeof classifyFailure> }[] = [
  {
    name: '5xx to RCPT bounces with its enhanced code',
    err: { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: '550 5.1.1 user unknown' },
    expect: { kind: 'bounced', reason: 'remote-reply', reply: '550 5.1.1 user unknown', status: '5.1.1' },
  },
  {
    name: '5xx to DATA without an enhanced code bounces as 5.0.0',
    err: { code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 no' },
    expect: { kind: 'bounced', reason: 'remote-reply', reply: '554 no', status: '5.0.0' },
  },
  {
    name: '4xx defers',
    err: { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 451, response: '451 4.3.0 later' },
    expect: { kind: 'deferred', reason: 'remote-reply', reply: '451 4.3.0 later' },
  },
  {
    name: '5xx to AUTH defers: our credentials, not the message',
    err: { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 5.7.8 bad' },
    expect: { kind: 'deferred', reason: 'auth', reply: 'AUTH PLAIN: 535 5.7.8 bad' },
  },
  {
    name: '5xx to STARTTLS defers as a TLS problem',
    err: { code: 'ETLS', command: 'STARTTLS', responseCode: 500, response: '500 unknown command' },
    expect: { kind: 'deferred', reason: 'tls', reply: 'STARTTLS: 500 unknown command' },
  },
  {
    name: 'connection refused defers',
    err: { code: 'ESOCKET', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:25' },
    expect: { kind: 'deferred', reason: 'connection', reply: 'connect ECONNREFUSED 127.0.0.1:25' },
  },
  { name: 'anything unknown defers', err: new TypeError('boom'), expect: { kind: 'deferred', reason: 'unknown', reply: 'boom' } },
];

for (const f of failures) {
  test(`classify failure: ${f.name}`, () => {
    assert.deepEqual(classifyFailure(f.err), f.expect);
  });
}

test('retry schedule: exponential with ±20 % jitter, capped, never past expiry', () => {
  const policy = { initialMs: 60_000, maxMs: 3_600_000 };
  const now = 1_000_000;
  const far = now + 10 * 86_400_000;
  assert.equal(
    nextAttemptAt(policy, 1, now, far, () => 0.5),
    now + 60_000,
  );
  assert.equal(
    nextAttemptAt(policy, 3, now, far, () => 0.5),
    now + 240_000,
  );
  assert.equal(
    nextAttemptAt(policy, 20, now, far, () => 0.5),
    now + 3_600_000,
  );
  assert.equal(
    nextAttemptAt(policy, 1, now, far, () => 0),
    now + 48_000,
  );
  assert.equal(
    nextAttemptAt(policy, 1, now, far, () => 1),
    now + 72_000,
  );
  assert.equal(
    nextAttemptAt(policy, 10, now, now + 5_000, () => 0.5),
    now + 5_000,
  );
});
