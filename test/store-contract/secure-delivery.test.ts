import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlSecureDeliveryStore } from '../../src/store/secure-delivery/index.js';
import type { Db } from '../../src/store/tables.js';
import { insertDomain } from '../support/gateway-process.js';
import { storeEngines } from '../support/store-engines.js';

async function plantRecipient(db: Db, id: string, messageId: string, address: string, revokedAt: number | null = null) {
  await db
    .insertInto('secure_recipients')
    .values({
      id,
      message_id: messageId,
      address,
      token_hash: `hash-${id}`,
      token_sealed: `token-${id}`,
      status: 'pending',
      delivered_via: null,
      fallback_reason: 'earlier',
      evidence: null,
      notified_at: null,
      opened_at: null,
      replied_at: null,
      bounced_at: null,
      revoked_at: revokedAt,
      otp_hash: null,
      otp_expires_at: null,
      otp_attempts: 0,
      otp_sent_at: null,
      otp_failures: 0,
      locked_at: null,
    })
    .execute();
}

for (const engine of storeEngines()) {
  describe(`secure delivery store on ${engine.name}`, engine.options, () => {
    test("a message's recipients; progress changes only the fields given", async () => {
      const s = await engine.open();
      try {
        await plantRecipient(s.db, 'r1', 'M', 'a@example.net');
        await plantRecipient(s.db, 'r2', 'M', 'b@example.net', 55);
        await plantRecipient(s.db, 'n1', 'N', 'c@example.net');
        const store = sqlSecureDeliveryStore(s.db);
        const recipients = (await store.recipients('M')).sort((x, y) => x.id.localeCompare(y.id));
        assert.deepEqual(recipients, [
          { id: 'r1', address: 'a@example.net', tokenSealed: 'token-r1', revokedAt: null },
          { id: 'r2', address: 'b@example.net', tokenSealed: 'token-r2', revokedAt: 55 },
        ]);
        await store.recordProgress('r1', { status: 'notified', deliveredVia: 'portal', notifiedAt: 77 });
        await store.recordProgress('r2', { status: 'delivered', deliveredVia: 'direct', evidence: '{"x":1}', fallbackReason: null });
        const rows = await s.db
          .selectFrom('secure_recipients')
          .select(['id', 'status', 'delivered_via', 'notified_at', 'evidence', 'fallback_reason', 'bounced_at'])
          .orderBy('id')
          .execute();
        assert.deepEqual(
          rows.map((r) => ({ ...r, notified_at: r.notified_at === null ? null : Number(r.notified_at) })),
          [
            { id: 'n1', status: 'pending', delivered_via: null, notified_at: null, evidence: null, fallback_reason: 'earlier', bounced_at: null },
            { id: 'r1', status: 'notified', delivered_via: 'portal', notified_at: 77, evidence: null, fallback_reason: 'earlier', bounced_at: null },
            { id: 'r2', status: 'delivered', delivered_via: 'direct', notified_at: null, evidence: '{"x":1}', fallback_reason: null, bounced_at: null },
          ],
        );
      } finally {
        await s.dispose();
      }
    });

    test('a reference is linked once: a hash already linked keeps its message', async () => {
      const s = await engine.open();
      try {
        const store = sqlSecureDeliveryStore(s.db);
        await store.linkReference('h1', 'M');
        await store.linkReference('h1', 'N');
        await store.linkReference('h2', 'N');
        const rows = await s.db.selectFrom('secure_message_refs').selectAll().orderBy('ref_hash').execute();
        assert.deepEqual(rows, [
          { ref_hash: 'h1', secure_message_id: 'M' },
          { ref_hash: 'h2', secure_message_id: 'N' },
        ]);
      } finally {
        await s.dispose();
      }
    });

    test('a domain is flagged for direct delivery only when verified and flagged; settings come with it', async () => {
      const s = await engine.open();
      try {
        const flagged = await insertDomain(s.db, 'flagged.example');
        const pending = await insertDomain(s.db, 'pending.example', { status: 'pending' });
        await insertDomain(s.db, 'plain.example');
        await s.db.updateTable('domains').set({ direct_delivery: 1 }).where('id', 'in', [flagged, pending]).execute();
        const store = sqlSecureDeliveryStore(s.db);
        assert.equal(await store.isFlagged('flagged.example'), true);
        assert.equal(await store.isFlagged('pending.example'), false);
        assert.equal(await store.isFlagged('plain.example'), false);
        assert.equal(await store.isFlagged('unknown.example'), false);
        assert.equal(typeof (await store.settings(DEFAULT_ORGANISATION_ID))?.neutralSubject, 'boolean');
      } finally {
        await s.dispose();
      }
    });
  });
}
