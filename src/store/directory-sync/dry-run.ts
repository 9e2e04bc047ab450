import { sql } from 'kysely';
import type { AuditHead } from '../../audit/audit-head.js';
import type { DryRun } from '../../directory/directory-sync-store.js';
import { sqlAddressStore } from '../addresses/index.js';
import { forgetRolledBack } from '../audit/append-audit.js';
import type { Db } from '../tables.js';

class RolledBack extends Error {}

/**
 * A pull's dry run: every change inside one transaction, each behind a savepoint, and all of it
 * rolled back, so that it reports exactly what the real run would refuse.
 */
export async function dryRun(db: Db, work: (run: DryRun) => Promise<void>): Promise<void> {
  let appended: AuditHead[] = [];
  await db
    .transaction()
    .execute(async (trx) => {
      const last = await trx
        .selectFrom('audit_log')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      // The sync engine sees the transaction and works inside it (address-sync.ts).
      await work({
        addresses: sqlAddressStore(trx),
        async attempt(step) {
          await sql`savepoint relaygate_pull`.execute(trx);
          const kept = await step();
          if (kept) await sql`release savepoint relaygate_pull`.execute(trx);
          else {
            await sql`rollback to savepoint relaygate_pull`.execute(trx);
            await sql`release savepoint relaygate_pull`.execute(trx);
          }
          return kept;
        },
      });
      appended = await trx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('seq', '>', Number(last?.seq ?? 0))
        .execute();
      throw new RolledBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RolledBack)) throw err;
    });
  forgetRolledBack(db, appended);
}
