import type { AdminStore, ConsoleSessionStore } from '../../console/console-store.js';
import type { Db } from '../tables.js';
import { adminChanges, adminReads } from './admins.js';

/** The console's administrator accounts (src/console/admin-accounts.ts). */
export function sqlAdminStore(db: Db): AdminStore {
  return { ...adminReads(db), change: (work) => db.transaction().execute((trx) => work(adminChanges(trx))) };
}

/** The console's sessions (src/console/console-session.ts). */
export function sqlConsoleSessionStore(db: Db): ConsoleSessionStore {
  return {
    async insertSession(s) {
      await db.insertInto('admin_sessions').values({ id_hash: s.idHash, admin_id: s.adminId, created_at: s.createdAt, expires_at: s.expiresAt }).execute();
    },
    async sessionByHash(idHash) {
      const row = await db.selectFrom('admin_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
      return row && { idHash: row.id_hash, adminId: row.admin_id, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
    },
    async extendSession(idHash, expiresAt) {
      await db.updateTable('admin_sessions').set({ expires_at: expiresAt }).where('id_hash', '=', idHash).execute();
    },
    async removeSession(idHash) {
      await db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
    },
  };
}
