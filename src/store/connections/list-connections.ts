import type { StoredConnection } from '../../directory/connection-store.js';
import type { PageRequest } from '../../directory/context.js';
import type { Db } from '../tables.js';
import { toStored } from './connection-row.js';

/** A page of the organisation's connections by scope (then id), and how many it has. */
export async function listConnections(db: Db, organisationId: string, page: PageRequest): Promise<{ items: StoredConnection[]; total: number }> {
  const base = db.selectFrom('connections').where('organisation_id', '=', organisationId);
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await base.selectAll().orderBy('scope').orderBy('id').limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toStored), total: Number(total?.n ?? 0) };
}
