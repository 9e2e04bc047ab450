import type { AdminChanges, AdminReads, AdminRecord } from '../../console/console-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { AdminsTable, Db } from '../tables.js';

export function adminReads(db: Db): AdminReads {
  return {
    async adminByEmail(email) {
      const row = await db.selectFrom('admins').selectAll().where('email', '=', email).executeTakeFirst();
      return row && toRecord(row);
    },
    async adminById(id) {
      const row = await db.selectFrom('admins').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },
    async listAdmins() {
      return (await db.selectFrom('admins').selectAll().orderBy('email').execute()).map(toRecord);
    },
  };
}

/** The statements of one transaction (`trx`): see AdminStore.change. */
export function adminChanges(trx: Db): AdminChanges {
  return {
    ...adminReads(trx),
    async insertAdmin(admin) {
      await trx.insertInto('admins').values(toRow(admin)).execute();
    },
    async lockAdmin(id, until) {
      await trx.updateTable('admins').set({ locked_until: until }).where('id', '=', id).execute();
    },
    async recordSignIn(id, at, ip) {
      await trx.updateTable('admins').set({ last_sign_in_at: at, last_sign_in_ip: ip }).where('id', '=', id).execute();
    },
    async changePassword(id, passwordHash) {
      await trx.updateTable('admins').set({ password_hash: passwordHash, must_change_password: 0 }).where('id', '=', id).execute();
    },
    async resetPassword(id, passwordHash) {
      await trx
        .updateTable('admins')
        .set({ password_hash: passwordHash, must_change_password: 1, failed_attempts: 0, locked_until: null })
        .where('id', '=', id)
        .execute();
    },
    async disableAdmin(id, at) {
      await trx.updateTable('admins').set({ disabled_at: at }).where('id', '=', id).execute();
    },
    async endSessionsOf(adminId) {
      await trx.deleteFrom('admin_sessions').where('admin_id', '=', adminId).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

function toRow(admin: AdminRecord): AdminsTable {
  return {
    id: admin.id,
    email: admin.email,
    password_hash: admin.passwordHash,
    must_change_password: admin.mustChangePassword ? 1 : 0,
    created_at: admin.createdAt,
    last_sign_in_at: admin.lastSignInAt,
    last_sign_in_ip: admin.lastSignInIp,
    failed_attempts: 0,
    locked_until: admin.lockedUntil,
    disabled_at: admin.disabledAt,
  };
}

function toRecord(row: AdminsTable): AdminRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    mustChangePassword: row.must_change_password === 1,
    createdAt: Number(row.created_at),
    lastSignInAt: row.last_sign_in_at === null ? null : Number(row.last_sign_in_at),
    lastSignInIp: row.last_sign_in_ip,
    lockedUntil: row.locked_until === null ? null : Number(row.locked_until),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  };
}
