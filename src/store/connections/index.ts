import type { ConnectionChanges, ConnectionReads, ConnectionStore } from '../../directory/connection-store.js';
import { appendAudit } from '../audit/append-audit.js';
import { findConnectorState } from '../domains/find-connector-state.js';
import type { Db } from '../tables.js';
import { transact } from '../transact.js';
import { changedColumns, toStored } from './connection-row.js';
import { listConnections } from './list-connections.js';

/** The outbound connections in the SQL store (table connections). */
export function sqlConnectionStore(db: Db): ConnectionStore {
  return { ...connectionReads(db), change: (work) => transact(db, (trx) => work(connectionChanges(trx))) };
}

function connectionReads(db: Db): ConnectionReads {
  return {
    list: (organisationId, page) => listConnections(db, organisationId, page),
    find: async (organisationId, id) => {
      const row = await db.selectFrom('connections').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
      return row && toStored(row);
    },
    all: async () => (await db.selectFrom('connections').selectAll().execute()).map(toStored),
  };
}

function connectionChanges(trx: Db): ConnectionChanges {
  return {
    ...connectionReads(trx),
    scopeTakenBy: async (scope, exceptId) => {
      const taken = await trx.selectFrom('connections').select('id').where('scope', '=', scope).where('id', '!=', exceptId).executeTakeFirst();
      return taken?.id;
    },
    connectorState: (name) => findConnectorState(trx, name),
    insert: async (connection) => {
      await trx
        .insertInto('connections')
        .values({ id: connection.id, organisation_id: connection.organisationId, created_at: connection.createdAt, ...changedColumns(connection) })
        .execute();
    },
    update: async (connection) => {
      await trx.updateTable('connections').set(changedColumns(connection)).where('id', '=', connection.id).execute();
    },
    remove: async (id) => {
      await trx.deleteFrom('connections').where('id', '=', id).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
