import type { Kysely } from 'kysely';
import type { Database } from '../tables.js';

/** The lookups that place a new credential (or inbound target); run inside its creating transaction. */

export function findOrganisation(db: Kysely<Database>, id: string) {
  return db.selectFrom('organisations').select('id').where('id', '=', id).executeTakeFirst();
}

/** A claimed domain by name (any case, trailing dot or not) or by id. */
export function findDomain(db: Kysely<Database>, nameOrId: string) {
  const name = nameOrId.trim().toLowerCase().replace(/\.$/, '');
  return db
    .selectFrom('domains')
    .select(['id', 'name', 'organisation_id'])
    .where((eb) => eb.or([eb('name', '=', name), eb('id', '=', nameOrId.trim())]))
    .executeTakeFirst();
}
