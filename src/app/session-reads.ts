import type { Logger } from 'pino';
import type { CredentialStore } from '../directory/credential-store.js';
import type { InboundTargetStore } from '../directory/inbound-target-store.js';
import type { RouteStore } from '../directory/route-store.js';
import type { SenderStore } from '../directory/sender-store.js';
import type { DkimKeyStore } from '../dkim/dkim-key-store.js';
import { sqlCredentialStore } from '../store/credentials/index.js';
import { DIRECTORY_CHANNEL, directoryVersion } from '../store/directory-version.js';
import { sqlDkimKeyStore } from '../store/dkim-keys/index.js';
import { sqlInboundTargetStore } from '../store/inbound-targets/index.js';
import { sqlRouteStore } from '../store/routes/index.js';
import { sqlSenderStore } from '../store/senders/index.js';
import { type DirectoryCache, directoryCache } from './directory-cache.js';
import type { OpenStore } from './open-store.js';

/** How long a change another process made (the CLI, an instance whose NOTIFY was lost) may go unseen by the cache. */
const POLL_MS = 250;

/** The process's directory cache: told of changes by NOTIFY on PostgreSQL, by polling the version everywhere. */
export function openDirectoryCache(store: Pick<OpenStore, 'db' | 'listen'>, log: Pick<Logger, 'warn'>): Promise<DirectoryCache> {
  const { listen } = store;
  return directoryCache({
    version: () => directoryVersion(store.db),
    ...(listen ? { listen: (onChange: () => void) => listen(DIRECTORY_CHANNEL, onChange) } : {}),
    pollMs: POLL_MS,
    onPollError: (err) => log.warn({ err }, 'the directory version could not be read; cached credentials and routes are checked again at each AUTH'),
  });
}

export interface SessionReads {
  credentials: CredentialStore;
  senders: SenderStore;
  routes: RouteStore;
  dkimKeys: DkimKeyStore;
  inboundTargets: InboundTargetStore;
}

/**
 * The stores a session and a delivery read on every message, their reads through the cache.
 * What decides whether a credential may still send is `checked`: the allowed networks at
 * AUTH (asked before the credential itself), the submitter at every MAIL FROM, and the
 * certificate credentials on the relay port.
 */
export function sessionReads(db: OpenStore['db'], cache: DirectoryCache): SessionReads {
  return {
    credentials: cache.over(sqlCredentialStore(db), { allowedNetworksOf: 'checked', byUsername: 'cached', certificateCredentials: 'checked' }),
    senders: cache.over(sqlSenderStore(db), { submitter: 'checked', domainsNamed: 'cached' }),
    routes: cache.over(sqlRouteStore(db), { table: 'cached', defaultAction: 'cached', organisationOfCredential: 'cached', secureRetentionDays: 'cached' }),
    dkimKeys: cache.over(sqlDkimKeyStore(db), { activeKeys: 'cached' }),
    // Asked at every delivery: whether any application wants delivery events.
    inboundTargets: cache.over(sqlInboundTargetStore(db), { anyWebhook: 'cached' }),
  };
}
