import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { prepared } from '../../src/store/prepared.js';
import { onFreshStore, storeEngines } from '../support/store-engines.js';

const addEvent = prepared<{ message_id: string; at: number; kind: string; recipient: string | null; detail: string | null; evidence: string | null }>(
  ['message_id', 'at', 'kind', 'recipient', 'detail', 'evidence'],
  (db, row) => db.insertInto('events').values(row),
);

/** `id` twice in the SQL; `'x'` a constant of the builder's own. */
const renameKind = prepared<{ kind: string; at: number }>(['kind', 'at'], (db, v) =>
  db.updateTable('events').set({ kind: v.kind }).where('at', '=', v.at).where('detail', '<>', 'x').where('at', '>=', v.at),
);

for (const engine of storeEngines()) {
  describe(`prepared statements on ${engine.name}`, engine.options, () => {
    test('built once, each run binds its own values, constants and repeated values included', () =>
      onFreshStore(engine, async (s) => {
        for (const at of [1, 2, 3]) await addEvent(s.db, { message_id: 'm', at, kind: 'received', recipient: null, detail: `d${at}`, evidence: null });
        const changed = await renameKind(s.db, { kind: 'renamed', at: 2 });
        assert.equal(Number(changed.numAffectedRows), 1);
        const rows = await s.db.selectFrom('events').select(['at', 'kind', 'detail']).orderBy('at').execute();
        assert.deepEqual(
          rows.map((r) => [Number(r.at), r.kind, r.detail]),
          [
            [1, 'received', 'd1'],
            [2, 'renamed', 'd2'],
            [3, 'received', 'd3'],
          ],
        );
      }));

    test('inside a transaction it runs on the transaction: a rollback takes it back', () =>
      onFreshStore(engine, async (s) => {
        await assert.rejects(
          s.db.transaction().execute(async (trx) => {
            await addEvent(trx, { message_id: 'm', at: 1, kind: 'received', recipient: null, detail: null, evidence: null });
            throw new Error('undo');
          }),
          /undo/,
        );
        const { rows } = await sql<{ n: number }>`select count(*) as n from events`.execute(s.db);
        assert.equal(Number(rows[0]?.n), 0);
      }));

    test('a missing, undefined or unnamed value is refused before any SQL runs', () =>
      onFreshStore(engine, async (s) => {
        const row = { message_id: 'm', at: 1, kind: 'received', recipient: null, detail: null, evidence: null };
        await assert.rejects(addEvent(s.db, { ...row, detail: undefined as unknown as null }), /no value for detail/);
        await assert.rejects(addEvent(s.db, { ...row, extra: 1 } as typeof row), /values must be exactly/);
        const folded = prepared<{ kind: string; at: number }>(['kind', 'at'], (db, v) => db.updateTable('events').set({ kind: v.kind }).where('at', '=', 1));
        await assert.rejects(folded(s.db, { kind: 'k', at: 1 }), /at not bound as parameters/);
      }));
  });
}
