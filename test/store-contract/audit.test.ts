import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditLog } from '../../src/audit/audit-log.js';
import { appendAudit } from '../../src/store/audit/append-audit.js';
import { auditChainOf } from '../../src/store/audit/audit-chain.js';
import { sqlAuditStore } from '../../src/store/audit/index.js';
import { transact } from '../../src/store/transact.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const admin = { name: 'admin:alice', ip: '192.0.2.1' };
const cli = { name: 'cli:root', ip: null };

const withStore = (open: StoreEngine['open'], work: (s: ContractStore) => Promise<void>) => onFreshStore({ open }, work);

for (const engine of storeEngines()) {
  describe(`audit store on ${engine.name}`, engine.options, () => {
    // The head anchors only records seen committed; one whose transaction rolled back used to
    // keep settle() (and so the store's close) waiting out the chain's 30 s give-up.
    test('a record appended in a transaction that rolls back is not waited for', () =>
      withStore(engine.open, async (s) => {
        await assert.rejects(
          transact(s.db, async (trx) => {
            await appendAudit(trx, admin, { action: 'domain.add', targetType: 'domain', targetId: 'gone.example' }, 1000);
            throw new Error('refused after the audit record');
          }),
          /refused after the audit record/,
        );
        const settled = await Promise.race([
          auditChainOf(s.db)
            .settle()
            .then(() => 'settled'),
          new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting')),
        ]);
        assert.equal(settled, 'settled');
        assert.deepEqual(await sqlAuditStore(s.db).records(), []);
      }));

    test('appended records are numbered in order and linked, each hash the key’s MAC of its content', () =>
      withStore(engine.open, async (s) => {
        const audit = sqlAuditStore(s.db);
        await audit.append(admin, { action: 'domain.add', targetType: 'domain', targetId: 'a.example', detail: { z: 1, a: 2 } }, 1000);
        await audit.append(cli, { action: 'domain.remove', targetType: 'domain', targetId: 'a.example' }, 2000);
        const records = await audit.records();
        assert.deepEqual(
          records.map((r) => [r.seq, r.at, r.actor, r.actorIp, r.action, r.targetId]),
          [
            [1, 1000, 'admin:alice', '192.0.2.1', 'domain.add', 'a.example'],
            [2, 2000, 'cli:root', null, 'domain.remove', 'a.example'],
          ],
        );
        assert.deepEqual(records[0]?.detail, { a: 2, z: 1 });
        assert.deepEqual(records[1]?.detail, {});
        assert.equal(records[0]?.prevHash, '0'.repeat(64));
        assert.equal(records[1]?.prevHash, records[0]?.hash);
        const { key } = audit.keying();
        for (const r of records) {
          const { prevHash, hash, ...content } = r;
          assert.ok(key.matches(prevHash, content, hash), `record ${r.seq}`);
        }
      }));

    test('list: newest first, filtered by action, actor and target, paged, with the count of every match', () =>
      withStore(engine.open, async (s) => {
        const audit = sqlAuditStore(s.db);
        for (let n = 1; n <= 5; n++)
          await audit.append(n % 2 ? admin : cli, { action: n <= 3 ? 'route.add' : 'route.remove', targetType: 'route', targetId: `r${n}` }, n);
        const all = await audit.list({ limit: 2, offset: 1 });
        assert.equal(all.total, 5);
        assert.deepEqual(
          all.items.map((r) => r.seq),
          [4, 3],
        );
        assert.deepEqual([all.limit, all.offset], [2, 1]);
        const added = await audit.list({ limit: 10, offset: 0, action: 'route.add' });
        assert.deepEqual(
          added.items.map((r) => r.seq),
          [3, 2, 1],
        );
        assert.equal(added.total, 3);
        const byAdmin = await audit.list({ limit: 10, offset: 0, actor: 'admin:alice', action: 'route.add' });
        assert.deepEqual(
          byAdmin.items.map((r) => r.seq),
          [3, 1],
        );
        const one = await audit.list({ limit: 10, offset: 0, targetId: 'r4' });
        assert.deepEqual([one.total, one.items[0]?.action], [1, 'route.remove']);
        const none = await audit.list({ limit: 10, offset: 0, actor: 'nobody' });
        assert.deepEqual([none.total, none.items], [0, []]);
      }));

    test('records: oldest first after a number, at most a limit', () =>
      withStore(engine.open, async (s) => {
        const audit = sqlAuditStore(s.db);
        for (let n = 1; n <= 4; n++) await audit.append(cli, { action: 'x', targetType: 't' }, n);
        assert.deepEqual(
          (await audit.records({ afterSeq: 1, limit: 2 })).map((r) => r.seq),
          [2, 3],
        );
        assert.deepEqual(
          (await audit.records({ afterSeq: 3 })).map((r) => r.seq),
          [4],
        );
        assert.deepEqual(await audit.records({ afterSeq: 4, limit: 500 }), []);
      }));

    test('a record appended in a transaction that throws is not kept, and the next takes its number', () =>
      withStore(engine.open, async (s) => {
        const audit = sqlAuditStore(s.db);
        await audit.append(cli, { action: 'kept', targetType: 't' }, 1);
        await assert.rejects(
          s.db.transaction().execute(async (trx) => {
            await appendAudit(trx, cli, { action: 'rolled-back', targetType: 't' }, 2);
            throw new Error('the change failed');
          }),
          /the change failed/,
        );
        await audit.append(cli, { action: 'after', targetType: 't' }, 3);
        const records = await audit.records();
        assert.deepEqual(
          records.map((r) => [r.seq, r.action]),
          [
            [1, 'kept'],
            [2, 'after'],
          ],
        );
        assert.equal(records[1]?.prevHash, records[0]?.hash);
      }));

    test('verify: the appended chain is intact up to the head anchored once they committed; an altered record is named', () =>
      withStore(engine.open, async (s) => {
        const audit = sqlAuditStore(s.db);
        for (let n = 1; n <= 3; n++) await audit.append(cli, { action: 'x', targetType: 't', targetId: `t${n}` }, n);
        await s.audit.settle();
        assert.deepEqual(await auditLog(audit).verify(), { ok: true, checked: 3, anchoredSeq: 3 });
        await s.db.updateTable('audit_log').set({ target_id: 'other' }).where('seq', '=', 2).execute();
        const broken = await auditLog(audit).verify();
        assert.equal(broken.ok, false);
        assert.equal(broken.problem?.seq, 2);
      }));
  });
}
