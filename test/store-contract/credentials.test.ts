import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredCredential } from '../../src/directory/credential-model.js';
import type { CredentialStore } from '../../src/directory/credential-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlCredentialStore } from '../../src/store/credentials/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };

function credential(id: string, over: Partial<StoredCredential> = {}): StoredCredential {
  return {
    id,
    kind: 'submission',
    description: `credential ${id}`,
    username: `user_${id}`,
    secretHash: `hash_${id}`,
    organisationId: DEFAULT_ORGANISATION_ID,
    domainId: null,
    domain: null,
    allowedSenders: null,
    tlsClientName: null,
    allowedNetworks: null,
    expiresAt: null,
    maxMessagesPerHour: null,
    retireAt: null,
    retirementSetAt: null,
    createdAt: 1000,
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    ...over,
  };
}

const withStore = (engine: StoreEngine, work: (credentials: CredentialStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlCredentialStore(s.db), s));

async function addDomain(s: ContractStore, id: string, name: string, connectorState: 'connected' | 'draining' | 'disconnected' = 'connected') {
  await s.db
    .insertInto('domains')
    .values({
      id,
      organisation_id: DEFAULT_ORGANISATION_ID,
      name,
      status: 'verified',
      verification_token: `t-${id}`,
      created_at: 1,
      verified_at: 1,
      verified_by: 'dns',
      last_check_at: null,
      last_check_result: null,
      connector_state: connectorState,
      connector_changed_at: null,
      direct_delivery: 0,
      direct_delivery_changed_at: null,
    })
    .execute();
}

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`credential store on ${engine.name}`, engine.options, () => {
    test('an inserted credential reads back whole, by id and by username, with its domain name', async () => {
      await withStore(engine, async (credentials, s) => {
        await addDomain(s, 'dom_a', 'a.example');
        const inbound = credential('cred_in', {
          kind: 'inbound',
          domainId: 'dom_a',
          domain: 'a.example',
          allowedNetworks: ['192.0.2.0/24', '2001:db8::/32'],
          expiresAt: 5000,
          maxMessagesPerHour: 30,
        });
        const submission = credential('cred_sub', { allowedSenders: ['app@a.example', '@a.example'] });
        await credentials.change(async (tx) => {
          await tx.insert(inbound);
          await tx.insert(submission);
        });
        assert.deepEqual(await credentials.byId('cred_in'), inbound);
        assert.deepEqual(await credentials.byUsername('user_cred_sub'), submission);
        assert.equal(await credentials.byId('cred_none'), undefined);
        assert.equal(await credentials.byUsername('nobody'), undefined);
        assert.deepEqual(await credentials.allowedNetworksOf('user_cred_in'), ['192.0.2.0/24', '2001:db8::/32']);
        assert.equal(await credentials.allowedNetworksOf('user_cred_sub'), null);
        assert.equal(await credentials.allowedNetworksOf('nobody'), undefined);
      });
    });

    test('list: creation order then id, paging, kind filter and the total', async () => {
      await withStore(engine, async (credentials, s) => {
        await addDomain(s, 'dom_a', 'a.example');
        await credentials.change(async (tx) => {
          await tx.insert(credential('cred_c', { createdAt: 3000 }));
          await tx.insert(credential('cred_b', { createdAt: 1000 }));
          await tx.insert(credential('cred_a', { createdAt: 1000 }));
          await tx.insert(credential('cred_i', { kind: 'inbound', domainId: 'dom_a', domain: 'a.example', createdAt: 2000 }));
        });
        const first = await credentials.list({}, { limit: 3, offset: 0 });
        assert.deepEqual(
          first.items.map((c) => c.id),
          ['cred_a', 'cred_b', 'cred_i'],
        );
        assert.equal(first.total, 4);
        const rest = await credentials.list({}, { limit: 3, offset: 3 });
        assert.deepEqual(
          rest.items.map((c) => c.id),
          ['cred_c'],
        );
        const inbound = await credentials.list({ kind: 'inbound' }, { limit: 10, offset: 0 });
        assert.deepEqual(
          inbound.items.map((c) => [c.id, c.domain]),
          [['cred_i', 'a.example']],
        );
        assert.equal(inbound.total, 1);
      });
    });

    test('a change that throws leaves neither its credential nor its audit record', async () => {
      await withStore(engine, async (credentials, s) => {
        await assert.rejects(
          credentials.change(async (tx) => {
            await tx.insert(credential('cred_x'));
            await tx.audit(actor, { action: 'credential.create', targetType: 'credential', targetId: 'cred_x' }, 1000);
            throw new Error('refused after the insert');
          }),
          /refused after the insert/,
        );
        assert.equal(await credentials.byId('cred_x'), undefined);
        assert.deepEqual(await auditActions(s), []);
        await credentials.change((tx) => tx.audit(actor, { action: 'credential.create', targetType: 'credential', targetId: 'cred_y' }, 1000));
        assert.deepEqual(await auditActions(s), ['credential.create']);
      });
    });

    test('revoke answers whether it revoked; retirement is set; live inbound credentials exclude the withdrawn, oldest first', async () => {
      await withStore(engine, async (credentials, s) => {
        await addDomain(s, 'dom_a', 'a.example');
        await addDomain(s, 'dom_b', 'b.example');
        const inbound = (id: string, over: Partial<StoredCredential>) => credential(id, { kind: 'inbound', domainId: 'dom_a', domain: 'a.example', ...over });
        await credentials.change(async (tx) => {
          await tx.insert(inbound('cred_new', { createdAt: 3000 }));
          await tx.insert(inbound('cred_old', { createdAt: 1000 }));
          await tx.insert(inbound('cred_revoked', { createdAt: 1500 }));
          await tx.insert(inbound('cred_expired', { createdAt: 1600, expiresAt: 9000 }));
          await tx.insert(inbound('cred_retiring', { createdAt: 2000 }));
          await tx.insert(inbound('cred_other_domain', { domainId: 'dom_b', domain: 'b.example' }));
          await tx.insert(credential('cred_sub'));
        });
        await credentials.change(async (tx) => {
          assert.equal(await tx.revoke('cred_revoked', 8000), true);
          assert.equal(await tx.revoke('cred_revoked', 8500), false);
          assert.equal(await tx.revoke('cred_none', 8500), false);
          await tx.setRetirement('cred_retiring', 20_000, 8000);
        });
        assert.equal((await credentials.byId('cred_revoked'))?.revokedAt, 8000);
        const retiring = await credentials.byId('cred_retiring');
        assert.deepEqual([retiring?.retireAt, retiring?.retirementSetAt], [20_000, 8000]);
        await credentials.change(async (tx) => {
          assert.deepEqual(await tx.liveInbound('dom_a', 10_000), ['cred_old', 'cred_retiring', 'cred_new']);
          assert.deepEqual(await tx.liveInbound('dom_a', 20_000), ['cred_old', 'cred_new']);
        });
      });
    });

    test('certificate credentials: the inbound ones naming a TLS client, whatever their state', async () => {
      await withStore(engine, async (credentials, s) => {
        await addDomain(s, 'dom_a', 'a.example');
        const named = { kind: 'inbound' as const, domainId: 'dom_a', domain: 'a.example', secretHash: '' };
        await credentials.change(async (tx) => {
          await tx.insert(credential('cred_cert', { ...named, tlsClientName: 'mx.a.example' }));
          await tx.insert(credential('cred_cert_revoked', { ...named, tlsClientName: 'mx.a.example', revokedAt: 10 }));
          await tx.insert(credential('cred_sasl', { kind: 'inbound', domainId: 'dom_a', domain: 'a.example' }));
          await tx.insert(credential('cred_sub'));
        });
        const found = await credentials.certificateCredentials();
        assert.deepEqual(found.map((c) => c.id).sort(), ['cred_cert', 'cred_cert_revoked']);
        assert.equal(found.find((c) => c.id === 'cred_cert')?.domain, 'a.example');
      });
    });

    test('recordUsage writes each last use', async () => {
      await withStore(engine, async (credentials) => {
        await credentials.change(async (tx) => {
          await tx.insert(credential('cred_a'));
          await tx.insert(credential('cred_b'));
        });
        await credentials.recordUsage([
          ['cred_a', { at: 7000, ip: '192.0.2.7' }],
          ['cred_b', { at: 8000, ip: '2001:db8::8' }],
        ]);
        const [a, b] = [await credentials.byId('cred_a'), await credentials.byId('cred_b')];
        assert.deepEqual([a?.lastUsedAt, a?.lastUsedIp, b?.lastUsedAt, b?.lastUsedIp], [7000, '192.0.2.7', 8000, '2001:db8::8']);
      });
    });

    test('what places a new credential: its organisation, its domain by name or id, the connector state', async () => {
      await withStore(engine, async (credentials, s) => {
        await addDomain(s, 'dom_a', 'a.example');
        await addDomain(s, 'dom_d', 'd.example', 'draining');
        await credentials.change(async (tx) => {
          assert.equal(await tx.organisationExists(DEFAULT_ORGANISATION_ID), true);
          assert.equal(await tx.organisationExists('org_none'), false);
          const a = { id: 'dom_a', name: 'a.example', organisationId: DEFAULT_ORGANISATION_ID };
          assert.deepEqual(await tx.findDomain(' A.Example. '), a);
          assert.deepEqual(await tx.findDomain('dom_a'), a);
          assert.equal(await tx.findDomain('none.example'), undefined);
          assert.deepEqual(await tx.connectorState('d.example'), { name: 'd.example', connectorState: 'draining' });
          assert.deepEqual(await tx.connectorState('a.example'), { name: 'a.example', connectorState: 'connected' });
          assert.equal(await tx.connectorState('none.example'), undefined);
        });
      });
    });
  });
}
