import type { StoredSyncSource, SyncSourceChanges } from '../../directory/directory-sync-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Database, Db } from '../tables.js';

type Row = Database['directory_sync_sources'];

export async function findSource(db: Db, organisationId: string): Promise<StoredSyncSource | undefined> {
  const row = await db
    .selectFrom('directory_sync_sources')
    .selectAll()
    .where('organisation_id', '=', organisationId)
    .where('kind', '=', 'ldap')
    .executeTakeFirst();
  return row && toStoredSource(row);
}

export function sourceChanges(trx: Db): SyncSourceChanges {
  return {
    findSource: (organisationId) => findSource(trx, organisationId),
    replaceSource: async (source) => {
      await trx.deleteFrom('directory_sync_sources').where('id', '=', source.id).execute();
      await trx.insertInto('directory_sync_sources').values(toRow(source)).execute();
    },
    removeSource: async (organisationId) => {
      const gone = await trx
        .deleteFrom('directory_sync_sources')
        .where('organisation_id', '=', organisationId)
        .where('kind', '=', 'ldap')
        .returning('id')
        .executeTakeFirst();
      return gone?.id;
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

function toStoredSource(row: Row): StoredSyncSource {
  return {
    id: row.id,
    organisationId: row.organisation_id,
    kind: row.kind,
    url: row.url,
    baseDn: row.base_dn,
    filter: row.filter,
    bindDn: row.bind_dn,
    bindPasswordSealed: row.bind_password_sealed,
    caCert: row.ca_cert,
    clientCert: row.client_cert,
    clientKeySealed: row.client_key_sealed,
    mappingJson: row.mapping,
    intervalMs: Number(row.interval_ms),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastRunAt: row.last_run_at === null ? null : Number(row.last_run_at),
    lastStatus: row.last_status,
    lastResultJson: row.last_result,
    lastError: row.last_error,
  };
}

function toRow(source: StoredSyncSource): Row {
  return {
    id: source.id,
    organisation_id: source.organisationId,
    kind: source.kind,
    url: source.url,
    base_dn: source.baseDn,
    filter: source.filter,
    bind_dn: source.bindDn,
    bind_password_sealed: source.bindPasswordSealed,
    ca_cert: source.caCert,
    client_cert: source.clientCert,
    client_key_sealed: source.clientKeySealed,
    mapping: source.mappingJson,
    interval_ms: source.intervalMs,
    created_at: source.createdAt,
    updated_at: source.updatedAt,
    last_run_at: source.lastRunAt,
    last_status: source.lastStatus,
    last_result: source.lastResultJson,
    last_error: source.lastError,
  };
}
