import type { RouteTable } from '../../directory/routes.js';
import type { Db } from '../tables.js';
import { toRoute } from './route-row.js';

/** The rules of an organisation in order, with its default: what routePolicy decides with at MAIL FROM. */
export async function routeTable(db: Db, organisationId: string): Promise<RouteTable> {
  const rows = await db.selectFrom('routes').selectAll().where('organisation_id', '=', organisationId).orderBy('position').execute();
  const organisation = await db.selectFrom('organisations').select('default_route_action').where('id', '=', organisationId).executeTakeFirst();
  return { rules: rows.map(toRoute), defaultAction: organisation?.default_route_action ?? 'relay' };
}
