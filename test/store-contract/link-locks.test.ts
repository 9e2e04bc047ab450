import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlLinkLockStore } from '../../src/store/link-locks/index.js';
import { plantPortalMessage, plantPortalRecipient } from '../support/portal-rows.js';
import type { ContractStore } from '../support/store-engines.js';
import { storeEngines } from '../support/store-engines.js';

const ACTOR = { name: 'system:portal', ip: '192.0.2.1' };

async function lockOf(s: ContractStore, id: string) {
  return (await s.db.selectFrom('secure_recipients').select('locked_at').where('id', '=', id).executeTakeFirstOrThrow()).locked_at;
}

async function counts(s: ContractStore) {
  const sessions = await s.db.selectFrom('portal_sessions').select('id_hash').execute();
  const events = await s.db.selectFrom('events').select(['kind', 'recipient', 'detail']).execute();
  const webhooks = await s.db.selectFrom('event_deliveries').selectAll().execute();
  const audit = await s.db.selectFrom('audit_log').select(['action', 'actor', 'actor_ip']).execute();
  return { sessions: sessions.length, events, webhooks, audit };
}

for (const engine of storeEngines()) {
  describe(`link lock store on ${engine.name}`, engine.options, () => {
    test("an address's wrong codes count over its live links, whatever the case", async () => {
      const s = await engine.open();
      try {
        const locks = sqlLinkLockStore(s.db);
        await plantPortalMessage(s.db, 'live', { retainUntil: 10_000 });
        await plantPortalMessage(s.db, 'other', { retainUntil: 10_000 });
        await plantPortalMessage(s.db, 'past', { retainUntil: 5_000 });
        await plantPortalMessage(s.db, 'shredded', { retainUntil: 10_000, shreddedAt: 4_000 });
        await plantPortalRecipient(s.db, 'live', 'r1', { address: 'Pat@Example.net', otpFailures: 3 });
        await plantPortalRecipient(s.db, 'other', 'r2', { address: 'pat@example.net', otpFailures: 4 });
        await plantPortalRecipient(s.db, 'past', 'r3', { address: 'pat@example.net', otpFailures: 10 });
        await plantPortalRecipient(s.db, 'shredded', 'r4', { address: 'pat@example.net', otpFailures: 20 });
        await plantPortalRecipient(s.db, 'live', 'r5', { address: 'sam@example.net', otpFailures: 30 });
        assert.equal(await locks.wrongCodesOfAddress('PAT@example.net', 6_000), 7);
        assert.equal(await locks.wrongCodesOfAddress('pat@example.net', 4_999), 17, 'retention not yet over');
        assert.equal(await locks.wrongCodesOfAddress('nobody@example.net', 6_000), 0);
      } finally {
        await s.dispose();
      }
    });

    test('a lock ends the sessions and records event, webhook and audit together; only the first locks', async () => {
      const s = await engine.open();
      try {
        const locks = sqlLinkLockStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1');
        await s.db.insertInto('portal_sessions').values({ id_hash: 'h1', recipient_id: 'r1', created_at: 1, expires_at: 9_999 }).execute();
        await s.db.insertInto('portal_sessions').values({ id_hash: 'h2', recipient_id: 'r2', created_at: 1, expires_at: 9_999 }).execute();
        const locked = await locks.change(async (tx) => {
          if (!(await tx.lockRecipient('r1', 2_000))) return false;
          await tx.endSessions('r1');
          await tx.logEvent({ messageId: 'm1', at: 2_000, kind: 'portal-locked', recipient: 'r1@example.net', detail: 'why' });
          await tx.queueWebhookEvent({ id: 'evt_1', senderDomain: 'example.com', payload: '{"type":"secure.link.locked"}', at: 2_000, expiresAt: 9_000 });
          await tx.audit(ACTOR, { action: 'secure.recipient.lock', targetType: 'secure-message', targetId: 'm1' }, 2_000);
          return true;
        });
        assert.equal(locked, true);
        assert.equal(await lockOf(s, 'r1'), 2_000);
        const after = await counts(s);
        assert.equal(after.sessions, 1, "only r1's session ended");
        assert.deepEqual(after.events, [{ kind: 'portal-locked', recipient: 'r1@example.net', detail: 'why' }]);
        assert.deepEqual(after.webhooks, [
          {
            id: 'evt_1',
            sender_domain: 'example.com',
            payload: '{"type":"secure.link.locked"}',
            status: 'pending',
            attempts: 0,
            next_attempt_at: 2_000,
            expires_at: 9_000,
            last_reply: null,
            created_at: 2_000,
          },
        ]);
        assert.deepEqual(after.audit, [{ action: 'secure.recipient.lock', actor: 'system:portal', actor_ip: '192.0.2.1' }]);
        assert.equal(await locks.change((tx) => tx.lockRecipient('r1', 3_000)), false, 'already locked');
        assert.equal(await lockOf(s, 'r1'), 2_000);
      } finally {
        await s.dispose();
      }
    });

    test('a lock that throws leaves no lock, no event, no webhook and no audit record', async () => {
      const s = await engine.open();
      try {
        const locks = sqlLinkLockStore(s.db);
        await plantPortalMessage(s.db, 'm1');
        await plantPortalRecipient(s.db, 'm1', 'r1');
        await s.db.insertInto('portal_sessions').values({ id_hash: 'h1', recipient_id: 'r1', created_at: 1, expires_at: 9_999 }).execute();
        const before = await counts(s);
        await assert.rejects(
          locks.change(async (tx) => {
            await tx.lockRecipient('r1', 2_000);
            await tx.endSessions('r1');
            await tx.logEvent({ messageId: 'm1', at: 2_000, kind: 'portal-locked', recipient: 'r1@example.net', detail: 'why' });
            await tx.queueWebhookEvent({ id: 'evt_1', senderDomain: 'example.com', payload: '{}', at: 2_000, expiresAt: 9_000 });
            await tx.audit(ACTOR, { action: 'secure.recipient.lock', targetType: 'secure-message', targetId: 'm1' }, 2_000);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await lockOf(s, 'r1'), null);
        assert.deepEqual(await counts(s), before);
        // A later lock commits (and its audit record takes the number of the one rolled back).
        await locks.change(async (tx) => {
          await tx.lockRecipient('r1', 3_000);
          await tx.audit(ACTOR, { action: 'secure.recipient.lock', targetType: 'secure-message', targetId: 'm1' }, 3_000);
        });
        assert.equal(await lockOf(s, 'r1'), 3_000);
        assert.equal((await counts(s)).audit.length, 1);
      } finally {
        await s.dispose();
      }
    });
  });
}
