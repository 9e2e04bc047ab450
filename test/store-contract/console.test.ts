import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AdminRecord } from '../../src/console/console-store.js';
import { sqlAdminStore, sqlConsoleSessionStore } from '../../src/store/console/index.js';
import { type ContractStore, onFreshStore, storeEngines } from '../support/store-engines.js';

const ACTOR = { name: 'cli:contract', ip: null };

function admin(email: string, over: Partial<AdminRecord> = {}): AdminRecord {
  return {
    id: `adm_${email.split('@')[0]}`,
    email,
    passwordHash: `$argon2id$${email}`,
    mustChangePassword: true,
    createdAt: 1_000,
    lastSignInAt: null,
    lastSignInIp: null,
    lockedUntil: null,
    disabledAt: null,
    ...over,
  };
}

async function auditActions(s: ContractStore): Promise<string[]> {
  return (await s.db.selectFrom('audit_log').select('action').orderBy('seq').execute()).map((r) => r.action);
}

const withStore = onFreshStore;

for (const engine of storeEngines()) {
  describe(`console store on ${engine.name}`, engine.options, () => {
    test('an inserted account is found by email and id, listed by email, with its audit record', () =>
      withStore(engine, async (s) => {
        const admins = sqlAdminStore(s.db);
        await admins.change(async (tx) => {
          await tx.insertAdmin(admin('zoe@example.com'));
          await tx.insertAdmin(admin('amy@example.com', { mustChangePassword: false }));
          await tx.audit(ACTOR, { action: 'admin.create', targetType: 'admin', targetId: 'zoe@example.com' }, 1_000);
        });
        assert.deepEqual(await admins.adminByEmail('zoe@example.com'), admin('zoe@example.com'));
        assert.deepEqual(await admins.adminById('adm_amy'), admin('amy@example.com', { mustChangePassword: false }));
        assert.equal(await admins.adminByEmail('nobody@example.com'), undefined);
        assert.deepEqual(
          (await admins.listAdmins()).map((a) => a.email),
          ['amy@example.com', 'zoe@example.com'],
        );
        assert.deepEqual(await auditActions(s), ['admin.create']);
      }));

    test('a change that throws leaves neither its rows nor its audit record', () =>
      withStore(engine, async (s) => {
        const admins = sqlAdminStore(s.db);
        await assert.rejects(
          admins.change(async (tx) => {
            await tx.insertAdmin(admin('ops@example.com'));
            await tx.audit(ACTOR, { action: 'admin.create', targetType: 'admin' }, 1_000);
            throw new Error('refused');
          }),
          /refused/,
        );
        assert.deepEqual(await admins.listAdmins(), []);
        assert.deepEqual(await auditActions(s), []);
      }));

    test('an email taken twice is refused', () =>
      withStore(engine, async (s) => {
        const admins = sqlAdminStore(s.db);
        await admins.change((tx) => tx.insertAdmin(admin('ops@example.com')));
        await assert.rejects(admins.change((tx) => tx.insertAdmin(admin('ops@example.com', { id: 'adm_other' }))));
        assert.equal((await admins.listAdmins()).length, 1);
      }));

    test('lock, sign-in, password change, reset and disable change what they name', () =>
      withStore(engine, async (s) => {
        const admins = sqlAdminStore(s.db);
        const sessions = sqlConsoleSessionStore(s.db);
        await admins.change((tx) => tx.insertAdmin(admin('ops@example.com')));
        await admins.change((tx) => tx.lockAdmin('adm_ops', 5_000));
        await admins.change((tx) => tx.recordSignIn('adm_ops', 2_000, '192.0.2.1'));
        assert.deepEqual(await admins.adminById('adm_ops'), admin('ops@example.com', { lockedUntil: 5_000, lastSignInAt: 2_000, lastSignInIp: '192.0.2.1' }));
        await admins.change((tx) => tx.changePassword('adm_ops', '$argon2id$new'));
        assert.deepEqual(
          await admins.adminById('adm_ops'),
          admin('ops@example.com', {
            passwordHash: '$argon2id$new',
            mustChangePassword: false,
            lockedUntil: 5_000,
            lastSignInAt: 2_000,
            lastSignInIp: '192.0.2.1',
          }),
        );
        await admins.change((tx) => tx.resetPassword('adm_ops', '$argon2id$reset'));
        const reset = await admins.adminById('adm_ops');
        assert.equal(reset?.passwordHash, '$argon2id$reset');
        assert.equal(reset?.mustChangePassword, true);
        assert.equal(reset?.lockedUntil, null, 'a reset unlocks');

        await sessions.insertSession({ idHash: 'h1', adminId: 'adm_ops', createdAt: 1, expiresAt: 10 });
        await sessions.insertSession({ idHash: 'h2', adminId: 'adm_ops', createdAt: 1, expiresAt: 10 });
        await admins.change(async (tx) => {
          await tx.disableAdmin('adm_ops', 3_000);
          await tx.endSessionsOf('adm_ops');
        });
        assert.equal((await admins.adminById('adm_ops'))?.disabledAt, 3_000);
        assert.equal(await sessions.sessionByHash('h1'), undefined);
        assert.equal(await sessions.sessionByHash('h2'), undefined);
      }));

    test('a session is found by its hash, extended and removed', () =>
      withStore(engine, async (s) => {
        const admins = sqlAdminStore(s.db);
        const sessions = sqlConsoleSessionStore(s.db);
        await admins.change((tx) => tx.insertAdmin(admin('ops@example.com')));
        await sessions.insertSession({ idHash: 'h1', adminId: 'adm_ops', createdAt: 100, expiresAt: 200 });
        await sessions.insertSession({ idHash: 'h2', adminId: 'adm_ops', createdAt: 100, expiresAt: 200 });
        assert.deepEqual(await sessions.sessionByHash('h1'), { idHash: 'h1', adminId: 'adm_ops', createdAt: 100, expiresAt: 200 });
        await sessions.extendSession('h1', 900);
        assert.equal((await sessions.sessionByHash('h1'))?.expiresAt, 900);
        assert.equal((await sessions.sessionByHash('h2'))?.expiresAt, 200, 'only the session named');
        await sessions.removeSession('h1');
        assert.equal(await sessions.sessionByHash('h1'), undefined);
        assert.ok(await sessions.sessionByHash('h2'));
      }));
  });
}
