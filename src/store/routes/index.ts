import type { RouteChanges, RouteReads, RouteStore } from '../../directory/route-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { transact } from '../transact.js';
import { listRoutes } from './list-routes.js';
import { toRoute } from './route-row.js';
import { routeTable } from './route-table.js';
import { shiftRoutes } from './shift-routes.js';

/** The routes in the SQL store (table routes, and the default action on organisations). */
export function sqlRouteStore(db: Db): RouteStore {
  return { ...routeReads(db), change: (work) => transact(db, (trx) => work(routeChanges(trx))) };
}

function routeReads(db: Db): RouteReads {
  return {
    table: (organisationId) => routeTable(db, organisationId),
    list: (organisationId, page) => listRoutes(db, organisationId, page),
    find: async (organisationId, id) => {
      const row = await db.selectFrom('routes').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
      return row && toRoute(row);
    },
    defaultAction: async (organisationId) => {
      const row = await db.selectFrom('organisations').select('default_route_action').where('id', '=', organisationId).executeTakeFirst();
      return row?.default_route_action;
    },
    organisationOfCredential: async (credentialId) => {
      const row = await db.selectFrom('credentials').select('organisation_id').where('id', '=', credentialId).executeTakeFirst();
      return row?.organisation_id;
    },
    secureRetentionDays: async (organisationId) => {
      const row = await db.selectFrom('organisations').select('secure_retention_days').where('id', '=', organisationId).executeTakeFirst();
      return row === undefined ? undefined : Number(row.secure_retention_days);
    },
  };
}

function routeChanges(trx: Db): RouteChanges {
  return {
    ...routeReads(trx),
    count: async (organisationId) => {
      const result = await trx
        .selectFrom('routes')
        .where('organisation_id', '=', organisationId)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      return Number(result?.n ?? 0);
    },
    findByMatch: async (organisationId, match) => {
      const row = await trx.selectFrom('routes').selectAll().where('organisation_id', '=', organisationId).where('match', '=', match).executeTakeFirst();
      return row && toRoute(row);
    },
    insert: async (organisationId, route) => {
      const { createdAt, ...rest } = route;
      await trx
        .insertInto('routes')
        .values({ ...rest, organisation_id: organisationId, created_at: createdAt })
        .execute();
    },
    update: async (id, fields) => {
      await trx.updateTable('routes').set(fields).where('id', '=', id).execute();
    },
    setPosition: async (id, position) => {
      await trx.updateTable('routes').set({ position }).where('id', '=', id).execute();
    },
    shift: (organisationId, range) => shiftRoutes(trx, organisationId, range),
    remove: async (id) => {
      await trx.deleteFrom('routes').where('id', '=', id).execute();
    },
    setDefaultAction: async (organisationId, action) => {
      await trx.updateTable('organisations').set({ default_route_action: action }).where('id', '=', organisationId).execute();
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
