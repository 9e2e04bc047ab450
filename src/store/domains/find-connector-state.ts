import type { ConnectorState } from '../../model/states.js';
import type { Db } from '../tables.js';

/** A domain's connector state by its lowercase name. */
export async function findConnectorState(db: Db, name: string): Promise<{ name: string; connectorState: ConnectorState } | undefined> {
  const row = await db.selectFrom('domains').select(['name', 'connector_state']).where('name', '=', name).executeTakeFirst();
  return row && { name: row.name, connectorState: row.connector_state };
}
