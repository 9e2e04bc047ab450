import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConnectionStore, StoredConnection } from '../../src/directory/connection-store.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/model/organisation.js';
import { sqlConnectionStore } from '../../src/store/connections/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const org = DEFAULT_ORGANISATION_ID;

function connection(id: string, scope: string, over: Partial<StoredConnection> = {}): StoredConnection {
  return {
    id,
    organisationId: org,
    scopeKind: scope.includes('@') ? 'address' : 'domain',
    scope,
    host: 'smtp.example.net',
    port: 587,
    tlsMode: 'starttls',
    username: null,
    secretSealed: null,
    authKind: null,
    oauth2TokenUrl: null,
    oauth2ClientId: null,
    oauth2Scope: null,
    clientCert: null,
    clientKeySealed: null,
    createdAt: 1000,
    updatedAt: 1000,
    ...over,
  };
}

const withStore = (engine: StoreEngine, work: (connections: ConnectionStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlConnectionStore(s.db), s));

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`connection store on ${engine.name}`, engine.options, () => {
    test('an inserted connection reads back whole; update writes every field but id, organisation and creation', async () => {
      await withStore(engine, async (connections) => {
        const oauth = connection('conn_a', 'a.example', {
          username: 'relay@a.example',
          secretSealed: 'sealed-secret',
          authKind: 'xoauth2',
          oauth2TokenUrl: 'https://login.example/token',
          oauth2ClientId: 'client-1',
          oauth2Scope: 'https://outlook.office365.com/.default',
          clientCert: '-----BEGIN CERTIFICATE-----\n',
          clientKeySealed: 'sealed-key',
        });
        await connections.change((tx) => tx.insert(oauth));
        assert.deepEqual(await connections.find(org, 'conn_a'), oauth);
        assert.equal(await connections.find('org_other', 'conn_a'), undefined);
        assert.equal(await connections.find(org, 'conn_none'), undefined);
        const plain = connection('conn_a', 'b.example', {
          host: '192.0.2.1',
          port: 25,
          tlsMode: 'none',
          createdAt: 5,
          updatedAt: 2000,
          organisationId: 'org_x',
        });
        await connections.change((tx) => tx.update(plain));
        assert.deepEqual(await connections.find(org, 'conn_a'), { ...plain, createdAt: 1000, organisationId: org });
      });
    });

    test('list by scope then id, paged, with the total; all spans organisations; scopeTakenBy skips the given id', async () => {
      await withStore(engine, async (connections, s) => {
        await s.db.insertInto('organisations').values({ id: 'org_two', name: 'Two', default_route_action: 'relay', created_at: 1 }).execute();
        await connections.change(async (tx) => {
          await tx.insert(connection('conn_c', 'c.example'));
          await tx.insert(connection('conn_b', 'app@a.example'));
          await tx.insert(connection('conn_a', 'b.example'));
          await tx.insert(connection('conn_o', 'o.example', { organisationId: 'org_two' }));
          assert.equal(await tx.scopeTakenBy('b.example', 'conn_new'), 'conn_a');
          assert.equal(await tx.scopeTakenBy('b.example', 'conn_a'), undefined);
          assert.equal(await tx.scopeTakenBy('z.example', 'conn_new'), undefined);
        });
        const first = await connections.list(org, { limit: 2, offset: 0 });
        assert.deepEqual(
          first.items.map((c) => c.scope),
          ['app@a.example', 'b.example'],
        );
        assert.equal(first.total, 3);
        assert.deepEqual(
          (await connections.list(org, { limit: 2, offset: 2 })).items.map((c) => c.id),
          ['conn_c'],
        );
        assert.deepEqual((await connections.all()).map((c) => c.id).sort(), ['conn_a', 'conn_b', 'conn_c', 'conn_o']);
      });
    });

    test('a change that throws leaves no connection and no audit record; remove deletes', async () => {
      await withStore(engine, async (connections, s) => {
        await assert.rejects(
          connections.change(async (tx) => {
            await tx.insert(connection('conn_x', 'x.example'));
            await tx.audit(actor, { action: 'connection.create', targetType: 'connection', targetId: 'conn_x' }, 1000);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.deepEqual(await connections.all(), []);
        assert.deepEqual(await auditActions(s), []);
        await connections.change(async (tx) => {
          await tx.insert(connection('conn_y', 'y.example'));
          await tx.audit(actor, { action: 'connection.create', targetType: 'connection', targetId: 'conn_y' }, 1000);
        });
        await connections.change((tx) => tx.remove('conn_y'));
        assert.deepEqual(await connections.all(), []);
        assert.deepEqual(await auditActions(s), ['connection.create']);
      });
    });

    test("a domain's connector state by name", async () => {
      await withStore(engine, async (connections, s) => {
        const domain = { organisation_id: org, status: 'verified' as const, verification_token: 't', created_at: 1, verified_at: 1, verified_by: 'dns' };
        const rest = { last_check_at: null, last_check_result: null, connector_changed_at: null, direct_delivery: 0, direct_delivery_changed_at: null };
        await s.db
          .insertInto('domains')
          .values([
            { id: 'dom_a', name: 'a.example', connector_state: 'connected', ...domain, ...rest },
            { id: 'dom_b', name: 'b.example', connector_state: 'disconnected', ...domain, ...rest },
          ])
          .execute();
        await connections.change(async (tx) => {
          assert.deepEqual(await tx.connectorState('b.example'), { name: 'b.example', connectorState: 'disconnected' });
          assert.deepEqual(await tx.connectorState('a.example'), { name: 'a.example', connectorState: 'connected' });
          assert.equal(await tx.connectorState('none.example'), undefined);
        });
      });
    });
  });
}
