import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InboundTargetStore, StoredInboundTarget } from '../../src/directory/inbound-target-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlInboundTargetStore } from '../../src/store/inbound-targets/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const org = DEFAULT_ORGANISATION_ID;

function target(id: string, domain: { id: string; name: string } | null, over: Partial<StoredInboundTarget> = {}): StoredInboundTarget {
  return {
    id,
    organisationId: org,
    scope: domain ? `domain:${domain.id}` : `organisation:${org}`,
    domainId: domain?.id ?? null,
    domain: domain?.name ?? null,
    kind: 'webhook',
    url: `https://app.example/${id}`,
    forwardTo: null,
    synchronous: false,
    secretSealed: `sealed-${id}`,
    previousSecretSealed: null,
    previousSecretUntil: null,
    createdAt: 1000,
    updatedAt: 1000,
    disabledAt: null,
    disabledReason: null,
    ...over,
  };
}

const withStore = (engine: StoreEngine, work: (targets: InboundTargetStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlInboundTargetStore(s.db), s));

async function addDomain(s: ContractStore, id: string, name: string) {
  await s.db
    .insertInto('domains')
    .values({
      id,
      organisation_id: org,
      name,
      status: 'verified',
      verification_token: `t-${id}`,
      created_at: 1,
      verified_at: 1,
      verified_by: 'dns',
      last_check_at: null,
      last_check_result: null,
      connector_state: 'connected',
      connector_changed_at: null,
      direct_delivery: 0,
      direct_delivery_changed_at: null,
    })
    .execute();
}

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);
const a = { id: 'dom_a', name: 'a.example' };
const b = { id: 'dom_b', name: 'b.example' };

for (const engine of storeEngines()) {
  describe(`inbound target store on ${engine.name}`, engine.options, () => {
    test('inserted targets read back whole with their domain name, by scope, by id and in scope order', async () => {
      await withStore(engine, async (targets, s) => {
        await addDomain(s, a.id, a.name);
        const own = target('itg_a', a, { synchronous: true, previousSecretSealed: 'sealed-old', previousSecretUntil: 5000 });
        const smtp = target('itg_org', null, { kind: 'smtp', url: null, forwardTo: 'support@helpdesk.example', secretSealed: null });
        await targets.change(async (tx) => {
          await tx.insert(smtp);
          await tx.insert(own);
        });
        assert.deepEqual(await targets.byScope('domain:dom_a'), own);
        assert.deepEqual(await targets.byId('itg_org'), smtp);
        assert.equal(await targets.byScope('domain:dom_none'), undefined);
        assert.deepEqual(
          (await targets.list(org)).map((t) => [t.scope, t.domain]),
          [
            ['domain:dom_a', 'a.example'],
            [`organisation:${org}`, null],
          ],
        );
        assert.deepEqual(await targets.list('org_other'), []);
        assert.equal(await targets.anyWebhook(), true);
      });
    });

    test("forDomain: the domain's own target, else its organisation's, else none; an unknown domain has none", async () => {
      await withStore(engine, async (targets, s) => {
        await addDomain(s, a.id, a.name);
        await addDomain(s, b.id, b.name);
        assert.equal(await targets.forDomain('dom_a'), undefined);
        await targets.change((tx) => tx.insert(target('itg_org', null)));
        assert.equal((await targets.forDomain('dom_a'))?.id, 'itg_org');
        assert.equal((await targets.forDomain('dom_a'))?.domain, null);
        await targets.change((tx) => tx.insert(target('itg_a', a)));
        assert.equal((await targets.forDomain('dom_a'))?.id, 'itg_a');
        assert.equal((await targets.forDomain('dom_a'))?.domain, 'a.example');
        assert.equal((await targets.forDomain('dom_b'))?.id, 'itg_org');
        assert.equal(await targets.forDomain('dom_none'), undefined);
      });
    });

    test('update writes every field; disable only an enabled target; remove deletes', async () => {
      await withStore(engine, async (targets, s) => {
        await addDomain(s, a.id, a.name);
        await targets.change((tx) => tx.insert(target('itg_a', a)));
        const changed = target('itg_a', a, { kind: 'smtp', url: null, forwardTo: 'in@app.example', secretSealed: null, updatedAt: 3000 });
        await targets.change((tx) => tx.update(changed));
        assert.deepEqual(await targets.byId('itg_a'), changed);
        assert.equal(await targets.anyWebhook(), false);
        await targets.change(async (tx) => {
          assert.equal(await tx.disable('itg_a', 4000, '410 Gone'), true);
          assert.equal(await tx.disable('itg_a', 5000, 'again'), false);
          assert.equal(await tx.disable('itg_none', 5000, 'none'), false);
        });
        const disabled = await targets.byId('itg_a');
        assert.deepEqual([disabled?.disabledAt, disabled?.disabledReason], [4000, '410 Gone']);
        await targets.change((tx) => tx.remove('itg_a'));
        assert.equal(await targets.byId('itg_a'), undefined);
      });
    });

    test('a change that throws rolls back its target and audit record; findDomain by name or id', async () => {
      await withStore(engine, async (targets, s) => {
        await addDomain(s, a.id, a.name);
        await assert.rejects(
          targets.change(async (tx) => {
            await tx.insert(target('itg_a', a));
            await tx.makeWebhookWorkDue(2000);
            await tx.audit(actor, { action: 'inbound-target.set', targetType: 'inbound-target', targetId: 'itg_a' }, 2000);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.equal(await targets.byId('itg_a'), undefined);
        assert.deepEqual(await auditActions(s), []);
        const found = { id: 'dom_a', name: 'a.example', organisationId: org };
        assert.deepEqual(await targets.findDomain('A.example.'), found);
        assert.deepEqual(await targets.findDomain('dom_a'), found);
        assert.equal(await targets.findDomain('none.example'), undefined);
      });
    });
  });
}
