import { adminAccounts } from '../console/admin-accounts.js';
import type { Clock } from '../lib/clock.js';
import { sqlAdminStore } from '../store/console/index.js';
import type { OpenStore } from './open-store.js';

/** The console's administrator accounts on the open store: for the gateway's console and `relaygate admin`. */
export function consoleAccounts(store: Pick<OpenStore, 'db'>, clock: Clock) {
  return adminAccounts({ admins: sqlAdminStore(store.db) }, { clock });
}
