import type { ConnectorChanges, ConnectorReads, ConnectorStore, ConnectorWrites } from '../../connector/connector-store.js';
import { appendAudit } from '../audit/append-audit.js';
import { liveInboundCredentials } from '../credentials/live-inbound-credentials.js';
import type { Db } from '../tables.js';
import { transact } from '../transact.js';
import { checkedDomains, findConnectorDomain, verificationAddress } from './connector-domains.js';
import { removeConnectionsOf } from './disconnect.js';
import { checksOf, failPending, finishCheck, toRecord, toRow, verifiedSince } from './leg-checks.js';
import { queuedForDomain } from './queued-for-domain.js';

/** The connector's leg checks and the domain state they prove (src/connector/connector.ts). */
export function sqlConnectorStore(db: Db): ConnectorStore {
  return { ...connectorWrites(db), change: (work) => transact(db, (trx) => work(connectorChanges(trx))) };
}

function connectorReads(db: Db): ConnectorReads {
  return {
    domain: (nameOrId) => findConnectorDomain(db, nameOrId),
    async domainName(id) {
      return (await db.selectFrom('domains').select('name').where('id', '=', id).executeTakeFirst())?.name;
    },
    verificationAddress: (domainId) => verificationAddress(db, domainId),
    liveInboundCredentials: (domainId, now) => liveInboundCredentials(db, domainId, now),
    async credential(id) {
      const row = await db.selectFrom('credentials').select(['kind', 'domain_id']).where('id', '=', id).executeTakeFirst();
      return row && { kind: row.kind, domainId: row.domain_id };
    },
    queuedFor: (domain) => queuedForDomain(db, domain),
    async sentStatus(queueId) {
      const row = await db.selectFrom('recipients').select(['status', 'last_reply']).where('message_id', '=', queueId).executeTakeFirst();
      return row && { status: row.status, lastReply: row.last_reply };
    },
    async checkByTokenHash(tokenHash) {
      const row = await db.selectFrom('leg_checks').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && toRecord(row);
    },
    checks: (domainId, options) => checksOf(db, domainId, options),
    verifiedSince: (domainId, leg, since) => verifiedSince(db, domainId, leg, since),
    async pendingChecks() {
      return (await db.selectFrom('leg_checks').selectAll().where('status', '=', 'pending').execute()).map(toRecord);
    },
    drainingDomains: () => db.selectFrom('domains').select(['id', 'name']).where('connector_state', '=', 'draining').execute(),
    checkedDomains: () => checkedDomains(db),
  };
}

function connectorWrites(db: Db): ConnectorWrites {
  return {
    ...connectorReads(db),
    async insertCheck(check) {
      await db.insertInto('leg_checks').values(toRow(check)).execute();
    },
    finishCheck: (id, status, reason, at) => finishCheck(db, id, status, reason, at),
    failPending: (domainId, reason, at) => failPending(db, domainId, reason, at),
  };
}

/** The statements of one transaction (`db` is it): see ConnectorStore.change. */
function connectorChanges(db: Db): ConnectorChanges {
  return {
    ...connectorWrites(db),
    async setConnectorState(domainId, state, at) {
      await db.updateTable('domains').set({ connector_state: state, connector_changed_at: at }).where('id', '=', domainId).execute();
    },
    async reconnect(domainId, at) {
      const updated = await db
        .updateTable('domains')
        .set({ connector_state: 'connected', connector_changed_at: at })
        .where('id', '=', domainId)
        .where('connector_state', '=', 'disconnected')
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) > 0;
    },
    async revokeCredentials(ids, at) {
      if (ids.length > 0) await db.updateTable('credentials').set({ revoked_at: at }).where('id', 'in', ids).execute();
    },
    removeConnectionsOf: (domain) => removeConnectionsOf(db, domain),
    audit: (actor, entry, at) => appendAudit(db, actor, entry, at),
  };
}
