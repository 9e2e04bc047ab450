import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AddressStore, StoredAddress } from '../../src/directory/address-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlAddressStore } from '../../src/store/addresses/index.js';
import { sqlDomainStore } from '../../src/store/domains/index.js';
import { type ContractStore, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };

const address = (id: string, mailbox: string, domainId: string, more: Partial<StoredAddress> = {}): StoredAddress => ({
  id,
  domainId,
  address: mailbox,
  kind: 'support',
  description: '',
  createdAt: 1000,
  source: 'manual',
  externalId: null,
  suspendedAt: null,
  ...more,
});

/** Two verified domains, a.org and b.org, with no addresses. */
async function withStore(engine: ReturnType<typeof storeEngines>[number], work: (addresses: AddressStore, s: ContractStore) => Promise<void>): Promise<void> {
  const s = await engine.open();
  try {
    await sqlDomainStore(s.db).change(async (tx) => {
      for (const name of ['a.org', 'b.org']) {
        await tx.insert({ id: `dom_${name[0]}`, organisationId: DEFAULT_ORGANISATION_ID, name, verificationToken: 't', createdAt: 1 });
        await tx.markVerified(`dom_${name[0]}`, 'dns', null, 2);
      }
    });
    await work(sqlAddressStore(s.db), s);
  } finally {
    await s.dispose();
  }
}

for (const engine of storeEngines()) {
  describe(`address store on ${engine.name}`, engine.options, () => {
    test('an inserted address is found by mailbox and id, described with its domain and aliases in order', async () => {
      await withStore(engine, async (addresses) => {
        const stored = address('adr_1', 'amy@a.org', 'dom_a', { kind: 'functional', source: 'scim', externalId: 'ext-1', suspendedAt: 5 });
        await addresses.change(async (tx) => {
          await tx.insert(stored);
          await tx.insertAlias({ id: 'als_2', addressId: 'adr_1', alias: 'zed@b.org', createdAt: 1000 });
          await tx.insertAlias({ id: 'als_1', addressId: 'adr_1', alias: 'amelia@a.org', createdAt: 1000 });
        });
        assert.deepEqual(await addresses.findByAddress('amy@a.org'), stored);
        assert.deepEqual(await addresses.findById('adr_1'), stored);
        assert.equal(await addresses.findByAddress('zed@b.org'), undefined);
        assert.equal(await addresses.ownerOfAlias('zed@b.org'), 'amy@a.org');
        assert.equal(await addresses.ownerOfAlias('amy@a.org'), undefined);
        assert.deepEqual(await addresses.describe(stored), {
          id: 'adr_1',
          address: 'amy@a.org',
          kind: 'functional',
          description: '',
          domain: 'a.org',
          aliases: ['amelia@a.org', 'zed@b.org'],
          createdAt: 1000,
          source: 'scim',
          externalId: 'ext-1',
          suspendedAt: 5,
        });
      });
    });

    test('page: address order, paging, each filter, and the total of all matches', async () => {
      await withStore(engine, async (addresses) => {
        await addresses.change(async (tx) => {
          await tx.insert(address('adr_c', 'cat@a.org', 'dom_a'));
          await tx.insert(address('adr_a', 'ann@a.org', 'dom_a', { source: 'scim', externalId: 'x1' }));
          await tx.insert(address('adr_b', 'bob@b.org', 'dom_b', { kind: 'functional', source: 'scim' }));
          await tx.insertAlias({ id: 'als_1', addressId: 'adr_c', alias: 'kit@a.org', createdAt: 1 });
        });
        const first = await addresses.page({ limit: 2, offset: 0 }, {});
        assert.deepEqual(
          first.items.map((a) => [a.address, a.domain, a.aliases]),
          [
            ['ann@a.org', 'a.org', []],
            ['bob@b.org', 'b.org', []],
          ],
        );
        assert.equal(first.total, 3);
        const rest = await addresses.page({ limit: 2, offset: 2 }, {});
        assert.deepEqual(
          rest.items.map((a) => [a.address, a.aliases]),
          [['cat@a.org', ['kit@a.org']]],
        );
        const names = async (query: Parameters<AddressStore['page']>[1]) => {
          const found = await addresses.page({ limit: 10, offset: 0 }, query);
          return [found.total, found.items.map((a) => a.address)];
        };
        assert.deepEqual(await names({ domain: 'a.org' }), [2, ['ann@a.org', 'cat@a.org']]);
        assert.deepEqual(await names({ kind: 'functional' }), [1, ['bob@b.org']]);
        assert.deepEqual(await names({ source: 'scim' }), [2, ['ann@a.org', 'bob@b.org']]);
        assert.deepEqual(await names({ source: 'scim', externalId: 'x1' }), [1, ['ann@a.org']]);
        assert.deepEqual(await names({ address: 'cat@a.org' }), [1, ['cat@a.org']]);
        assert.deepEqual(await names({ domain: 'c.org' }), [0, []]);
      });
    });

    test('domains a mailbox would live in, and the count of mailboxes in a domain (addresses and aliases in it)', async () => {
      await withStore(engine, async (addresses) => {
        assert.deepEqual(await addresses.domainNamed('a.org'), { id: 'dom_a', name: 'a.org', organisationId: DEFAULT_ORGANISATION_ID, status: 'verified' });
        assert.equal(await addresses.domainNamed('c.org'), undefined);
        assert.equal(await addresses.organisationOfDomain('dom_b'), DEFAULT_ORGANISATION_ID);
        await addresses.change(async (tx) => {
          await tx.insert(address('adr_1', 'amy@a.org', 'dom_a'));
          await tx.insert(address('adr_2', 'bob@b.org', 'dom_b'));
          await tx.insertAlias({ id: 'als_1', addressId: 'adr_2', alias: 'bobby@a.org', createdAt: 1 });
          await tx.insertAlias({ id: 'als_2', addressId: 'adr_1', alias: 'amy@b.org', createdAt: 1 });
        });
        assert.equal(await addresses.countMailboxes({ id: 'dom_a', name: 'a.org' }), 2);
        assert.equal(await addresses.countMailboxes({ id: 'dom_b', name: 'b.org' }), 2);
      });
    });

    test('activeOwnerOf: an address, else the address of an alias, only in verified domains and not suspended; verifiedDomainsOf', async () => {
      await withStore(engine, async (addresses, s) => {
        await sqlDomainStore(s.db).change((tx) =>
          tx.insert({ id: 'dom_p', organisationId: DEFAULT_ORGANISATION_ID, name: 'pending.org', verificationToken: 't', createdAt: 1 }),
        );
        await addresses.change(async (tx) => {
          await tx.insert(address('adr_1', 'amy@a.org', 'dom_a', { kind: 'functional' }));
          await tx.insert(address('adr_2', 'sue@a.org', 'dom_a', { suspendedAt: 9 }));
          await tx.insert(address('adr_3', 'pat@pending.org', 'dom_p'));
          await tx.insertAlias({ id: 'als_1', addressId: 'adr_1', alias: 'amy@b.org', createdAt: 1 });
          await tx.insertAlias({ id: 'als_2', addressId: 'adr_2', alias: 'sue@b.org', createdAt: 1 });
        });
        const owner = { address: 'amy@a.org', kind: 'functional', organisationId: DEFAULT_ORGANISATION_ID };
        assert.deepEqual(await addresses.activeOwnerOf('amy@a.org'), { ...owner, matchedAs: 'address' });
        assert.deepEqual(await addresses.activeOwnerOf('amy@b.org'), { ...owner, matchedAs: 'alias' });
        for (const mailbox of ['sue@a.org', 'sue@b.org', 'pat@pending.org', 'nobody@a.org'])
          assert.equal(await addresses.activeOwnerOf(mailbox), undefined, mailbox);
        assert.deepEqual(await addresses.verifiedDomainsOf(DEFAULT_ORGANISATION_ID), ['a.org', 'b.org']);
        assert.deepEqual(await addresses.verifiedDomainsOf('org_other'), []);
      });
    });

    test('update, removeAliases (answering how many went) and remove (its aliases with it)', async () => {
      await withStore(engine, async (addresses, s) => {
        await addresses.change(async (tx) => {
          await tx.insert(address('adr_1', 'amy@a.org', 'dom_a', { source: 'ldap', externalId: 'e', suspendedAt: 3 }));
          for (const alias of ['x@a.org', 'y@a.org', 'z@a.org']) await tx.insertAlias({ id: `als_${alias[0]}`, addressId: 'adr_1', alias, createdAt: 1 });
        });
        await addresses.change(async (tx) => {
          await tx.update('adr_1', { address: 'amy@b.org', domainId: 'dom_b' });
          await tx.update('adr_1', { description: 'Amy', externalId: null, suspendedAt: null });
          assert.equal(await tx.removeAliases('adr_1', ['x@a.org', 'y@a.org', 'nope@a.org']), 2);
          assert.equal(await tx.removeAliases('adr_1', []), 0);
        });
        const moved = await addresses.findById('adr_1');
        assert.deepEqual(moved, address('adr_1', 'amy@b.org', 'dom_b', { source: 'ldap', description: 'Amy' }));
        assert.deepEqual((await addresses.describe(moved as StoredAddress)).aliases, ['z@a.org']);
        await addresses.change((tx) => tx.remove('adr_1'));
        assert.equal(await addresses.findById('adr_1'), undefined);
        assert.deepEqual(await s.db.selectFrom('address_aliases').selectAll().execute(), []);
      });
    });

    test('a change that throws rolls back its rows and its audit record; a store on a transaction works inside it', async () => {
      await withStore(engine, async (addresses, s) => {
        await assert.rejects(
          addresses.change(async (tx) => {
            await tx.insert(address('adr_1', 'amy@a.org', 'dom_a'));
            await tx.insertAlias({ id: 'als_1', addressId: 'adr_1', alias: 'x@a.org', createdAt: 1 });
            await tx.audit(actor, { action: 'address.add', targetType: 'address', targetId: 'amy@a.org' }, 1000);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await addresses.findByAddress('amy@a.org'), undefined);
        assert.equal(await addresses.ownerOfAlias('x@a.org'), undefined);
        assert.deepEqual(await s.db.selectFrom('audit_log').select('seq').execute(), []);
        assert.equal(addresses.inTransaction, false);
        await assert.rejects(
          s.db.transaction().execute(async (trx) => {
            const inner = sqlAddressStore(trx);
            assert.equal(inner.inTransaction, true);
            await inner.change((tx) => tx.insert(address('adr_2', 'bob@a.org', 'dom_a')));
            assert.ok(await inner.findById('adr_2'));
            throw new Error('outer');
          }),
          /outer/,
        );
        assert.equal(await addresses.findById('adr_2'), undefined);
      });
    });
  });
}
