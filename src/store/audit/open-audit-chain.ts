import type { AuditKeying } from '../../audit/audit-store.js';
import { CHAIN_KEYED } from '../../model/audit-chain.js';
import { recordAuditKey, recordedAuditKey } from '../shared-keys.js';
import type { Db } from '../tables.js';
import { appendAudit } from './append-audit.js';
import { AuditChain } from './audit-chain.js';

/**
 * The store's db with the audit chain on it. `keyingFor` chooses the key from the check
 * value the store keeps of the one its log is chained with (undefined: never keyed), and
 * refuses a key that does not fit (src/audit/audit-keying.ts).
 */
export async function openAuditChain(
  db: Db,
  keyingFor: (recordedCheck: string | undefined) => AuditKeying,
  now: number,
): Promise<{ db: Db; chain: AuditChain }> {
  const recorded = await recordedAuditKey(db);
  const chain = new AuditChain(keyingFor(recorded));
  const chained = db.withPlugin(chain);
  chain.attach(chained);
  if (recorded === undefined) await keyTheChain(chained, chain.key.check(), now);
  return { db: chained, chain };
}

/** First start with a key: records its check value and, over records of an older version, says where the keyed chain begins. */
async function keyTheChain(db: Db, check: string, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await recordAuditKey(trx, check, now))) return;
    const last = await trx.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!last) return;
    const unkeyedUpTo = Number(last.seq);
    await appendAudit(trx, { name: 'system:relaygate', ip: null }, { action: CHAIN_KEYED, targetType: 'audit', detail: { unkeyedUpTo } }, now);
  });
}
