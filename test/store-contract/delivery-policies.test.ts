import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeliveryPolicyStore } from '../../src/directory/delivery-policy-store.js';
import { sqlDeliveryPolicyStore } from '../../src/store/delivery-policies/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };

const withStore = (engine: StoreEngine, work: (policies: DeliveryPolicyStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlDeliveryPolicyStore(s.db), s));

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`delivery policy store on ${engine.name}`, engine.options, () => {
    test('insert then find; a new requirement keeps the creation time; remove', async () => {
      await withStore(engine, async (policies) => {
        const policy = { domain: 'bank.example', require: 'dane' as const, createdAt: 1000, updatedAt: 1000 };
        await policies.change((tx) => tx.insert(policy));
        assert.deepEqual(await policies.find('bank.example'), policy);
        assert.equal(await policies.find('other.example'), undefined);
        await policies.change((tx) => tx.setRequirement('bank.example', 'verified', 2000));
        assert.deepEqual(await policies.find('bank.example'), { ...policy, require: 'verified', updatedAt: 2000 });
        await policies.change((tx) => tx.remove('bank.example'));
        assert.equal(await policies.find('bank.example'), undefined);
      });
    });

    test('list in domain order, paged, with the total', async () => {
      await withStore(engine, async (policies) => {
        await policies.change(async (tx) => {
          for (const domain of ['c.example', 'a.example', 'b.example']) await tx.insert({ domain, require: 'tls', createdAt: 1, updatedAt: 1 });
        });
        const first = await policies.list({ limit: 2, offset: 0 });
        assert.deepEqual(
          first.items.map((p) => p.domain),
          ['a.example', 'b.example'],
        );
        assert.equal(first.total, 3);
        assert.deepEqual(
          (await policies.list({ limit: 2, offset: 2 })).items.map((p) => p.domain),
          ['c.example'],
        );
      });
    });

    test('a change that throws leaves neither the policy nor its audit record', async () => {
      await withStore(engine, async (policies, s) => {
        await assert.rejects(
          policies.change(async (tx) => {
            await tx.insert({ domain: 'bank.example', require: 'tls', createdAt: 1, updatedAt: 1 });
            await tx.audit(actor, { action: 'tls-policy.set', targetType: 'tls-policy', targetId: 'bank.example' }, 1);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.equal(await policies.find('bank.example'), undefined);
        assert.deepEqual(await auditActions(s), []);
      });
    });
  });
}
