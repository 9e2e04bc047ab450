import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlEventStore } from '../../src/store/events/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const withStore = (open: StoreEngine['open'], work: (s: ContractStore) => Promise<void>) => onFreshStore({ open }, work);

async function insertEvent(s: ContractStore, id: string, nextAttemptAt: number, status: 'pending' | 'failed' = 'pending'): Promise<void> {
  await s.db
    .insertInto('event_deliveries')
    .values({
      id,
      sender_domain: 'app.example',
      payload: `{"id":"${id}"}`,
      status,
      attempts: 0,
      next_attempt_at: nextAttemptAt,
      expires_at: 90_000,
      last_reply: null,
      created_at: 1,
    })
    .execute();
}

const row = (s: ContractStore, id: string) => s.db.selectFrom('event_deliveries').selectAll().where('id', '=', id).executeTakeFirst();

for (const engine of storeEngines()) {
  describe(`event store on ${engine.name}`, engine.options, () => {
    test('due: pending events whose time has come, soonest first, at most the limit', () =>
      withStore(engine.open, async (s) => {
        const events = sqlEventStore(s.db);
        await insertEvent(s, 'evt_late', 3000);
        await insertEvent(s, 'evt_early', 1000);
        await insertEvent(s, 'evt_middle', 2000);
        await insertEvent(s, 'evt_future', 9000);
        await insertEvent(s, 'evt_failed', 500, 'failed');
        assert.deepEqual(
          (await events.due(5000, 10)).map((e) => e.id),
          ['evt_early', 'evt_middle', 'evt_late'],
        );
        const [first] = await events.due(5000, 1);
        assert.deepEqual(first, {
          id: 'evt_early',
          senderDomain: 'app.example',
          payload: '{"id":"evt_early"}',
          attempts: 0,
          nextAttemptAt: 1000,
          expiresAt: 90_000,
        });
      }));

    test('claim: only the first of two dispatchers that read the event owns the attempt', () =>
      withStore(engine.open, async (s) => {
        const events = sqlEventStore(s.db);
        await insertEvent(s, 'evt_1', 1000);
        const [seen] = await events.due(5000, 10);
        assert.ok(seen);
        assert.equal(await events.claim(seen, 7000), true);
        assert.equal(await events.claim(seen, 8000), false, 'the second saw the time it had before the first moved it');
        assert.equal(Number((await row(s, 'evt_1'))?.next_attempt_at), 7000);
        assert.deepEqual(await events.due(5000, 10), []);
      }));

    test('remove, postpone and a failed attempt change only their event', () =>
      withStore(engine.open, async (s) => {
        const events = sqlEventStore(s.db);
        for (const id of ['evt_sent', 'evt_disabled', 'evt_failing', 'evt_expired']) await insertEvent(s, id, 1000);
        await events.remove('evt_sent');
        await events.postpone('evt_disabled', 60_000, 'webhook disabled');
        await events.recordFailure('evt_failing', { attempts: 1, lastReply: 'webhook answered 500', status: 'pending', nextAttemptAt: 4000 });
        await events.recordFailure('evt_expired', { attempts: 3, lastReply: 'webhook timeout', status: 'failed', nextAttemptAt: 2000 });
        assert.equal(await row(s, 'evt_sent'), undefined);
        const disabled = await row(s, 'evt_disabled');
        assert.deepEqual(
          [Number(disabled?.next_attempt_at), disabled?.last_reply, disabled?.attempts, disabled?.status],
          [60_000, 'webhook disabled', 0, 'pending'],
        );
        const failing = await row(s, 'evt_failing');
        assert.deepEqual(
          [failing?.attempts, failing?.last_reply, failing?.status, Number(failing?.next_attempt_at)],
          [1, 'webhook answered 500', 'pending', 4000],
        );
        const expired = await row(s, 'evt_expired');
        assert.deepEqual([expired?.attempts, expired?.status], [3, 'failed']);
        assert.deepEqual(
          (await events.due(5000, 10)).map((e) => e.id),
          ['evt_failing'],
        );
      }));

    test('domainIdOf: the id of a domain by its name, undefined for an unknown one', () =>
      withStore(engine.open, async (s) => {
        const events = sqlEventStore(s.db);
        await s.db
          .insertInto('domains')
          .values({
            id: 'dom_1',
            organisation_id: 'org_default',
            name: 'app.example',
            status: 'verified',
            verification_token: 'token',
            created_at: 1,
            verified_at: 1,
            verified_by: 'cli:test',
            last_check_at: null,
            last_check_result: null,
            connector_state: 'connected',
            connector_changed_at: null,
            direct_delivery: 0,
            direct_delivery_changed_at: null,
          })
          .execute();
        assert.equal(await events.domainIdOf('app.example'), 'dom_1');
        assert.equal(await events.domainIdOf('other.example'), undefined);
      }));
  });
}
