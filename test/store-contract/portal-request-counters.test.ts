import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlRequestCounters } from '../../src/store/portal/request-counters.js';
import { storeEngines } from '../support/store-engines.js';

for (const engine of storeEngines()) {
  describe(`portal request counters on ${engine.name}`, engine.options, () => {
    test('a window admits up to its limit per key and scope, then says how long until it admits again', async () => {
      const s = await engine.open();
      try {
        let now = 1_000_000;
        const counters = sqlRequestCounters(s.db, { now: () => now });
        const window = counters({ scope: 'contract-a', bucketMs: 1_000, buckets: 3 });
        const other = counters({ scope: 'contract-b', bucketMs: 1_000, buckets: 3 });
        assert.equal(await window.addWithin('192.0.2.1', 2), true);
        now += 1_000;
        assert.equal(await window.addWithin('192.0.2.1', 2), true);
        assert.equal(await window.addWithin('192.0.2.1', 2), false);
        assert.equal(await window.addWithin('192.0.2.2', 2), true, 'another key');
        assert.equal(await other.addWithin('192.0.2.1', 2), true, 'another scope');
        // The first count, in the bucket of 1_000_000, leaves the 3-second window at 1_003_000.
        assert.equal(await window.msUntilBelow('192.0.2.1', 2), 2_000);
        assert.equal(await window.msUntilBelow('192.0.2.2', 2), 0);
        now = 1_003_000;
        assert.equal(await window.addWithin('192.0.2.1', 2), true);
        assert.equal(await window.addWithin('192.0.2.1', 2), false);
      } finally {
        await s.dispose();
      }
    });

    test('counters in parallel never admit more than the limit', async () => {
      const s = await engine.open();
      try {
        const window = sqlRequestCounters(s.db, { now: () => 5_000_000 })({ scope: 'contract-race', bucketMs: 60_000, buckets: 10 });
        const admitted = await Promise.all(Array.from({ length: 12 }, () => window.addWithin('192.0.2.9', 5)));
        assert.equal(admitted.filter(Boolean).length, 5);
      } finally {
        await s.dispose();
      }
    });
  });
}
