import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadOrCreateKey, readKeyFile } from '../lib/key-file.js';
import { KeyMismatch } from '../model/key-mismatch.js';
import { HEAD_FILE, headFile } from './audit-head.js';
import { AuditKey } from './audit-key.js';
import type { AuditKeying } from './audit-store.js';

const KEY_FILE = join('keys', 'audit.key');

/**
 * The key the store's audit chain carries (src/store/audit/open-audit-chain.ts), given the
 * check value the store keeps of the key its log is chained with. The key comes from
 * RELAYGATE_AUDIT_KEY or keys/audit.key, made only for a store whose log has never been
 * keyed; a key other than the recorded one, or a missing key file once one was used, stops
 * the start (exit 78): a new key would make every existing record read as forged.
 */
export function auditKeying(config: Pick<Config, 'auditKey' | 'dataDir'>, recordedCheck: string | undefined): AuditKeying {
  const key = new AuditKey(auditKeyOf(config, recordedCheck !== undefined));
  if (recordedCheck !== undefined && recordedCheck !== key.check())
    throw new KeyMismatch(
      `the audit key of this instance is not the one this store's audit log is chained with: give every instance the same RELAYGATE_AUDIT_KEY (or restore ${KEY_FILE} from the backup of the data directory)`,
    );
  return { key, headFile: headFile(join(config.dataDir, HEAD_FILE)) };
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
