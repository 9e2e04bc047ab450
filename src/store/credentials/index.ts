import type { Kysely } from 'kysely';
import type { CredentialChanges, CredentialReads, CredentialStore } from '../../directory/credential-store.js';
import { parseList } from '../../lib/json-list.js';
import { appendAudit } from '../audit/append-audit.js';
import { findConnectorState } from '../domains/find-connector-state.js';
import type { Database, Db } from '../tables.js';
import { transact } from '../transact.js';
import { certificateCredentials } from './certificate-credentials.js';
import { toRow, toStored, withDomainName } from './credential-row.js';
import { findDomain, findOrganisation } from './find-domain.js';
import { listCredentials } from './list-credentials.js';
import { liveInboundCredentials } from './live-inbound-credentials.js';

export { findDomain, findOrganisation } from './find-domain.js';
export { liveInboundCredentials } from './live-inbound-credentials.js';

/** The credentials in the SQL store (table credentials, with their domain's name). */
export function sqlCredentialStore(db: Db): CredentialStore {
  return {
    ...credentialReads(db),
    recordUsage: async (batch) => {
      await transact(db, async (trx) => {
        for (const [id, { at, ip }] of batch) {
          await trx.updateTable('credentials').set({ last_used_at: at, last_used_ip: ip }).where('id', '=', id).execute();
        }
      });
    },
    change: (work) => transact(db, (trx) => work(credentialChanges(trx))),
  };
}

function credentialReads(db: Kysely<Database>): CredentialReads {
  return {
    list: (filter, page) => listCredentials(db, filter, page),
    byId: async (id) => {
      const row = await withDomainName(db.selectFrom('credentials')).where('credentials.id', '=', id).executeTakeFirst();
      return row && toStored(row);
    },
    byUsername: async (username) => {
      const row = await withDomainName(db.selectFrom('credentials')).where('credentials.username', '=', username).executeTakeFirst();
      return row && toStored(row);
    },
    allowedNetworksOf: async (username) => {
      const row = await db.selectFrom('credentials').select('allowed_networks').where('username', '=', username).executeTakeFirst();
      return row && parseList(row.allowed_networks);
    },
    certificateCredentials: () => certificateCredentials(db),
  };
}

function credentialChanges(trx: Kysely<Database>): CredentialChanges {
  return {
    ...credentialReads(trx),
    organisationExists: async (id) => (await findOrganisation(trx, id)) !== undefined,
    findDomain: async (nameOrId) => {
      const row = await findDomain(trx, nameOrId);
      return row && { id: row.id, name: row.name, organisationId: row.organisation_id };
    },
    connectorState: (name) => findConnectorState(trx, name),
    liveInbound: (domainId, nowMs) => liveInboundCredentials(trx, domainId, nowMs),
    insert: async (credential) => {
      await trx.insertInto('credentials').values(toRow(credential)).execute();
    },
    revoke: async (id, at) => {
      const updated = await trx.updateTable('credentials').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(updated.numUpdatedRows) > 0;
    },
    setRetirement: async (id, retireAt, retirementSetAt) => {
      await trx.updateTable('credentials').set({ retire_at: retireAt, retirement_set_at: retirementSetAt }).where('id', '=', id).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
