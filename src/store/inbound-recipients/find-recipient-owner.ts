import type { RecipientOwner } from '../../directory/inbound-recipient-store.js';
import type { Db } from '../tables.js';

/**
 * The mailbox as an address, else as an alias, of a verified domain. Addresses are stored
 * lower-cased; the caller lowers the local part too.
 */
export async function findRecipientOwner(db: Db, mailbox: string): Promise<RecipientOwner | undefined> {
  return (
    (await db
      .selectFrom('addresses')
      .innerJoin('domains', 'domains.id', 'addresses.domain_id')
      .select(['domains.id as domainId', 'domains.name as domain', 'domains.connector_state as connectorState', 'domains.organisation_id as organisationId'])
      .where('addresses.address', '=', mailbox)
      .where('domains.status', '=', 'verified')
      // A deactivated directory user's mailbox is unknown until it is active again.
      .where('addresses.suspended_at', 'is', null)
      .executeTakeFirst()) ??
    (await db
      .selectFrom('address_aliases')
      .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
      .innerJoin('domains', 'domains.id', 'addresses.domain_id')
      .select(['domains.id as domainId', 'domains.name as domain', 'domains.connector_state as connectorState', 'domains.organisation_id as organisationId'])
      .where('address_aliases.alias', '=', mailbox)
      .where('domains.status', '=', 'verified')
      // A deactivated directory user's mailbox is unknown until it is active again.
      .where('addresses.suspended_at', 'is', null)
      .executeTakeFirst())
  );
}
