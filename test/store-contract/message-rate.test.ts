import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlMessageRate } from '../../src/store/message-rate/index.js';
import { storeEngines } from '../support/store-engines.js';

const HOUR_MS = 3_600_000;

// The hourly count per credential behaves alike on both engines: in memory on SQLite, in rate_counters on PostgreSQL.
for (const engine of storeEngines()) {
  describe(`message rate on ${engine.name}`, engine.options, () => {
    test('admits up to the limit in an hour, per key, and again once the hour has passed', async () => {
      const s = await engine.open();
      try {
        let now = 10 * HOUR_MS;
        const rate = sqlMessageRate(s.db, { now: () => now });
        const admitted = async (key: string, times: number) => {
          const answers: boolean[] = [];
          for (let i = 0; i < times; i++) answers.push(await rate.tryAdmit(key, 3));
          return answers;
        };
        assert.deepEqual(await admitted('cred_a', 4), [true, true, true, false]);
        assert.deepEqual(await admitted('cred_b', 1), [true], 'each key has its own count');
        now += 30 * 60_000;
        assert.deepEqual(await admitted('cred_a', 1), [false], 'within the hour');
        now += 31 * 60_000;
        assert.deepEqual(await admitted('cred_a', 4), [true, true, true, false], 'the hour has passed');
      } finally {
        await s.dispose();
      }
    });
  });
}
