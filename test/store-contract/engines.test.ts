import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storeEngines } from '../support/store-engines.js';

// The harness itself: each engine opens a migrated store of its own, apart from the others.
for (const engine of storeEngines()) {
  describe(`store contract harness on ${engine.name}`, engine.options, () => {
    test('two stores opened one after the other share nothing', async () => {
      const first = await engine.open();
      const second = await engine.open();
      try {
        assert.equal(first.engine, engine.name === 'SQLite' ? 'sqlite' : 'postgres');
        await first.db.insertInto('rate_counters').values({ scope: 'contract', key: 'probe', bucket: 0, count: 1 }).execute();
        const seen = await second.db.selectFrom('rate_counters').select('key').where('scope', '=', 'contract').execute();
        assert.deepEqual(seen, []);
      } finally {
        await first.dispose();
        await second.dispose();
      }
    });
  });
}
