import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlSecureMessageStore } from '../../src/store/secure-messages/index.js';
import type { Db } from '../../src/store/tables.js';
import { onFreshStore, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const ORG = DEFAULT_ORGANISATION_ID;

async function plantMessage(db: Db, id: string, o: { createdAt?: number; retainUntil?: number; org?: string; revokedAt?: number; shreddedAt?: number } = {}) {
  await db
    .insertInto('secure_messages')
    .values({
      id,
      organisation_id: o.org ?? ORG,
      sender: 'app@example.com',
      data_key_sealed: o.shreddedAt === undefined ? `key-${id}` : null,
      body_iv: 'iv',
      body_tag: 'tag',
      meta_sealed: 'meta',
      created_at: o.createdAt ?? 1000,
      retain_until: o.retainUntil ?? 10_000,
      revoked_at: o.revokedAt ?? null,
      shredded_at: o.shreddedAt ?? null,
      language: null,
    })
    .execute();
}

async function plantRecipient(db: Db, id: string, messageId: string, address: string, o: { lockedAt?: number; failures?: number } = {}) {
  await db
    .insertInto('secure_recipients')
    .values({
      id,
      message_id: messageId,
      address,
      token_hash: `hash-${id}`,
      token_sealed: `token-${id}`,
      status: 'notified',
      delivered_via: 'portal',
      fallback_reason: null,
      evidence: null,
      notified_at: 1500,
      opened_at: null,
      replied_at: null,
      bounced_at: null,
      revoked_at: null,
      otp_hash: 'otp',
      otp_expires_at: 9000,
      otp_attempts: 2,
      otp_sent_at: 1600,
      otp_failures: o.failures ?? 0,
      locked_at: o.lockedAt ?? null,
    })
    .execute();
}

const session = (db: Db, id: string, recipientId: string, expiresAt = 99_999) =>
  db.insertInto('portal_sessions').values({ id_hash: id, recipient_id: recipientId, created_at: 1, expires_at: expiresAt }).execute();

const sessionsOf = async (db: Db) => (await db.selectFrom('portal_sessions').select('id_hash').orderBy('id_hash').execute()).map((r) => r.id_hash);
const auditCount = async (db: Db) =>
  Number(
    (
      await db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const withStore = onFreshStore;

for (const engine of storeEngines()) {
  describe(`secure message store on ${engine.name}`, engine.options, () => {
    test('find by id, within the organisation when one is named', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M1', { createdAt: 1234, retainUntil: 5678 });
        const store = sqlSecureMessageStore(db);
        const found = await store.find('M1');
        assert.equal(found?.organisationId, ORG);
        assert.equal(found?.createdAt, 1234);
        assert.equal(found?.retainUntil, 5678);
        assert.equal(found?.dataKeySealed, 'key-M1');
        assert.equal(found?.revokedAt, null);
        assert.equal((await store.find('M1', ORG))?.id, 'M1');
        assert.equal(await store.find('M1', 'other-org'), undefined);
        assert.equal(await store.find('M2'), undefined);
      }));

    test('list: newest first, paged, with recipient counts and the total', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'A', { createdAt: 1 });
        await plantMessage(db, 'B', { createdAt: 3 });
        await plantMessage(db, 'C', { createdAt: 2 });
        await plantMessage(db, 'D', { createdAt: 3 });
        await plantMessage(db, 'X', { createdAt: 9, org: 'other-org' });
        await plantRecipient(db, 'r1', 'B', 'one@example.net');
        await plantRecipient(db, 'r2', 'B', 'two@example.net');
        await plantRecipient(db, 'r3', 'C', 'three@example.net');
        const store = sqlSecureMessageStore(db);
        const first = await store.list({ organisationId: ORG }, { limit: 3, offset: 0 });
        assert.equal(first.total, 4);
        assert.deepEqual(
          first.items.map((i) => [i.message.id, i.recipientCount]),
          [
            ['D', 0],
            ['B', 2],
            ['C', 1],
          ],
        );
        const second = await store.list({ organisationId: ORG }, { limit: 3, offset: 3 });
        assert.deepEqual(
          second.items.map((i) => i.message.id),
          ['A'],
        );
      }));

    test('list narrows to a part of a recipient address (wildcards literal) and to a state', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'A', { createdAt: 1 });
        await plantMessage(db, 'R', { createdAt: 2, revokedAt: 5 });
        await plantMessage(db, 'S', { createdAt: 3, revokedAt: 5, shreddedAt: 6 });
        await plantMessage(db, 'L', { createdAt: 4 });
        await plantRecipient(db, 'a1', 'A', 'Jan_de@Example.net');
        await plantRecipient(db, 'r1', 'R', 'janXde@example.net');
        await plantRecipient(db, 'l1', 'L', 'locked@example.net', { lockedAt: 7 });
        const store = sqlSecureMessageStore(db);
        const ids = async (query: Omit<Parameters<typeof store.list>[0], 'organisationId'>) =>
          (await store.list({ organisationId: ORG, ...query }, { limit: 10, offset: 0 })).items.map((i) => i.message.id);
        assert.deepEqual(await ids({ recipient: 'jan_de' }), ['A']);
        assert.deepEqual(await ids({ recipient: 'example.net' }), ['L', 'R', 'A']);
        assert.deepEqual(await ids({ recipient: '%' }), []);
        assert.deepEqual(await ids({ state: 'active' }), ['L', 'A']);
        assert.deepEqual(await ids({ state: 'revoked' }), ['R']);
        assert.deepEqual(await ids({ state: 'shredded' }), ['S']);
        assert.deepEqual(await ids({ state: 'locked' }), ['L']);
        assert.equal((await store.list({ organisationId: ORG, state: 'locked' }, { limit: 10, offset: 0 })).total, 1);
      }));

    test('recipients by address, as records', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M');
        await plantRecipient(db, 'r2', 'M', 'zed@example.net', { failures: 3, lockedAt: 44 });
        await plantRecipient(db, 'r1', 'M', 'amy@example.net');
        const recipients = await sqlSecureMessageStore(db).recipients('M');
        assert.deepEqual(
          recipients.map((r) => r.address),
          ['amy@example.net', 'zed@example.net'],
        );
        assert.equal(recipients[1]?.wrongCodes, 3);
        assert.equal(recipients[1]?.lockedAt, 44);
        assert.equal(recipients[0]?.notifiedAt, 1500);
      }));

    test('revoke ends the sessions of all recipients, audited in the same transaction; again changes nothing', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M');
        await plantMessage(db, 'N');
        await plantRecipient(db, 'r1', 'M', 'a@example.net');
        await plantRecipient(db, 'r2', 'M', 'b@example.net');
        await plantRecipient(db, 'n1', 'N', 'c@example.net');
        await session(db, 's1', 'r1');
        await session(db, 's2', 'r2');
        await session(db, 's3', 'n1');
        const store = sqlSecureMessageStore(db);
        await store.change(async (tx) => {
          await tx.revoke('M', 77);
          await tx.audit(actor, { action: 'secure.message.revoke', targetType: 'secure-message', targetId: 'M', detail: {} }, 77);
        });
        assert.equal((await store.find('M'))?.revokedAt, 77);
        assert.deepEqual(await sessionsOf(db), ['s3']);
        assert.equal(await auditCount(db), 1);
        await store.change((tx) => tx.revoke('M', 88));
        assert.equal((await store.find('M'))?.revokedAt, 77);
      }));

    test('a change that throws rolls back everything in it, its audit record included', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M');
        await plantRecipient(db, 'r1', 'M', 'a@example.net', { lockedAt: 5, failures: 5 });
        await session(db, 's1', 'r1');
        const store = sqlSecureMessageStore(db);
        await assert.rejects(
          store.change(async (tx) => {
            await tx.revokeRecipient('r1', 9);
            await tx.unlockRecipient('r1');
            await tx.recordEvent({ messageId: 'M', at: 9, kind: 'portal-unlocked', recipient: 'a@example.net', detail: 'x' });
            await tx.audit(actor, { action: 'secure.recipient.revoke', targetType: 'secure-message', targetId: 'M' }, 9);
            throw new Error('boom');
          }),
          /boom/,
        );
        const [r] = await store.recipients('M');
        assert.equal(r?.revokedAt, null);
        assert.equal(r?.lockedAt, 5);
        assert.deepEqual(await sessionsOf(db), ['s1']);
        assert.equal(await auditCount(db), 0);
        assert.equal((await db.selectFrom('events').selectAll().execute()).length, 0);
      }));

    test("revokeRecipient ends only that recipient's sessions; unlockRecipient resets the codes and writes the event", () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M');
        await plantRecipient(db, 'r1', 'M', 'a@example.net', { lockedAt: 5, failures: 5 });
        await plantRecipient(db, 'r2', 'M', 'b@example.net');
        await session(db, 's1', 'r1');
        await session(db, 's2', 'r2');
        const store = sqlSecureMessageStore(db);
        await store.change((tx) => tx.revokeRecipient('r2', 9));
        assert.deepEqual(await sessionsOf(db), ['s1']);
        await store.change(async (tx) => {
          await tx.unlockRecipient('r1');
          await tx.recordEvent({ messageId: 'M', at: 9, kind: 'portal-unlocked', recipient: 'a@example.net', detail: 'unlocked by contract' });
        });
        const row = await db.selectFrom('secure_recipients').selectAll().where('id', '=', 'r1').executeTakeFirstOrThrow();
        assert.deepEqual(
          [row.locked_at, Number(row.otp_failures), Number(row.otp_attempts), row.otp_hash, row.otp_expires_at, row.otp_sent_at],
          [null, 0, 0, null, null, null],
        );
        const events = await db.selectFrom('events').select(['message_id', 'kind', 'recipient', 'detail']).execute();
        assert.deepEqual(events, [{ message_id: 'M', kind: 'portal-unlocked', recipient: 'a@example.net', detail: 'unlocked by contract' }]);
      }));

    test('shredKeys drops the data key, the tokens and code hashes, and the sessions', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'M');
        await plantMessage(db, 'N');
        await plantRecipient(db, 'r1', 'M', 'a@example.net');
        await plantRecipient(db, 'n1', 'N', 'b@example.net');
        await session(db, 's1', 'r1');
        await session(db, 's2', 'n1');
        const store = sqlSecureMessageStore(db);
        await store.shredKeys('M', 50);
        const m = await store.find('M');
        assert.equal(m?.dataKeySealed, null);
        assert.equal(m?.shreddedAt, 50);
        assert.equal((await store.find('N'))?.dataKeySealed, 'key-N');
        const rows = await db.selectFrom('secure_recipients').select(['id', 'token_sealed', 'otp_hash']).orderBy('id').execute();
        assert.deepEqual(rows, [
          { id: 'n1', token_sealed: 'token-n1', otp_hash: 'otp' },
          { id: 'r1', token_sealed: null, otp_hash: null },
        ]);
        assert.deepEqual(await sessionsOf(db), ['s2']);
      }));

    test('due for shredding: unshredded and past retention, the oldest first, bounded', () =>
      withStore(engine, async ({ db }) => {
        await plantMessage(db, 'late', { retainUntil: 300 });
        await plantMessage(db, 'early', { retainUntil: 100 });
        await plantMessage(db, 'gone', { retainUntil: 50, shreddedAt: 60 });
        await plantMessage(db, 'future', { retainUntil: 900 });
        const store = sqlSecureMessageStore(db);
        assert.deepEqual(await store.dueForShredding(300, 10), [
          { id: 'early', retainUntil: 100 },
          { id: 'late', retainUntil: 300 },
        ]);
        assert.deepEqual(await store.dueForShredding(300, 1), [{ id: 'early', retainUntil: 100 }]);
      }));

    test('refs name their message; portal replies and refs are removed per message; expired sessions end', () =>
      withStore(engine, async ({ db }) => {
        await db
          .insertInto('secure_message_refs')
          .values([
            { ref_hash: 'h1', secure_message_id: 'M' },
            { ref_hash: 'h2', secure_message_id: 'N' },
          ])
          .execute();
        await db.insertInto('secure_portal_replies').values({ id: 'p1', message_id: 'M', recipient_id: 'r1', created_at: 1, content_sealed: 'x' }).execute();
        const store = sqlSecureMessageStore(db);
        assert.equal(await store.messageByRef(['nope', 'h1']), 'M');
        assert.equal(await store.messageByRef(['nope']), null);
        assert.equal(await store.messageByRef([]), null);
        await store.removeRefs('M');
        await store.removePortalReplies('M');
        assert.equal(await store.messageByRef(['h1']), null);
        assert.equal(await store.messageByRef(['h2']), 'N');
        assert.equal((await db.selectFrom('secure_portal_replies').selectAll().execute()).length, 0);
        await session(db, 'old', 'r1', 10);
        await session(db, 'edge', 'r1', 20);
        await session(db, 'new', 'r1', 30);
        assert.equal(await store.endExpiredSessions(20), 2);
        assert.deepEqual(await sessionsOf(db), ['new']);
      }));
  });
}
