import type { Db } from '../tables.js';

/** The connections scoped to the domain or to one of its addresses, removed; their ids. */
export async function removeConnectionsOf(db: Db, domain: string): Promise<string[]> {
  const rows = await db
    .deleteFrom('connections')
    .where((eb) => eb.or([eb('scope', '=', domain), eb('scope', 'like', `%@${domain}`)]))
    .returning('id')
    .execute();
  return rows.map((c) => c.id);
}
