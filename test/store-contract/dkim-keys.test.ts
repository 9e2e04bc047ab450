import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DkimKeyRecord } from '../../src/dkim/dkim-key-store.js';
import { sqlDkimKeyStore } from '../../src/store/dkim-keys/index.js';
import { insertDomain } from '../support/gateway-process.js';
import { storeEngines } from '../support/store-engines.js';

const ACTOR = { name: 'cli:contract', ip: null };

function key(id: string, domainId: string, selector: string, extra: Partial<DkimKeyRecord> = {}): DkimKeyRecord {
  return {
    id,
    domainId,
    selector,
    algorithm: selector.endsWith('-ed') ? 'ed25519-sha256' : 'rsa-sha256',
    privateSealed: `sealed-${id}`,
    publicRecord: `v=DKIM1; p=${id}`,
    state: 'pending',
    graceMs: null,
    createdAt: 1_000,
    publishedSeenAt: null,
    activatedAt: null,
    retireAt: null,
    retiredAt: null,
    lastCheck: null,
    ...extra,
  };
}

for (const engine of storeEngines()) {
  describe(`DKIM key store on ${engine.name}`, engine.options, () => {
    test('inserted keys read back whole, newest first, each domain its own', async () => {
      const s = await engine.open();
      try {
        const keys = sqlDkimKeyStore(s.db);
        const a = await insertDomain(s.db, 'a.example');
        const b = await insertDomain(s.db, 'b.example');
        assert.deepEqual(await keys.findDomain('a.example'), { id: a, name: 'a.example' });
        assert.equal(await keys.findDomain('A.example'), undefined, 'the store matches exactly; the service lower-cases');
        const old = key('k1', a, 'rg202601a-rsa', { state: 'retiring', graceMs: 3_600_000, retireAt: 9_000, activatedAt: 2_000 });
        await keys.change(async (tx) => {
          await tx.insert([old, key('k2', a, 'rg202601a-ed', { state: 'active' })]);
          await tx.insert([key('k3', a, 'rg202602a-rsa', { createdAt: 5_000 }), key('k4', a, 'rg202602a-ed', { createdAt: 5_000 })]);
          await tx.insert([key('k5', b, 'rg202601a-rsa')]);
        });
        const listed = await keys.keysOf(a);
        assert.deepEqual(
          listed.map((k) => k.selector),
          ['rg202602a-rsa', 'rg202602a-ed', 'rg202601a-rsa', 'rg202601a-ed'],
        );
        assert.deepEqual(
          listed.find((k) => k.id === 'k1'),
          old,
        );
        assert.deepEqual(
          (await keys.keysOf(b)).map((k) => k.id),
          ['k5'],
        );
      } finally {
        await s.dispose();
      }
    });

    test('an update sets only what it names; a last check reads back with its time', async () => {
      const s = await engine.open();
      try {
        const keys = sqlDkimKeyStore(s.db);
        const a = await insertDomain(s.db, 'a.example');
        await keys.change((tx) => tx.insert([key('k1', a, 'rg202601a-rsa', { graceMs: 60_000 })]));
        const check = { outcome: 'published' as const, detail: 'found', found: ['v=DKIM1; p=k1'] };
        await keys.change((tx) => tx.update('k1', { state: 'active', activatedAt: 7_000, publishedSeenAt: 7_000, lastCheck: { at: 7_000, ...check } }));
        const [read] = await keys.keysOf(a);
        assert.deepEqual(
          read,
          key('k1', a, 'rg202601a-rsa', { graceMs: 60_000, state: 'active', activatedAt: 7_000, publishedSeenAt: 7_000, lastCheck: { at: 7_000, ...check } }),
        );
        await keys.change((tx) => tx.update('k1', { state: 'retired', retiredAt: 8_000 }));
        const [retired] = await keys.keysOf(a);
        assert.equal(retired?.state, 'retired');
        assert.equal(retired?.retiredAt, 8_000);
        assert.deepEqual(retired?.lastCheck, { at: 7_000, ...check }, 'kept');
      } finally {
        await s.dispose();
      }
    });

    test('domains to check are those with a pending or retiring key, once each', async () => {
      const s = await engine.open();
      try {
        const keys = sqlDkimKeyStore(s.db);
        const a = await insertDomain(s.db, 'a.example');
        const b = await insertDomain(s.db, 'b.example');
        const c = await insertDomain(s.db, 'c.example');
        await keys.change((tx) =>
          tx.insert([
            key('k1', a, 'rg1a-rsa'),
            key('k2', a, 'rg1a-ed'),
            key('k3', b, 'rg1a-rsa', { state: 'retiring' }),
            key('k4', c, 'rg1a-rsa', { state: 'active' }),
            key('k5', c, 'rg1a-ed', { state: 'retired' }),
          ]),
        );
        assert.deepEqual((await keys.domainsToCheck()).sort(), ['a.example', 'b.example']);
      } finally {
        await s.dispose();
      }
    });

    test('active keys sign, RSA first; published keys are all but the retired, newest first', async () => {
      const s = await engine.open();
      try {
        const keys = sqlDkimKeyStore(s.db);
        const a = await insertDomain(s.db, 'a.example');
        const b = await insertDomain(s.db, 'b.example');
        await keys.change((tx) =>
          tx.insert([
            key('k1', a, 'rg1a-ed', { state: 'active' }),
            key('k2', a, 'rg1a-rsa', { state: 'active' }),
            key('k3', a, 'rg0a-rsa', { state: 'retired', createdAt: 500 }),
            key('k4', a, 'rg2a-rsa', { state: 'pending', createdAt: 2_000 }),
            key('k5', a, 'rg0b-rsa', { state: 'retiring', createdAt: 600 }),
            key('k6', b, 'rg1a-rsa', { state: 'active' }),
          ]),
        );
        assert.deepEqual(await keys.activeKeys('a.example'), [
          { id: 'k2', domain: 'a.example', selector: 'rg1a-rsa', algorithm: 'rsa-sha256', privateSealed: 'sealed-k2' },
          { id: 'k1', domain: 'a.example', selector: 'rg1a-ed', algorithm: 'ed25519-sha256', privateSealed: 'sealed-k1' },
        ]);
        assert.deepEqual(await keys.activeKeys('nowhere.example'), []);
        assert.deepEqual(
          (await keys.publishedKeys('a.example')).map((k) => `${k.domain} ${k.selector} ${k.state} ${k.publicRecord}`),
          [
            'a.example rg2a-rsa pending v=DKIM1; p=k4',
            'a.example rg1a-rsa active v=DKIM1; p=k2',
            'a.example rg1a-ed active v=DKIM1; p=k1',
            'a.example rg0b-rsa retiring v=DKIM1; p=k5',
          ],
        );
      } finally {
        await s.dispose();
      }
    });

    test('a change that throws leaves no key, no update and no audit record', async () => {
      const s = await engine.open();
      try {
        const keys = sqlDkimKeyStore(s.db);
        const a = await insertDomain(s.db, 'a.example');
        await keys.change((tx) => tx.insert([key('k1', a, 'rg1a-rsa')]));
        const auditBefore = await s.db.selectFrom('audit_log').select('seq').execute();
        await assert.rejects(
          keys.change(async (tx) => {
            await tx.insert([key('k2', a, 'rg1b-rsa')]);
            await tx.update('k1', { state: 'retired', retiredAt: 2_000 });
            await tx.audit(ACTOR, { action: 'dkim.rotate', targetType: 'domain', targetId: 'a.example' }, 2_000);
            assert.deepEqual(
              (await tx.keysOf(a)).map((k) => `${k.id} ${k.state}`),
              ['k2 pending', 'k1 retired'],
              'the transaction sees its own changes',
            );
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(
          (await keys.keysOf(a)).map((k) => `${k.id} ${k.state}`),
          ['k1 pending'],
        );
        assert.deepEqual(await s.db.selectFrom('audit_log').select('seq').execute(), auditBefore);
        await keys.change((tx) => tx.audit(ACTOR, { action: 'dkim.generate', targetType: 'domain', targetId: 'a.example' }, 3_000));
        const audited = await s.db.selectFrom('audit_log').select(['action', 'actor']).execute();
        assert.deepEqual(audited.slice(auditBefore.length), [{ action: 'dkim.generate', actor: 'cli:contract' }]);
      } finally {
        await s.dispose();
      }
    });
  });
}
