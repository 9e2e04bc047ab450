import type { DirectoryContext } from '../directory/context.js';
import type { Db } from '../store/tables.js';

/** What the composition root hands its factories: the services' context, and the store's handle the concrete stores are built on. */
export type StoreContext = DirectoryContext & { db: Db };
