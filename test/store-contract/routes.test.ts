import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RouteStore } from '../../src/directory/route-store.js';
import type { Route } from '../../src/directory/routes.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlRouteStore } from '../../src/store/routes/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const org = DEFAULT_ORGANISATION_ID;
const route = (id: string, position: number, match: string, over: Partial<Route> = {}): Route => ({
  id,
  position,
  match,
  action: 'relay',
  description: `rule ${id}`,
  createdAt: 1000 + position,
  ...over,
});

const withStore = (engine: StoreEngine, work: (routes: RouteStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlRouteStore(s.db), s));

const positions = async (routes: RouteStore) => (await routes.table(org)).rules.map((r) => `${r.position}:${r.id}`);
const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`route store on ${engine.name}`, engine.options, () => {
    test('inserted rules come back in position order, whole, with the default; an unknown organisation relays', async () => {
      await withStore(engine, async (routes) => {
        const a = route('rte_a', 2, 'a.example', { action: 'secure' });
        const b = route('rte_b', 1, '*.b.example', { action: 'reject' });
        await routes.change(async (tx) => {
          await tx.insert(org, a);
          await tx.insert(org, b);
        });
        assert.deepEqual(await routes.table(org), { rules: [b, a], defaultAction: 'relay' });
        assert.deepEqual(await routes.find(org, 'rte_a'), a);
        assert.equal(await routes.find('org_other', 'rte_a'), undefined);
        assert.equal(await routes.find(org, 'rte_none'), undefined);
        assert.deepEqual(await routes.table('org_none'), { rules: [], defaultAction: 'relay' });
        assert.equal(await routes.defaultAction('org_none'), undefined);
      });
    });

    test('list pages in position order with the total; count and findByMatch', async () => {
      await withStore(engine, async (routes) => {
        await routes.change(async (tx) => {
          for (const [i, name] of ['c', 'a', 'b'].entries()) await tx.insert(org, route(`rte_${name}`, i + 1, `${name}.example`));
          assert.equal(await tx.count(org), 3);
          assert.equal((await tx.findByMatch(org, 'a.example'))?.id, 'rte_a');
          assert.equal(await tx.findByMatch(org, 'z.example'), undefined);
        });
        const first = await routes.list(org, { limit: 2, offset: 0 });
        assert.deepEqual(
          first.items.map((r) => r.id),
          ['rte_c', 'rte_a'],
        );
        assert.equal(first.total, 3);
        assert.deepEqual(
          (await routes.list(org, { limit: 2, offset: 2 })).items.map((r) => r.id),
          ['rte_b'],
        );
      });
    });

    test('shift moves a range, or everything from a position to the end; update, setPosition, remove, the default', async () => {
      await withStore(engine, async (routes) => {
        await routes.change(async (tx) => {
          for (let i = 1; i <= 4; i++) await tx.insert(org, route(`rte_${i}`, i, `r${i}.example`));
        });
        await routes.change(async (tx) => {
          await tx.remove('rte_4');
          await tx.shift(org, { from: 2, to: 3, by: 1 });
        });
        assert.deepEqual(await positions(routes), ['1:rte_1', '3:rte_2', '4:rte_3']);
        await routes.change((tx) => tx.shift(org, { from: 3, to: 2, by: 1 }));
        assert.deepEqual(await positions(routes), ['1:rte_1', '3:rte_2', '4:rte_3'], 'an empty range moves nothing');
        await routes.change(async (tx) => {
          await tx.setPosition('rte_2', 2);
          await tx.shift(org, { from: 4, by: -1 });
        });
        assert.deepEqual(await positions(routes), ['1:rte_1', '2:rte_2', '3:rte_3']);
        await routes.change(async (tx) => {
          await tx.update('rte_1', { match: 'new.example', action: 'secure' });
          await tx.remove('rte_3');
          await tx.setDefaultAction(org, 'reject');
        });
        const table = await routes.table(org);
        assert.deepEqual(
          table.rules.map((r) => [r.id, r.match, r.action, r.description]),
          [
            ['rte_1', 'new.example', 'secure', 'rule rte_1'],
            ['rte_2', 'r2.example', 'relay', 'rule rte_2'],
          ],
        );
        assert.equal(table.defaultAction, 'reject');
        assert.equal(await routes.defaultAction(org), 'reject');
      });
    });

    test("what a transaction's route needs besides the table: a credential's organisation, the secure retention", async () => {
      await withStore(engine, async (routes, s) => {
        await s.db
          .insertInto('organisations')
          .values({ id: 'org_two', name: 'Two', default_route_action: 'secure', created_at: 1, secure_retention_days: 30 })
          .execute();
        await s.db
          .insertInto('credentials')
          .values({ id: 'cred_a', kind: 'submission', description: 'a', username: 'sub_a', secret_hash: 'h', created_at: 1, organisation_id: 'org_two' })
          .execute();
        assert.equal(await routes.organisationOfCredential('cred_a'), 'org_two');
        assert.equal(await routes.organisationOfCredential('cred_none'), undefined);
        assert.equal(await routes.secureRetentionDays('org_two'), 30);
        assert.equal(await routes.secureRetentionDays(org), 90);
        assert.equal(await routes.secureRetentionDays('org_none'), undefined);
        assert.equal((await routes.table('org_two')).defaultAction, 'secure');
      });
    });

    test('a change that throws rolls back its rules, its default and its audit record', async () => {
      await withStore(engine, async (routes, s) => {
        await routes.change((tx) => tx.insert(org, route('rte_a', 1, 'a.example')));
        await assert.rejects(
          routes.change(async (tx) => {
            await tx.insert(org, route('rte_b', 2, 'b.example'));
            await tx.shift(org, { from: 1, by: 1 });
            await tx.setDefaultAction(org, 'secure');
            await tx.audit(actor, { action: 'route.add', targetType: 'route', targetId: 'rte_b' }, 2000);
            throw new Error('not confirmed');
          }),
          /not confirmed/,
        );
        assert.deepEqual(await positions(routes), ['1:rte_a']);
        assert.equal(await routes.defaultAction(org), 'relay');
        assert.deepEqual(await auditActions(s), []);
      });
    });
  });
}
