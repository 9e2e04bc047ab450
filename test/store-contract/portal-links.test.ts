import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlPortalLinkStore } from '../../src/store/portal/index.js';
import { plantPortalMessage, plantPortalRecipient } from '../support/portal-rows.js';
import { storeEngines } from '../support/store-engines.js';

for (const engine of storeEngines()) {
  describe(`portal link store on ${engine.name}`, engine.options, () => {
    test('a link reads its recipient by token hash and its message', async () => {
      const s = await engine.open();
      try {
        const links = sqlPortalLinkStore(s.db);
        await plantPortalMessage(s.db, 'm1', { retainUntil: 9_000, revokedAt: 4_000, language: 'nl' });
        await plantPortalMessage(s.db, 'm2', { dataKey: false, shreddedAt: 5_000 });
        await plantPortalRecipient(s.db, 'm1', 'r1', { tokenHash: 't1', otpFailures: 2, lockedAt: 3_000 });
        assert.deepEqual(await links.recipientByToken('t1'), {
          id: 'r1',
          messageId: 'm1',
          address: 'r1@example.net',
          openedAt: null,
          revokedAt: null,
          otpHash: null,
          otpExpiresAt: null,
          otpAttempts: 0,
          otpSentAt: null,
          otpFailures: 2,
          lockedAt: 3_000,
        });
        assert.equal(await links.recipientByToken('t2'), undefined);
        assert.deepEqual(await links.message('m1'), {
          id: 'm1',
          organisationId: DEFAULT_ORGANISATION_ID,
          sender: 'app@example.com',
          hasDataKey: true,
          retainUntil: 9_000,
          revokedAt: 4_000,
          shreddedAt: null,
          language: 'nl',
        });
        const shredded = await links.message('m2');
        assert.equal(shredded?.hasDataKey, false);
        assert.equal(shredded?.shreddedAt, 5_000);
        assert.equal(await links.message('m3'), undefined);
      } finally {
        await s.dispose();
      }
    });

    test('the first view is marked once; a reply is marked', async () => {
      const s = await engine.open();
      try {
        const links = sqlPortalLinkStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1', { tokenHash: 't1' });
        assert.equal(await links.markOpened('r1', 2_000), true);
        assert.equal(await links.markOpened('r1', 3_000), false);
        assert.equal((await links.recipientByToken('t1'))?.openedAt, 2_000);
        await links.markReplied('r1', 4_000);
        const row = await s.db.selectFrom('secure_recipients').select(['opened_at', 'replied_at']).where('id', '=', 'r1').executeTakeFirstOrThrow();
        assert.deepEqual(row, { opened_at: 2_000, replied_at: 4_000 });
      } finally {
        await s.dispose();
      }
    });

    test("read receipts follow the organisation's setting", async () => {
      const s = await engine.open();
      try {
        const links = sqlPortalLinkStore(s.db);
        assert.deepEqual(await links.readReceipts(DEFAULT_ORGANISATION_ID), { enabled: false, format: 'text' });
        await s.db.updateTable('organisations').set({ read_receipts: 1, read_receipt_format: 'mdn' }).where('id', '=', DEFAULT_ORGANISATION_ID).execute();
        assert.deepEqual(await links.readReceipts(DEFAULT_ORGANISATION_ID), { enabled: true, format: 'mdn' });
        assert.equal(await links.readReceipts('org_none'), undefined);
      } finally {
        await s.dispose();
      }
    });

    test("replies are the recipient's own, oldest first, then by id", async () => {
      const s = await engine.open();
      try {
        const links = sqlPortalLinkStore(s.db);
        const reply = (id: string, recipientId: string, createdAt: number, messageId = 'm1') => ({
          id,
          messageId,
          recipientId,
          createdAt,
          contentSealed: `c-${id}`,
        });
        await links.insertReply(reply('p3', 'r1', 3_000));
        await links.insertReply(reply('p2', 'r1', 1_000));
        await links.insertReply(reply('p1', 'r1', 3_000));
        await links.insertReply(reply('p4', 'r2', 2_000));
        await links.insertReply(reply('p5', 'r1', 2_000, 'm2'));
        assert.deepEqual(await links.replies('m1', 'r1'), [
          { createdAt: 1_000, contentSealed: 'c-p2' },
          { createdAt: 3_000, contentSealed: 'c-p1' },
          { createdAt: 3_000, contentSealed: 'c-p3' },
        ]);
        assert.deepEqual(await links.replies('m1', 'r3'), []);
      } finally {
        await s.dispose();
      }
    });
  });
}
