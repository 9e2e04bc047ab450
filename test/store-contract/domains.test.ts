import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DomainStore, NewDomain } from '../../src/directory/domain-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlDomainStore } from '../../src/store/domains/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const newDomain = (name: string, at = 1000): NewDomain => ({
  id: `dom_${name.replaceAll('.', '_')}`,
  organisationId: DEFAULT_ORGANISATION_ID,
  name,
  verificationToken: `token-${name}`,
  createdAt: at,
});

const withStore = (engine: StoreEngine, work: (domains: DomainStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlDomainStore(s.db), s));

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`domain store on ${engine.name}`, engine.options, () => {
    test('an inserted domain is found pending, connected, with no addresses; an unknown name is not', async () => {
      await withStore(engine, async (domains) => {
        const inserted = await domains.change((tx) => tx.insert(newDomain('example.org')));
        const found = await domains.find('example.org');
        assert.deepEqual(found, inserted);
        assert.deepEqual(found, {
          id: 'dom_example_org',
          name: 'example.org',
          organisationId: DEFAULT_ORGANISATION_ID,
          status: 'pending',
          verificationToken: 'token-example.org',
          createdAt: 1000,
          verifiedAt: null,
          verifiedBy: null,
          lastCheck: null,
          addressCount: 0,
          directDelivery: { enabled: false, changedAt: null },
        });
        assert.equal(await domains.find('other.org'), undefined);
        assert.deepEqual(await domains.connectorState('example.org'), { name: 'example.org', connectorState: 'connected' });
        assert.equal(await domains.connectorState('other.org'), undefined);
      });
    });

    test('list: name order, paging, status filter and the total', async () => {
      await withStore(engine, async (domains) => {
        await domains.change(async (tx) => {
          for (const name of ['c.org', 'a.org', 'b.org']) await tx.insert(newDomain(name));
          assert.equal(await tx.markVerified('dom_b_org', 'dns', null, 2000), true);
        });
        const all = await domains.list(['pending', 'verified'], { limit: 2, offset: 0 });
        assert.deepEqual(
          all.items.map((d) => d.name),
          ['a.org', 'b.org'],
        );
        assert.equal(all.total, 3);
        const next = await domains.list(['pending', 'verified'], { limit: 2, offset: 2 });
        assert.deepEqual(
          next.items.map((d) => d.name),
          ['c.org'],
        );
        const pending = await domains.list(['pending'], { limit: 10, offset: 0 });
        assert.deepEqual(
          pending.items.map((d) => d.name),
          ['a.org', 'c.org'],
        );
        assert.equal(pending.total, 2);
      });
    });

    test('claims and counts per organisation', async () => {
      await withStore(engine, async (domains) => {
        await domains.change(async (tx) => {
          await tx.insert(newDomain('a.org'));
          await tx.insert(newDomain('b.org'));
          assert.deepEqual(await tx.claimOf('a.org'), { status: 'pending', organisationId: DEFAULT_ORGANISATION_ID });
          assert.equal(await tx.claimOf('c.org'), undefined);
          assert.equal(await tx.countInOrganisation(DEFAULT_ORGANISATION_ID), 2);
          assert.equal(await tx.countInOrganisation('org_other'), 0);
        });
      });
    });

    test('markVerified only from pending, with its check; recordCheck keeps the outcome', async () => {
      await withStore(engine, async (domains) => {
        const check = { outcome: 'verified' as const, detail: 'found', found: ['relaygate-verification=x'] };
        await domains.change(async (tx) => {
          await tx.insert(newDomain('a.org'));
          await tx.insert(newDomain('b.org'));
          assert.equal(await tx.markVerified('dom_a_org', 'dns', check, 2000), true);
          assert.equal(await tx.markVerified('dom_a_org', 'operator:x', null, 3000), false);
          await tx.recordCheck('dom_b_org', { outcome: 'no_record', detail: 'none', found: [] }, 2500);
        });
        const a = await domains.find('a.org');
        assert.equal(a?.status, 'verified');
        assert.equal(a?.verifiedAt, 2000);
        assert.equal(a?.verifiedBy, 'dns');
        assert.deepEqual(a?.lastCheck, { at: 2000, ...check });
        const b = await domains.find('b.org');
        assert.equal(b?.status, 'pending');
        assert.deepEqual(b?.lastCheck, { at: 2500, outcome: 'no_record', detail: 'none', found: [] });
      });
    });

    test('remove takes the addresses, the aliases in or of the domain, and revokes its credentials', async () => {
      await withStore(engine, async (domains, s) => {
        await domains.change(async (tx) => {
          await tx.insert(newDomain('a.org'));
          await tx.insert(newDomain('b.org'));
        });
        await s.db
          .insertInto('addresses')
          .values([
            {
              id: 'adr_1',
              domain_id: 'dom_a_org',
              address: 'zed@a.org',
              kind: 'support',
              description: '',
              created_at: 1,
              source: 'manual',
              external_id: null,
              suspended_at: null,
            },
            {
              id: 'adr_2',
              domain_id: 'dom_a_org',
              address: 'amy@a.org',
              kind: 'support',
              description: '',
              created_at: 1,
              source: 'manual',
              external_id: null,
              suspended_at: null,
            },
            {
              id: 'adr_3',
              domain_id: 'dom_b_org',
              address: 'bob@b.org',
              kind: 'support',
              description: '',
              created_at: 1,
              source: 'manual',
              external_id: null,
              suspended_at: null,
            },
          ])
          .execute();
        await s.db
          .insertInto('address_aliases')
          .values([
            { id: 'ali_1', address_id: 'adr_1', alias: 'z@b.org', created_at: 1 },
            { id: 'ali_2', address_id: 'adr_3', alias: 'b@a.org', created_at: 1 },
            { id: 'ali_3', address_id: 'adr_3', alias: 'bee@b.org', created_at: 1 },
          ])
          .execute();
        const credential = {
          kind: 'inbound' as const,
          description: '',
          secret_hash: '',
          created_at: 1,
          last_used_at: null,
          last_used_ip: null,
          domain_id: 'dom_a_org',
        };
        await s.db
          .insertInto('credentials')
          .values([
            { ...credential, id: 'crd_1', username: 'in1', revoked_at: null },
            { ...credential, id: 'crd_2', username: 'in2', revoked_at: 5 },
          ] as never)
          .execute();
        assert.equal((await domains.find('a.org'))?.addressCount, 2);
        const removed = await domains.change((tx) => tx.remove({ id: 'dom_a_org', name: 'a.org' }, 7000));
        assert.deepEqual(removed, { addresses: ['amy@a.org', 'zed@a.org'], aliases: ['b@a.org', 'z@b.org'], revokedCredentials: ['crd_1'] });
        assert.equal(await domains.find('a.org'), undefined);
        assert.equal((await domains.find('b.org'))?.addressCount, 1);
        const left = await s.db.selectFrom('address_aliases').select('alias').execute();
        assert.deepEqual(
          left.map((a) => a.alias),
          ['bee@b.org'],
        );
        const credentials = await s.db.selectFrom('credentials').select(['id', 'revoked_at']).orderBy('id').execute();
        assert.deepEqual(
          credentials.map((c) => [c.id, Number(c.revoked_at)]),
          [
            ['crd_1', 7000],
            ['crd_2', 5],
          ],
        );
      });
    });

    test('setDirectDelivery sets the flag and when it changed', async () => {
      await withStore(engine, async (domains) => {
        await domains.change(async (tx) => {
          await tx.insert(newDomain('a.org'));
          await tx.setDirectDelivery('dom_a_org', true, 4000);
        });
        assert.deepEqual((await domains.find('a.org'))?.directDelivery, { enabled: true, changedAt: 4000 });
        await domains.change((tx) => tx.setDirectDelivery('dom_a_org', false, 5000));
        assert.deepEqual((await domains.find('a.org'))?.directDelivery, { enabled: false, changedAt: 5000 });
      });
    });

    test('a change that throws rolls back its rows and its audit record', async () => {
      await withStore(engine, async (domains, s) => {
        await domains.change(async (tx) => {
          await tx.insert(newDomain('kept.org'));
          await tx.audit(actor, { action: 'domain.add', targetType: 'domain', targetId: 'kept.org' }, 1000);
        });
        await assert.rejects(
          domains.change(async (tx) => {
            await tx.insert(newDomain('lost.org'));
            await tx.audit(actor, { action: 'domain.add', targetType: 'domain', targetId: 'lost.org' }, 1000);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await domains.find('lost.org'), undefined);
        assert.ok(await domains.find('kept.org'));
        assert.deepEqual(await auditActions(s), ['domain.add']);
      });
    });
  });
}
