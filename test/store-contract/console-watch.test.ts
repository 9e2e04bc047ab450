import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sqlConsoleWatch } from '../../src/store/console/watch.js';
import { type ContractStore, onFreshStore, storeEngines } from '../support/store-engines.js';

const withStore = onFreshStore;

async function addMessage(s: ContractStore, id: string, mailFrom: string, receivedAt: number, subject: string | null) {
  await s.db
    .insertInto('messages')
    .values({
      id,
      mail_from: mailFrom,
      size_bytes: 10,
      received_at: receivedAt,
      expires_at: receivedAt + 10_000,
      credential_id: null,
      client_ip: '192.0.2.7',
      env_id: null,
      dsn_ret: null,
      is_dsn: 0,
      completed_at: null,
      direction: 'outbound',
      body_purged_at: null,
      tls_required: null,
      subject,
    })
    .execute();
  await s.db
    .insertInto('recipients')
    .values({
      message_id: id,
      position: 0,
      address: 'to@example.net',
      notify: null,
      orcpt: null,
      status: 'queued',
      attempts: 0,
      next_attempt_at: receivedAt,
      last_attempt_at: null,
      last_reply: null,
      lease_owner: null,
      lease_until: null,
    })
    .execute();
}

for (const engine of storeEngines()) {
  describe(`console watch store on ${engine.name}`, engine.options, () => {
    test('audit appends a record each, and the actions come back distinct and in order', () =>
      withStore(engine, async (s) => {
        const watch = sqlConsoleWatch(s.db);
        assert.deepEqual(await watch.auditActions(), []);
        const actor = { name: 'admin:ops@example.com', ip: '192.0.2.1' };
        await watch.audit(actor, { action: 'message.retry', targetType: 'message', targetId: 'A1' }, 10);
        await watch.audit(actor, { action: 'admin.sign-in', targetType: 'admin' }, 20);
        await watch.audit(actor, { action: 'message.retry', targetType: 'message', targetId: 'A2' }, 30);
        assert.deepEqual(await watch.auditActions(), ['admin.sign-in', 'message.retry']);
        const rows = await s.db.selectFrom('audit_log').select(['seq', 'actor', 'target_id']).orderBy('seq').execute();
        assert.deepEqual(
          rows.map((r) => [r.seq, r.actor, r.target_id]),
          [
            [1, 'admin:ops@example.com', 'A1'],
            [2, 'admin:ops@example.com', null],
            [3, 'admin:ops@example.com', 'A2'],
          ],
        );
      }));

    test('messages: searched by sender in any case, newest first, paged; the origin of one', () =>
      withStore(engine, async (s) => {
        await addMessage(s, 'AAA1', 'App@Example.com', 100, 'first');
        await addMessage(s, 'AAA2', 'app@example.com', 300, 'second');
        await addMessage(s, 'BBB1', 'other@example.org', 200, null);
        const watch = sqlConsoleWatch(s.db);
        const found = await watch.searchMessages({ sender: 'APP@' }, { limit: 1, offset: 0 });
        assert.equal(found.total, 2);
        assert.deepEqual(
          found.items.map((m) => m.id),
          ['AAA2'],
        );
        assert.deepEqual(
          (await watch.searchMessages({}, { limit: 10, offset: 0 })).items.map((m) => m.id),
          ['AAA2', 'BBB1', 'AAA1'],
        );
        assert.deepEqual(await watch.messageOrigin('AAA1'), { subject: 'first', clientIp: '192.0.2.7', envId: null, tlsRequired: null, credential: null });
        assert.equal(await watch.messageOrigin('NONE'), undefined);
      }));

    test('the queue depth counts waiting recipients; the last day has 24 hours', () =>
      withStore(engine, async (s) => {
        await addMessage(s, 'AAA1', 'app@example.com', 100, null);
        const watch = sqlConsoleWatch(s.db);
        const depth = await watch.queueDepth();
        assert.equal(depth.queued, 1);
        assert.equal(depth.oldestReceivedAt, 100);
        assert.equal((await watch.lastDay(3_600_000 * 30)).length, 24);
      }));
  });
}
