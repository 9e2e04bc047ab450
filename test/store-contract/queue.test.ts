import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NewMessage, QueueStore } from '../../src/queue/queue-store.js';
import { sqlQueueStore } from '../../src/store/sql-queue-store.js';
import { type ContractStore, storeEngines } from '../support/store-engines.js';

const T0 = 1_800_000_000_000;
const LEASE_MS = 60_000;

function message(id: string, recipients: string[], receivedAt = T0): NewMessage {
  return {
    id,
    envelope: { mailFrom: 'app@example.com', recipients: recipients.map((address) => ({ address, notify: ['FAILURE'] })) },
    sizeBytes: 1234,
    receivedAt,
    expiresAt: receivedAt + 5 * 86_400_000,
    credentialId: null,
    clientIp: '127.0.0.1',
    isDsn: false,
    subject: 'Hello',
  };
}

async function withQueue(open: () => Promise<ContractStore>, work: (queue: QueueStore) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await work(sqlQueueStore(store.db, store.syncCommitted));
  } finally {
    await store.dispose();
  }
}

for (const engine of storeEngines()) {
  describe(`queue store on ${engine.name}`, engine.options, () => {
    test('a committed message is claimed once, with its recipients in order, until its lease runs out', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([message('msg_a', ['b@example.net', 'a@example.net'])]);
        const [due, ...more] = await queue.claimDue('w1', T0, 10, LEASE_MS);
        assert.equal(more.length, 0);
        assert.equal(due?.id, 'msg_a');
        assert.equal(due?.sizeBytes, 1234);
        assert.deepEqual(
          due?.recipients.map((r) => [r.address, r.attempts, r.notify]),
          [
            ['b@example.net', 0, ['FAILURE']],
            ['a@example.net', 0, ['FAILURE']],
          ],
        );
        assert.deepEqual(await queue.claimDue('w2', T0 + 1, 10, LEASE_MS), [], 'leased recipients are not claimed twice');
        const again = await queue.claimDue('w2', T0 + LEASE_MS + 1, 10, LEASE_MS);
        assert.deepEqual(
          again.map((m) => m.id),
          ['msg_a'],
          'a lease that ran out is claimable again',
        );
      });
    });

    test('a message not yet due is not claimed, and nextDueAt names when it is', async () => {
      await withQueue(engine.open, async (queue) => {
        assert.equal(await queue.nextDueAt(), undefined);
        await queue.commit([message('msg_later', ['a@example.net'], T0 + 10_000)]);
        assert.deepEqual(await queue.claimDue('w1', T0, 10, LEASE_MS), []);
        assert.equal(await queue.nextDueAt(), T0 + 10_000);
        const [due] = await queue.claimDue('w1', T0 + 10_000, 10, LEASE_MS);
        assert.equal(await queue.nextDueAt(), T0 + 10_000 + LEASE_MS, 'a leased recipient is due when its lease runs out');
        assert.ok(due);
      });
    });

    test('claims take at most maxMessages messages, the earliest first', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([
          message('msg_2', ['a@example.net'], T0 + 2),
          message('msg_1', ['a@example.net'], T0 + 1),
          message('msg_3', ['a@example.net'], T0 + 3),
        ]);
        const first = await queue.claimDue('w1', T0 + 10, 2, LEASE_MS);
        assert.deepEqual(first.map((m) => m.id).sort(), ['msg_1', 'msg_2']);
        const rest = await queue.claimDue('w1', T0 + 10, 2, LEASE_MS);
        assert.deepEqual(
          rest.map((m) => m.id),
          ['msg_3'],
        );
      });
    });

    test('outcomes complete a message once no recipient stays open; a deferral keeps it', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([message('msg_o', ['a@example.net', 'b@example.net'])]);
        const [due] = await queue.claimDue('w1', T0, 10, LEASE_MS);
        assert.ok(due);
        const [a, b] = due.recipients;
        assert.ok(a && b);
        const partly = await queue.recordOutcomes(
          [
            {
              messageId: 'msg_o',
              updates: [
                { id: a.id, address: a.address, status: 'delivered', nextAttemptAt: T0, reply: '250 ok' },
                { id: b.id, address: b.address, status: 'deferred', nextAttemptAt: T0 + 300_000, reply: '451 later', reason: 'smtp' },
              ],
            },
          ],
          T0 + 5,
        );
        assert.deepEqual([...partly], []);
        assert.equal(await queue.nextDueAt(), T0 + 300_000, 'the deferral gave back its lease');
        const shown = await queue.show('msg_o');
        assert.deepEqual(
          shown?.recipients.map((r) => [r.address, r.status, r.attempts, r.lastReply]),
          [
            ['a@example.net', 'delivered', 1, '250 ok'],
            ['b@example.net', 'deferred', 1, '451 later'],
          ],
        );
        assert.ok(shown?.events.some((e) => e.kind === 'deferred' && e.detail === 'smtp: 451 later'));
        const [later] = await queue.claimDue('w1', T0 + 300_000, 10, LEASE_MS);
        assert.deepEqual(
          later?.recipients.map((r) => r.address),
          ['b@example.net'],
          'only the open recipient is claimed',
        );
        const done = await queue.recordOutcomes(
          [{ messageId: 'msg_o', updates: [{ id: b.id, address: b.address, status: 'bounced', nextAttemptAt: T0, reply: '550 no' }] }],
          T0 + 300_001,
        );
        assert.deepEqual([...done], ['msg_o']);
        assert.equal((await queue.show('msg_o'))?.completedAt, T0 + 300_001);
        assert.deepEqual(
          (await queue.list({ includeCompleted: false, limit: 10 })).map((m) => m.id),
          [],
        );
        assert.deepEqual(
          (await queue.list({ includeCompleted: true, limit: 10 })).map((m) => m.id),
          ['msg_o'],
        );
      });
    });

    test('a DSN recorded with an outcome is a new, claimable message', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([message('msg_b', ['a@example.net'])]);
        const [due] = await queue.claimDue('w1', T0, 10, LEASE_MS);
        const r = due?.recipients[0];
        assert.ok(r);
        const dsn = {
          ...message('msg_dsn', ['app@example.com'], T0 + 1),
          isDsn: true,
          envelope: { mailFrom: '', recipients: [{ address: 'app@example.com' }] },
        };
        await queue.recordOutcomes(
          [{ messageId: 'msg_b', updates: [{ id: r.id, address: r.address, status: 'bounced', nextAttemptAt: T0, reply: '550 no' }], dsn }],
          T0 + 1,
        );
        const [report] = await queue.claimDue('w1', T0 + 1, 10, LEASE_MS);
        assert.equal(report?.id, 'msg_dsn');
        assert.equal(report?.isDsn, true);
        assert.equal(report?.mailFrom, '');
        assert.ok((await queue.show('msg_b'))?.events.some((e) => e.kind === 'dsn' && e.detail === 'msg_dsn'));
      });
    });

    test('an operator retry makes open recipients due now and reopens the message; remove deletes it', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([message('msg_r', ['a@example.net'])]);
        const [due] = await queue.claimDue('w1', T0, 10, LEASE_MS);
        const r = due?.recipients[0];
        assert.ok(r);
        await queue.recordOutcomes(
          [{ messageId: 'msg_r', updates: [{ id: r.id, address: r.address, status: 'deferred', nextAttemptAt: T0 + 3_600_000, reply: '451' }] }],
          T0 + 1,
        );
        assert.equal(await queue.retry('msg_r', T0 + 2, T0 + 9 * 86_400_000), 1);
        assert.equal(await queue.nextDueAt(), T0 + 2);
        const shown = await queue.show('msg_r');
        assert.equal(shown?.expiresAt, T0 + 9 * 86_400_000, 'the expiry moves out to the retry window');
        assert.ok(shown?.events.some((e) => e.kind === 'retry'));
        assert.equal(await queue.retry('msg_none', T0, T0), 0);
        assert.deepEqual([...(await queue.activeIds(['msg_r', 'msg_none']))], ['msg_r']);
        assert.equal(await queue.remove('msg_r', T0 + 3), true);
        assert.equal(await queue.remove('msg_r', T0 + 3), false);
        assert.equal(await queue.show('msg_r'), undefined);
      });
    });

    test('releaseLeases gives an owner’s leases back at once', async () => {
      await withQueue(engine.open, async (queue) => {
        await queue.commit([message('msg_l', ['a@example.net'])]);
        assert.equal((await queue.claimDue('inst1:w1', T0, 10, LEASE_MS)).length, 1);
        await queue.releaseLeases({ instance: 'inst1' });
        assert.equal((await queue.claimDue('inst2:w1', T0 + 1, 10, LEASE_MS)).length, 1);
      });
    });
  });
}
