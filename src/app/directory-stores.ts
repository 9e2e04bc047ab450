import type { AddressStore } from '../directory/address-store.js';
import type { DirectorySyncStore } from '../directory/directory-sync-store.js';
import type { DomainStore } from '../directory/domain-store.js';
import type { SenderStore } from '../directory/sender-store.js';
import { sqlAddressStore } from '../store/addresses/index.js';
import { sqlDirectorySyncStore } from '../store/directory-sync/index.js';
import { sqlDomainStore } from '../store/domains/index.js';
import { sqlSenderStore } from '../store/senders/index.js';

export interface DirectoryStores {
  domains: DomainStore;
  addresses: AddressStore;
  directorySync: DirectorySyncStore;
  senders: SenderStore;
}

/** The directory's concrete stores on one database, for the services of src/directory. */
export function directoryStores(db: Parameters<typeof sqlDomainStore>[0]): DirectoryStores {
  return { domains: sqlDomainStore(db), addresses: sqlAddressStore(db), directorySync: sqlDirectorySyncStore(db), senders: sqlSenderStore(db) };
}
