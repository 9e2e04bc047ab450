import type { AddressChanges, AddressReads, AddressStore, StoredAddress } from '../../directory/address-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { activeOwnerOf, verifiedDomainsOf } from './active-owner.js';
import { countMailboxes } from './count-mailboxes.js';
import { describeAddress, toStoredAddress } from './describe-addresses.js';
import { pageOfAddresses } from './page-of-addresses.js';

export function sqlAddressStore(db: Db): AddressStore {
  return {
    ...addressReads(db),
    inTransaction: db.isTransaction,
    // Given a transaction (a pull's dry run), the change is made inside it and goes with it.
    change: (work) => (db.isTransaction ? work(addressChanges(db)) : db.transaction().execute((trx) => work(addressChanges(trx)))),
  };
}

export function addressReads(db: Db): AddressReads {
  return {
    findByAddress: async (address) => {
      const row = await db.selectFrom('addresses').selectAll().where('address', '=', address).executeTakeFirst();
      return row && toStoredAddress(row);
    },
    findById: async (id) => {
      const row = await db.selectFrom('addresses').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toStoredAddress(row);
    },
    ownerOfAlias: async (alias) => {
      const row = await db
        .selectFrom('address_aliases')
        .innerJoin('addresses', 'addresses.id', 'address_aliases.address_id')
        .select('addresses.address')
        .where('address_aliases.alias', '=', alias)
        .executeTakeFirst();
      return row?.address;
    },
    describe: (address) => describeAddress(db, address),
    page: (page, query) => pageOfAddresses(db, page, query),
    domainNamed: async (name) => {
      const row = await db.selectFrom('domains').select(['id', 'name', 'organisation_id', 'status']).where('name', '=', name).executeTakeFirst();
      return row && { id: row.id, name: row.name, organisationId: row.organisation_id, status: row.status };
    },
    organisationOfDomain: async (domainId) =>
      (await db.selectFrom('domains').select('organisation_id').where('id', '=', domainId).executeTakeFirstOrThrow()).organisation_id,
    countMailboxes: (domain) => countMailboxes(db, domain),
    verifiedDomainsOf: (organisationId) => verifiedDomainsOf(db, organisationId),
    activeOwnerOf: (mailbox) => activeOwnerOf(db, mailbox),
  };
}

/** The changes of addresses and aliases inside the transaction `trx`; other stores whose changes span addresses build on it. */
export function addressChanges(trx: Db): AddressChanges {
  return {
    ...addressReads(trx),
    insert: async (address) => {
      await trx.insertInto('addresses').values(addressRow(address)).execute();
    },
    insertAlias: async (alias) => {
      await trx.insertInto('address_aliases').values({ id: alias.id, address_id: alias.addressId, alias: alias.alias, created_at: alias.createdAt }).execute();
    },
    update: async (id, fields) => {
      await trx
        .updateTable('addresses')
        .set({
          ...(fields.address !== undefined ? { address: fields.address } : {}),
          ...(fields.domainId !== undefined ? { domain_id: fields.domainId } : {}),
          ...(fields.description !== undefined ? { description: fields.description } : {}),
          ...(fields.externalId !== undefined ? { external_id: fields.externalId } : {}),
          ...(fields.suspendedAt !== undefined ? { suspended_at: fields.suspendedAt } : {}),
        })
        .where('id', '=', id)
        .execute();
    },
    // The aliases go with it (ON DELETE CASCADE).
    remove: async (id) => {
      await trx.deleteFrom('addresses').where('id', '=', id).execute();
    },
    removeAliases: async (addressId, aliases) => {
      if (aliases.length === 0) return 0;
      const deleted = await trx.deleteFrom('address_aliases').where('address_id', '=', addressId).where('alias', 'in', aliases).returning('alias').execute();
      return deleted.length;
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}

function addressRow(address: StoredAddress) {
  return {
    id: address.id,
    domain_id: address.domainId,
    address: address.address,
    kind: address.kind,
    description: address.description,
    created_at: address.createdAt,
    source: address.source,
    external_id: address.externalId,
    suspended_at: address.suspendedAt,
  };
}
