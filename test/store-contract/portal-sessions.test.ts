import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlPortalSessionStore } from '../../src/store/portal-sessions/index.js';
import { plantPortalMessage, plantPortalRecipient } from '../support/portal-rows.js';
import { storeEngines } from '../support/store-engines.js';

const LIMITS = { maxAttempts: 2, maxWrongCodes: 3 };

for (const engine of storeEngines()) {
  describe(`portal session store on ${engine.name}`, engine.options, () => {
    test('a session is found by its hash, extended, removed', async () => {
      const s = await engine.open();
      try {
        const sessions = sqlPortalSessionStore(s.db);
        await sessions.insertSession({ idHash: 'h1', recipientId: 'r1', createdAt: 1_000, expiresAt: 2_000 });
        await sessions.insertSession({ idHash: 'h2', recipientId: 'r1', createdAt: 1_500, expiresAt: 2_500 });
        assert.deepEqual(await sessions.findSession('h1'), { idHash: 'h1', recipientId: 'r1', createdAt: 1_000, expiresAt: 2_000 });
        assert.equal(await sessions.findSession('h3'), undefined);
        await sessions.extendSession('h1', 3_000);
        assert.equal((await sessions.findSession('h1'))?.expiresAt, 3_000);
        assert.equal((await sessions.findSession('h2'))?.expiresAt, 2_500, 'only the one named');
        await sessions.removeSession('h1');
        assert.equal(await sessions.findSession('h1'), undefined);
        assert.equal((await sessions.findSession('h2'))?.recipientId, 'r1');
      } finally {
        await s.dispose();
      }
    });

    test('a code replaces the last only if that is still the last: of two racing, one wins', async () => {
      const s = await engine.open();
      try {
        const codes = sqlPortalSessionStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1');
        assert.equal(await codes.replaceCode('r1', { hash: 'c1', expiresAt: 5_000, sentAt: 1_000 }, 999), false, 'none was sent at 999');
        assert.equal(await codes.replaceCode('r1', { hash: 'c1', expiresAt: 5_000, sentAt: 1_000 }, null), true);
        assert.equal(await codes.replaceCode('r1', { hash: 'c2', expiresAt: 6_000, sentAt: 2_000 }, null), false, 'the racing request lost');
        assert.deepEqual(await codes.codeLink('r1'), {
          id: 'r1',
          otpHash: 'c1',
          otpExpiresAt: 5_000,
          otpAttempts: 0,
          otpSentAt: 1_000,
          otpFailures: 0,
          lockedAt: null,
        });
        assert.equal(await codes.replaceCode('r1', { hash: 'c2', expiresAt: 6_000, sentAt: 2_000 }, 1_000), true);
        assert.equal((await codes.codeLink('r1')).otpHash, 'c2');
        await assert.rejects(codes.codeLink('nobody'));
      } finally {
        await s.dispose();
      }
    });

    test('attempts are taken only for the code still there, within both limits, while unlocked', async () => {
      const s = await engine.open();
      try {
        const codes = sqlPortalSessionStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1');
        await plantPortalRecipient(s.db, 'm1', 'r2', { lockedAt: 500 });
        await codes.replaceCode('r1', { hash: 'c1', expiresAt: 5_000, sentAt: 1_000 }, null);
        await codes.replaceCode('r2', { hash: 'c1', expiresAt: 5_000, sentAt: 1_000 }, null);
        assert.equal(await codes.takeAttempt('r1', 'other', LIMITS), undefined, 'a replaced code');
        assert.equal(await codes.takeAttempt('r1', null, LIMITS), undefined, 'no code');
        assert.equal(await codes.takeAttempt('r2', 'c1', LIMITS), undefined, 'a locked link');
        assert.deepEqual(await codes.takeAttempt('r1', 'c1', LIMITS), { attempts: 1, wrongCodes: 1 });
        assert.deepEqual(await codes.takeAttempt('r1', 'c1', LIMITS), { attempts: 2, wrongCodes: 2 });
        assert.equal(await codes.takeAttempt('r1', 'c1', LIMITS), undefined, 'the code is used up');
        // A new code: fresh attempts, but the link's wrong codes go on.
        await codes.replaceCode('r1', { hash: 'c2', expiresAt: 9_000, sentAt: 3_000 }, 1_000);
        assert.deepEqual(await codes.takeAttempt('r1', 'c2', LIMITS), { attempts: 1, wrongCodes: 3 });
        assert.equal(await codes.takeAttempt('r1', 'c2', LIMITS), undefined, 'the link reached its wrong codes');
        assert.deepEqual(await codes.codeLink('r1'), {
          id: 'r1',
          otpHash: 'c2',
          otpExpiresAt: 9_000,
          otpAttempts: 1,
          otpSentAt: 3_000,
          otpFailures: 3,
          lockedAt: null,
        });
      } finally {
        await s.dispose();
      }
    });

    test('a used code is cleared once, and gives back the wrong code its attempt took', async () => {
      const s = await engine.open();
      try {
        const codes = sqlPortalSessionStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1', { otpFailures: 4 });
        await codes.replaceCode('r1', { hash: 'c1', expiresAt: 5_000, sentAt: 1_000 }, null);
        assert.deepEqual(await codes.takeAttempt('r1', 'c1', { maxAttempts: 5, maxWrongCodes: 20 }), { attempts: 1, wrongCodes: 5 });
        assert.equal(await codes.useCode('r1', 'other'), false);
        assert.equal(await codes.useCode('r1', 'c1'), true);
        assert.equal(await codes.useCode('r1', 'c1'), false, 'single use');
        assert.deepEqual(await codes.codeLink('r1'), {
          id: 'r1',
          otpHash: null,
          otpExpiresAt: null,
          otpAttempts: 0,
          otpSentAt: 1_000,
          otpFailures: 4,
          lockedAt: null,
        });
      } finally {
        await s.dispose();
      }
    });
  });
}
