import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ApiTokenStore, StoredApiToken } from '../../src/directory/api-token-store.js';
import { sqlApiTokenStore } from '../../src/store/api-tokens/index.js';
import { type ContractStore, onFreshStore, type StoreEngine, storeEngines } from '../support/store-engines.js';

const actor = { name: 'contract', ip: null };
const token = (id: string, over: Partial<StoredApiToken> = {}): StoredApiToken => ({
  id,
  description: `token ${id}`,
  createdAt: 1000,
  lastUsedAt: null,
  lastUsedIp: null,
  revokedAt: null,
  scope: 'admin',
  tokenHash: `hash-${id}`,
  ...over,
});

const withStore = (engine: StoreEngine, work: (tokens: ApiTokenStore, s: ContractStore) => Promise<void>) =>
  onFreshStore(engine, (s) => work(sqlApiTokenStore(s.db), s));

const auditActions = async (s: ContractStore) => (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);

for (const engine of storeEngines()) {
  describe(`API token store on ${engine.name}`, engine.options, () => {
    test('an inserted token reads back by id and by hash; a use is recorded', async () => {
      await withStore(engine, async (tokens) => {
        const scim = token('tok_a', { scope: 'scim' });
        await tokens.change((tx) => tx.insert(scim));
        assert.deepEqual(await tokens.byId('tok_a'), scim);
        assert.deepEqual(await tokens.byHash('hash-tok_a'), scim);
        assert.equal(await tokens.byHash('hash-none'), undefined);
        await tokens.recordUse('tok_a', 5000, '192.0.2.5');
        assert.deepEqual(await tokens.byId('tok_a'), { ...scim, lastUsedAt: 5000, lastUsedIp: '192.0.2.5' });
      });
    });

    test('list in creation order then id, paged, with the total', async () => {
      await withStore(engine, async (tokens) => {
        await tokens.change(async (tx) => {
          await tx.insert(token('tok_c', { createdAt: 3000 }));
          await tx.insert(token('tok_b', { createdAt: 1000 }));
          await tx.insert(token('tok_a', { createdAt: 1000 }));
        });
        const first = await tokens.list({ limit: 2, offset: 0 });
        assert.deepEqual(
          first.items.map((t) => t.id),
          ['tok_a', 'tok_b'],
        );
        assert.equal(first.total, 3);
        assert.deepEqual(
          (await tokens.list({ limit: 2, offset: 2 })).items.map((t) => t.id),
          ['tok_c'],
        );
      });
    });

    test('revoke answers the revoked token once; a change that throws rolls back the revocation and its audit record', async () => {
      await withStore(engine, async (tokens, s) => {
        await tokens.change((tx) => tx.insert(token('tok_a')));
        await assert.rejects(
          tokens.change(async (tx) => {
            assert.equal((await tx.revoke('tok_a', 2000))?.revokedAt, 2000);
            await tx.audit(actor, { action: 'token.revoke', targetType: 'token', targetId: 'tok_a' }, 2000);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.equal((await tokens.byId('tok_a'))?.revokedAt, null);
        assert.deepEqual(await auditActions(s), []);
        await tokens.change(async (tx) => {
          assert.deepEqual(await tx.revoke('tok_a', 3000), token('tok_a', { revokedAt: 3000 }));
          assert.equal(await tx.revoke('tok_a', 4000), undefined);
          assert.equal(await tx.revoke('tok_none', 4000), undefined);
        });
        assert.equal((await tokens.byId('tok_a'))?.revokedAt, 3000);
      });
    });
  });
}
