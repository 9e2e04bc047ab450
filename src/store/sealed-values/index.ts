import type { SealedValueStore } from '../../secure/sealed-columns.js';
import { appendAudit } from '../audit/append-audit.js';
import { recordedKeyEncryptionKey, recordKeyEncryptionKey } from '../shared-keys.js';
import type { Db } from '../tables.js';
import { countByKeyId } from './count-by-key-id.js';
import { replaceSealed } from './replace-sealed.js';
import { sealedBatches } from './sealed-batches.js';

/** The values the key-encryption key seals, across their tables (sealed-tables.ts). */
export function sqlSealedValueStore(db: Db): SealedValueStore {
  return {
    batches: (column, batchSize) => sealedBatches(db, column, batchSize),
    replace: (column, changes) => replaceSealed(db, column, changes),
    countsByKeyId: (columns) => countByKeyId(db, columns),
    recordedKeyEncryptionKey: () => recordedKeyEncryptionKey(db),
    recordKeyEncryptionKey: (keyId, at) => recordKeyEncryptionKey(db, keyId, at),
    audit: (actor, entry, at) => db.transaction().execute((trx) => appendAudit(trx, actor, entry, at)),
  };
}
