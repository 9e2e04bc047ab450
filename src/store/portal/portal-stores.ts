import type { Clock } from '../../lib/clock.js';
import type { PortalStores } from '../../portal/portal-deps.js';
import { sqlLinkLockStore } from '../link-locks/index.js';
import { sqlPortalSessionStore } from '../portal-sessions/index.js';
import type { Db } from '../tables.js';
import { sqlPortalLinkStore } from './index.js';
import { sqlRequestCounters } from './request-counters.js';

/** Everything the recipients' portal keeps in the store. */
export function sqlPortalStores(db: Db, clock: Clock): PortalStores {
  return { sessions: sqlPortalSessionStore(db), links: sqlPortalLinkStore(db), locks: sqlLinkLockStore(db), counters: sqlRequestCounters(db, clock) };
}
