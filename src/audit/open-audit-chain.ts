import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey, readKeyFile } from '../lib/key-file.js';
import { auditKeyCheck, KeyMismatch, recordAuditKey, recordedAuditKey } from '../store/shared-keys.js';
import type { Db } from '../store/tables.js';
import { AuditChain } from './audit-chain.js';
import { HEAD_FILE, headFile } from './audit-head.js';
import { appendAudit } from './audit-log.js';
import { CHAIN_KEYED } from './verify-chain.js';

const KEY_FILE = join('keys', 'audit.key');

/**
 * The store's db with the audit chain on it. The key comes from RELAYGATE_AUDIT_KEY or
 * keys/audit.key, made only for a store whose log has never been keyed; a key other than the
 * recorded one, or a missing key file once one was used, stops the start (exit 78): a new
 * key would make every existing record read as forged.
 */
export async function openAuditChain(db: Db, config: Pick<Config, 'auditKey' | 'dataDir'>, now: number): Promise<{ db: Db; chain: AuditChain }> {
  const recorded = await recordedAuditKey(db);
  const key = auditKeyOf(config, recorded !== undefined);
  if (recorded !== undefined && recorded !== auditKeyCheck(key))
    throw new KeyMismatch(
      `the audit key of this instance is not the one this store's audit log is chained with: give every instance the same RELAYGATE_AUDIT_KEY (or restore ${KEY_FILE} from the backup of the data directory)`,
    );
  const chain = new AuditChain(key, headFile(join(config.dataDir, HEAD_FILE)));
  const chained = db.withPlugin(chain);
  chain.attach(chained);
  if (recorded === undefined) await keyTheChain(chained, key, now);
  return { db: chained, chain };
}

function auditKeyOf(config: Pick<Config, 'auditKey' | 'dataDir'>, inUse: boolean): Buffer {
  if (config.auditKey) return Buffer.from(config.auditKey, 'base64');
  const path = join(config.dataDir, KEY_FILE);
  if (!inUse) return loadOrCreateKey(path);
  try {
    return readKeyFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new KeyMismatch(
      `${path} is missing, and this store's audit log is chained with an audit key: restore ${KEY_FILE} from the backup of the data directory, or set RELAYGATE_AUDIT_KEY to the key the other instances use`,
    );
  }
}

/** First start with a key: records its check value and, over records of an older version, says where the keyed chain begins. */
async function keyTheChain(db: Db, key: Buffer, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await recordAuditKey(trx, key, now))) return;
    const last = await trx.selectFrom('audit_log').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!last) return;
    const unkeyedUpTo = Number(last.seq);
    await appendAudit(trx, { name: 'system:relaygate', ip: null }, { action: CHAIN_KEYED, targetType: 'audit', detail: { unkeyedUpTo } }, now);
  });
}
