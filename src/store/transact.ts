import type { Transaction } from 'kysely';
import type { AuditHead } from '../audit/audit-head.js';
import { auditChainOf } from './audit/audit-chain.js';
import type { Database, Db } from './tables.js';

const appendedIn = new WeakMap<Transaction<Database>, AuditHead[]>();

/** appendAudit's note of a record appended inside `trx`, for transact to forget if it rolls back. */
export function noteAppended(trx: Transaction<Database>, head: AuditHead): void {
  appendedIn.set(trx, [...(appendedIn.get(trx) ?? []), head]);
}

/**
 * Runs `work` in one transaction of `db`, as `db.transaction().execute(work)`. When it rolls
 * back, the audit records appended in it are forgotten at once: the chain would otherwise wait
 * CONFIRM_GIVE_UP_MS (30 s) for them before anchoring the head or letting the store close.
 */
export async function transact<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  let opened: Transaction<Database> | undefined;
  try {
    return await db.transaction().execute((trx) => {
      opened = trx;
      return work(trx);
    });
  } catch (err) {
    const heads = opened && appendedIn.get(opened);
    if (heads) auditChainOf(db).rolledBack(heads);
    throw err;
  }
}
