import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlSealedBodyStore } from '../../src/store/sealed-bodies/index.js';
import type { Db } from '../../src/store/tables.js';
import { storeEngines } from '../support/store-engines.js';

const key = (messageId: string, secureMessageId: string | null) => ({
  messageId,
  secureMessageId,
  dataKeySealed: `sealed-${messageId}`,
  bodyIv: 'iv',
  bodyTag: 'tag',
  createdAt: 42,
});

async function plantQueueMessage(db: Db, id: string, purgedAt: number | null = null) {
  await db
    .insertInto('messages')
    .values({
      id,
      mail_from: 'a@example.com',
      size_bytes: 10,
      received_at: 1,
      expires_at: 99,
      credential_id: null,
      client_ip: '192.0.2.1',
      env_id: null,
      dsn_ret: null,
      is_dsn: 0,
      completed_at: null,
      direction: 'inbound',
      body_purged_at: purgedAt,
      tls_required: null,
      subject: null,
    })
    .execute();
}

for (const engine of storeEngines()) {
  describe(`sealed body store on ${engine.name}`, engine.options, () => {
    test('insert then find, has and answers; remove forgets the key', async () => {
      const s = await engine.open();
      try {
        const bodies = sqlSealedBodyStore(s.db);
        await bodies.insert(key('Q1', 'S1'));
        await bodies.insert(key('Q2', null));
        assert.deepEqual(await bodies.find('Q1'), key('Q1', 'S1'));
        assert.equal(await bodies.find('Q3'), undefined);
        assert.equal(await bodies.has('Q2'), true);
        assert.equal(await bodies.has('Q3'), false);
        assert.equal(await bodies.answers('Q1'), 'S1');
        assert.equal(await bodies.answers('Q2'), null);
        assert.equal(await bodies.answers('Q3'), undefined);
        await bodies.remove([]);
        await bodies.remove(['Q1', 'Q3']);
        assert.equal(await bodies.has('Q1'), false);
        assert.equal(await bodies.has('Q2'), true);
      } finally {
        await s.dispose();
      }
    });

    test('one key per body: a second insert for the same id is refused', async () => {
      const s = await engine.open();
      try {
        const bodies = sqlSealedBodyStore(s.db);
        await bodies.insert(key('Q1', 'S1'));
        await assert.rejects(bodies.insert(key('Q1', 'S2')));
        assert.equal(await bodies.answers('Q1'), 'S1');
      } finally {
        await s.dispose();
      }
    });

    test('the answers of a secure message: listed, their keys removed, their bodies marked purged once', async () => {
      const s = await engine.open();
      try {
        const bodies = sqlSealedBodyStore(s.db);
        await bodies.insert(key('A1', 'S1'));
        await bodies.insert(key('A2', 'S1'));
        await bodies.insert(key('B1', 'S2'));
        assert.deepEqual((await bodies.answersOf('S1')).sort(), ['A1', 'A2']);
        await bodies.removeAnswersOf('S1');
        assert.deepEqual(await bodies.answersOf('S1'), []);
        assert.deepEqual(await bodies.answersOf('S2'), ['B1']);
        await plantQueueMessage(s.db, 'A1');
        await plantQueueMessage(s.db, 'A2', 5);
        await plantQueueMessage(s.db, 'C1');
        await bodies.markPurged([], 9);
        await bodies.markPurged(['A1', 'A2'], 9);
        const rows = await s.db.selectFrom('messages').select(['id', 'body_purged_at']).orderBy('id').execute();
        assert.deepEqual(
          rows.map((r) => [r.id, r.body_purged_at === null ? null : Number(r.body_purged_at)]),
          [
            ['A1', 9],
            ['A2', 5],
            ['C1', null],
          ],
        );
      } finally {
        await s.dispose();
      }
    });
  });
}
