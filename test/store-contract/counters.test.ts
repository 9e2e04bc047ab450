import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../src/lib/clock.js';
import { sharedCounters } from '../../src/store/shared-counters.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const MINUTE = 60_000;

/** A clock the test moves by hand. */
function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

const withStore = (open: StoreEngine['open'], work: (s: ContractStore) => Promise<void>) => onFreshStore({ open }, work);

for (const engine of storeEngines()) {
  describe(`shared counters on ${engine.name}`, engine.options, () => {
    test('shared only on PostgreSQL, where several instances count together', () =>
      withStore(engine.open, async (s) => {
        assert.equal(sharedCounters(s.db).shared, engine.name === 'PostgreSQL');
      }));

    test('a window counts per key and scope, and forgets a bucket once it leaves', () =>
      withStore(engine.open, async (s) => {
        const clock = manualClock(10 * MINUTE);
        const counters = sharedCounters(s.db);
        const window = counters.window({ scope: 'contract-a', bucketMs: MINUTE, buckets: 3 }, clock);
        const other = counters.window({ scope: 'contract-b', bucketMs: MINUTE, buckets: 3 }, clock);
        await window.add('k');
        await window.add('k', 2);
        await window.add('j');
        await other.add('k', 5);
        assert.deepEqual([await window.count('k'), await window.count('j'), await other.count('k'), await window.count('none')], [3, 1, 5, 0]);
        clock.advance(MINUTE);
        await window.add('k');
        assert.equal(await window.count('k'), 4);
        clock.advance(2 * MINUTE);
        assert.equal(await window.count('k'), 1, 'the first bucket left the window');
        clock.advance(MINUTE);
        assert.equal(await window.count('k'), 0);
      }));

    test('two windows on one store count together (two instances)', () =>
      withStore(engine.open, async (s) => {
        const clock = manualClock(10 * MINUTE);
        const shape = { scope: 'contract-shared', bucketMs: MINUTE, buckets: 10 };
        const atOne = sharedCounters(s.db).window(shape, clock);
        const atTwo = sharedCounters(s.db).window(shape, clock);
        await atOne.add('user');
        await atTwo.add('user');
        assert.equal(await atOne.count('user'), 2);
      }));

    test('a key longer than an index entry is still counted apart from one that shares its start', () =>
      withStore(engine.open, async (s) => {
        const clock = manualClock(10 * MINUTE);
        const window = sharedCounters(s.db).window({ scope: 'contract-long', bucketMs: MINUTE, buckets: 3 }, clock);
        const long = 'x'.repeat(500);
        await window.add(long);
        await window.add(`${long}y`, 2);
        assert.deepEqual([await window.count(long), await window.count(`${long}y`)], [1, 2]);
      }));
  });
}
