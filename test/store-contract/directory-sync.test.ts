import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredAddress } from '../../src/directory/address-store.js';
import type { DirectorySyncStore, StoredScimGroup, StoredSyncSource } from '../../src/directory/directory-sync-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlAddressStore } from '../../src/store/addresses/index.js';
import { sqlDirectorySyncStore } from '../../src/store/directory-sync/index.js';
import { sqlDomainStore } from '../../src/store/domains/index.js';
import { type ContractStore, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const ORG = DEFAULT_ORGANISATION_ID;

const user = (id: string, mailbox: string, more: Partial<StoredAddress> = {}): StoredAddress => ({
  id,
  domainId: 'dom_a',
  address: mailbox,
  kind: 'support',
  description: '',
  createdAt: 1,
  source: 'scim',
  externalId: null,
  suspendedAt: null,
  ...more,
});
const group = (id: string, displayName: string, createdAt: number, more: Partial<StoredScimGroup> = {}): StoredScimGroup => ({
  id,
  organisationId: ORG,
  displayName,
  externalId: null,
  addressId: null,
  createdAt,
  updatedAt: createdAt,
  ...more,
});

const source = (more: Partial<StoredSyncSource> = {}): StoredSyncSource => ({
  id: 'dsrc_1',
  organisationId: ORG,
  kind: 'ldap',
  url: 'ldaps://ldap.example.com',
  baseDn: 'ou=people,dc=example,dc=com',
  filter: '(objectClass=inetOrgPerson)',
  bindDn: 'cn=sync',
  bindPasswordSealed: 'sealed-password',
  caCert: null,
  clientCert: null,
  clientKeySealed: null,
  mappingJson: '{}',
  intervalMs: 900000,
  createdAt: 10,
  updatedAt: 10,
  lastRunAt: null,
  lastStatus: null,
  lastResultJson: null,
  lastError: null,
  ...more,
});

/** A verified a.org with the SCIM users amy and bob, a functional SCIM mailbox team, and a manual carl. */
async function withStore(engine: ReturnType<typeof storeEngines>[number], work: (sync: DirectorySyncStore, s: ContractStore) => Promise<void>): Promise<void> {
  const s = await engine.open();
  try {
    await sqlDomainStore(s.db).change(async (tx) => {
      await tx.insert({ id: 'dom_a', organisationId: ORG, name: 'a.org', verificationToken: 't', createdAt: 1 });
      await tx.markVerified('dom_a', 'dns', null, 2);
    });
    await sqlAddressStore(s.db).change(async (tx) => {
      await tx.insert(user('adr_amy', 'amy@a.org'));
      await tx.insert(user('adr_bob', 'bob@a.org'));
      await tx.insert(user('adr_team', 'team@a.org', { kind: 'functional' }));
      await tx.insert(user('adr_carl', 'carl@a.org', { source: 'manual' }));
    });
    await work(sqlDirectorySyncStore(s.db), s);
  } finally {
    await s.dispose();
  }
}

for (const engine of storeEngines()) {
  describe(`directory sync store on ${engine.name}`, engine.options, () => {
    test('groups: insert, find in its organisation only, update, members in address order, remove with its memberships', async () => {
      await withStore(engine, async (sync, s) => {
        await sync.changeGroups(async (tx) => {
          assert.deepEqual((await tx.scimUsersAmong(['adr_bob', 'adr_team', 'adr_carl', 'adr_amy', 'nobody'])).sort(), ['adr_amy', 'adr_bob']);
          assert.deepEqual(await tx.scimUsersAmong([]), []);
          await tx.insertGroup(group('grp_1', 'Team', 10, { addressId: 'adr_team', externalId: 'g1' }));
          await tx.setMembers('grp_1', ['adr_bob', 'adr_amy']);
        });
        assert.deepEqual(await sync.findGroup(ORG, 'grp_1'), group('grp_1', 'Team', 10, { addressId: 'adr_team', externalId: 'g1' }));
        assert.equal(await sync.findGroup('org_other', 'grp_1'), undefined);
        assert.deepEqual(await sync.members('grp_1'), [
          { id: 'adr_amy', address: 'amy@a.org' },
          { id: 'adr_bob', address: 'bob@a.org' },
        ]);
        assert.equal(await sync.addressOf('adr_team'), 'team@a.org');
        assert.equal(await sync.addressOf('adr_gone'), undefined);
        await sync.changeGroups(async (tx) => {
          await tx.updateGroup('grp_1', { displayName: 'Helpdesk', externalId: null, addressId: null, updatedAt: 20 });
          await tx.setMembers('grp_1', ['adr_bob']);
        });
        assert.deepEqual(await sync.findGroup(ORG, 'grp_1'), { ...group('grp_1', 'Helpdesk', 10), updatedAt: 20 });
        assert.deepEqual(await sync.members('grp_1'), [{ id: 'adr_bob', address: 'bob@a.org' }]);
        await sync.changeGroups((tx) => tx.removeGroup('grp_1'));
        assert.equal(await sync.findGroup(ORG, 'grp_1'), undefined);
        assert.deepEqual(await s.db.selectFrom('scim_group_members').selectAll().execute(), []);
      });
    });

    test('listGroups: creation order then id, paging, filters, the total', async () => {
      await withStore(engine, async (sync) => {
        await sync.changeGroups(async (tx) => {
          await tx.insertGroup(group('grp_b', 'Sales', 5));
          await tx.insertGroup(group('grp_a', 'Sales', 5, { externalId: 'x' }));
          await tx.insertGroup(group('grp_c', 'Ops', 1));
          await tx.insertGroup({ ...group('grp_d', 'Elsewhere', 0), organisationId: 'org_other' });
        });
        const ids = async (page: { limit: number; offset: number }, filter = {}) => {
          const found = await sync.listGroups(ORG, page, filter);
          return [found.total, found.items.map((g) => g.id)];
        };
        assert.deepEqual(await ids({ limit: 2, offset: 0 }), [3, ['grp_c', 'grp_a']]);
        assert.deepEqual(await ids({ limit: 2, offset: 2 }), [3, ['grp_b']]);
        assert.deepEqual(await ids({ limit: 10, offset: 0 }, { displayName: 'Sales' }), [2, ['grp_a', 'grp_b']]);
        assert.deepEqual(await ids({ limit: 10, offset: 0 }, { externalId: 'x' }), [1, ['grp_a']]);
      });
    });

    test('a group change that throws rolls back the group, its mailbox and its audit record', async () => {
      await withStore(engine, async (sync, s) => {
        await assert.rejects(
          sync.changeGroups(async (tx) => {
            await tx.addresses.change((inner) => inner.insert(user('adr_new', 'new@a.org', { kind: 'functional' })));
            await tx.insertGroup(group('grp_1', 'New', 1, { addressId: 'adr_new' }));
            await tx.audit(actor, { action: 'scim.group.add', targetType: 'scim-group', targetId: 'grp_1' }, 1);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await sync.findGroup(ORG, 'grp_1'), undefined);
        assert.equal(await sqlAddressStore(s.db).findById('adr_new'), undefined);
        assert.deepEqual(await s.db.selectFrom('audit_log').select('seq').execute(), []);
      });
    });

    test('sync sources: saved in place, a run recorded, removed; a change that throws keeps the old one and no audit record', async () => {
      await withStore(engine, async (sync, s) => {
        assert.equal(await sync.findSource(ORG), undefined);
        await sync.changeSources((tx) => tx.replaceSource(source()));
        assert.deepEqual(await sync.findSource(ORG), source());
        assert.equal(await sync.findSource('org_other'), undefined);
        await sync.changeSources((tx) => tx.replaceSource(source({ filter: '(uid=*)', updatedAt: 20 })));
        await sync.recordRun('dsrc_1', { at: 30, status: 'refused', error: 'too many', resultJson: '{"entries":1}' });
        assert.deepEqual(
          await sync.findSource(ORG),
          source({ filter: '(uid=*)', updatedAt: 20, lastRunAt: 30, lastStatus: 'refused', lastError: 'too many', lastResultJson: '{"entries":1}' }),
        );
        await assert.rejects(
          sync.changeSources(async (tx) => {
            await tx.replaceSource(source({ url: 'ldap://other' }));
            await tx.audit(actor, { action: 'directory_sync.update', targetType: 'directory_sync', targetId: 'dsrc_1' }, 40);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal((await sync.findSource(ORG))?.url, 'ldaps://ldap.example.com');
        assert.deepEqual(await s.db.selectFrom('audit_log').select('seq').execute(), []);
        assert.equal(await sync.changeSources((tx) => tx.removeSource(ORG)), 'dsrc_1');
        assert.equal(await sync.changeSources((tx) => tx.removeSource(ORG)), undefined);
        assert.equal(await sync.findSource(ORG), undefined);
      });
    });

    test('exclusively runs the job when nobody else holds its name', async () => {
      await withStore(engine, async (sync) => {
        let ran = 0;
        await sync.exclusively('contract-job', async () => {
          ran += 1;
        });
        assert.equal(ran, 1);
      });
    });

    test('manualAmong names the manual addresses only', async () => {
      await withStore(engine, async (sync) => {
        assert.deepEqual(await sync.manualAmong(['amy@a.org', 'carl@a.org', 'zed@a.org']), ['carl@a.org']);
        assert.deepEqual(await sync.manualAmong([]), []);
      });
    });

    test('a dry run keeps its kept steps until the end, undoes the others, and rolls everything back', async () => {
      await withStore(engine, async (sync, s) => {
        const seen: (string | undefined)[] = [];
        await sync.dryRun(async (run) => {
          assert.equal(run.addresses.inTransaction, true);
          assert.equal(
            await run.attempt(async () => {
              await run.addresses.change((tx) => tx.insert(user('adr_kept', 'kept@a.org')));
              return true;
            }),
            true,
          );
          assert.equal(
            await run.attempt(async () => {
              await run.addresses.change(async (tx) => {
                await tx.insert(user('adr_undone', 'undone@a.org'));
                await tx.audit(actor, { action: 'address.sync_add', targetType: 'address', targetId: 'undone@a.org' }, 1);
              });
              return false;
            }),
            false,
          );
          seen.push((await run.addresses.findById('adr_kept'))?.address, (await run.addresses.findById('adr_undone'))?.address);
        });
        assert.deepEqual(seen, ['kept@a.org', undefined]);
        const addresses = sqlAddressStore(s.db);
        assert.equal(await addresses.findById('adr_kept'), undefined);
        assert.deepEqual(await s.db.selectFrom('audit_log').select('seq').execute(), []);
      });
    });
  });
}
