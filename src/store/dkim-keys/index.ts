import type { DkimKeyChanges, DkimKeyReads, DkimKeyStore } from '../../dkim/dkim-key-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { activeKeys } from './active-keys.js';
import { domainsToCheck } from './domains-to-check.js';
import { columnsOfUpdate, keyOfRow, rowOfKey } from './key-row.js';
import { publishedKeys } from './published-keys.js';

function dkimKeyReads(db: Db): DkimKeyReads {
  return {
    findDomain: (name) => db.selectFrom('domains').select(['id', 'name']).where('name', '=', name).executeTakeFirst(),
    keysOf: async (domainId) =>
      (await db.selectFrom('dkim_keys').selectAll().where('domain_id', '=', domainId).orderBy('created_at', 'desc').orderBy('selector', 'desc').execute()).map(
        keyOfRow,
      ),
  };
}

function dkimKeyChanges(trx: Db): DkimKeyChanges {
  return {
    ...dkimKeyReads(trx),
    insert: async (keys) => {
      if (keys.length > 0) await trx.insertInto('dkim_keys').values(keys.map(rowOfKey)).execute();
    },
    update: async (id, changes) => {
      await trx.updateTable('dkim_keys').set(columnsOfUpdate(changes)).where('id', '=', id).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

/** The DKIM keys of the claimed domains (src/dkim/dkim-key-store.ts). */
export function sqlDkimKeyStore(db: Db): DkimKeyStore {
  return {
    ...dkimKeyReads(db),
    domainsToCheck: () => domainsToCheck(db),
    activeKeys: (domainName) => activeKeys(db, domainName),
    publishedKeys: (domainName) => publishedKeys(db, domainName),
    change: (work) => db.transaction().execute((trx) => work(dkimKeyChanges(trx))),
  };
}
