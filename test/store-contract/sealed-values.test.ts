import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEALED_COLUMNS } from '../../src/secure/sealed-columns.js';
import { sqlSealedBodyStore } from '../../src/store/sealed-bodies/index.js';
import { sqlSealedValueStore } from '../../src/store/sealed-values/index.js';
import type { Db } from '../../src/store/tables.js';
import { storeEngines } from '../support/store-engines.js';

const COLUMN = 'sealed_bodies.data_key_sealed';
const actor = { name: 'contract', ip: null };

/** sealed_bodies: the one table of sealed values keyed by another column than id. */
async function plant(db: Db, values: [string, string][]) {
  const bodies = sqlSealedBodyStore(db);
  for (const [messageId, sealed] of values)
    await bodies.insert({ messageId, secureMessageId: null, dataKeySealed: sealed, bodyIv: 'iv', bodyTag: 'tag', createdAt: 1 });
}

async function all(store: ReturnType<typeof sqlSealedValueStore>, column: string, batchSize: number) {
  const batches: string[][] = [];
  for await (const batch of store.batches(column, batchSize)) batches.push(batch.map((v) => `${v.id}=${v.sealed}`));
  return batches;
}

for (const engine of storeEngines()) {
  describe(`sealed value store on ${engine.name}`, engine.options, () => {
    test('batches: every value in id order, a bounded batch at a time; every listed column is readable', async () => {
      const s = await engine.open();
      try {
        await plant(s.db, [
          ['c', 'v2.AAAAAAAAAAA.x'],
          ['a', 'v1.y'],
          ['b', 'v2.BBBBBBBBBBB.z'],
        ]);
        const store = sqlSealedValueStore(s.db);
        assert.deepEqual(await all(store, COLUMN, 2), [['a=v1.y', 'b=v2.BBBBBBBBBBB.z'], ['c=v2.AAAAAAAAAAA.x']]);
        for (const column of SEALED_COLUMNS) await all(store, column.column, 10);
        await assert.rejects(all(store, 'messages.subject', 10), /not a sealed column/);
      } finally {
        await s.dispose();
      }
    });

    test('counts per key id from the v2 prefix; null for v1 values', async () => {
      const s = await engine.open();
      try {
        await plant(s.db, [
          ['a', 'v2.AAAAAAAAAAA.x'],
          ['b', 'v2.AAAAAAAAAAA.y'],
          ['c', 'v2.BBBBBBBBBBB.z'],
          ['d', 'v1.w'],
        ]);
        const counts = await sqlSealedValueStore(s.db).countsByKeyId(SEALED_COLUMNS.map((c) => c.column));
        const sorted = counts.map((c) => [c.column, c.keyId, c.values]).sort((x, y) => String(x[1]).localeCompare(String(y[1])));
        assert.deepEqual(sorted, [
          [COLUMN, 'AAAAAAAAAAA', 2],
          [COLUMN, 'BBBBBBBBBBB', 1],
          [COLUMN, null, 1],
        ]);
      } finally {
        await s.dispose();
      }
    });

    test('replace: only values still as read are replaced; the others are counted as changed meanwhile', async () => {
      const s = await engine.open();
      try {
        await plant(s.db, [
          ['a', 'old-a'],
          ['b', 'changed-b'],
        ]);
        const store = sqlSealedValueStore(s.db);
        const result = await store.replace(COLUMN, [
          { id: 'a', sealed: 'old-a', replacement: 'new-a' },
          { id: 'b', sealed: 'old-b', replacement: 'new-b' },
        ]);
        assert.deepEqual(result, { replaced: 1, changedMeanwhile: 1 });
        assert.deepEqual(await all(store, COLUMN, 10), [['a=new-a', 'b=changed-b']]);
      } finally {
        await s.dispose();
      }
    });

    test('the recorded key-encryption key: none, then recorded, then moved on; audit appends', async () => {
      const s = await engine.open();
      try {
        const store = sqlSealedValueStore(s.db);
        assert.equal(await store.recordedKeyEncryptionKey(), undefined);
        await store.recordKeyEncryptionKey('KEY1', 1);
        assert.equal(await store.recordedKeyEncryptionKey(), 'KEY1');
        await store.recordKeyEncryptionKey('KEY2', 2);
        assert.equal(await store.recordedKeyEncryptionKey(), 'KEY2');
        await store.audit(actor, { action: 'key.rewrap', targetType: 'key-encryption-key', targetId: 'KEY2', detail: {} }, 3);
        const rows = await s.db.selectFrom('audit_log').select(['action', 'target_id']).execute();
        assert.deepEqual(rows, [{ action: 'key.rewrap', target_id: 'KEY2' }]);
      } finally {
        await s.dispose();
      }
    });
  });
}
