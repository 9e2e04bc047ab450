import { registerApi } from '../api/index.js';
import type { Config } from '../config/schema.js';
import { consoleSessions } from '../console/console-session.js';
import { type ConsoleDeps, registerConsole } from '../console/index.js';
import { CONSOLE_PAGES } from '../console/pages.js';
import { registerInboundDownloads } from '../http/inbound-downloads.js';
import { type Mount, VERSION } from '../http/server.js';
import { type PortalDeps, registerPortal } from '../portal/index.js';
import { groupCommitter } from '../queue/group-commit.js';
import { registerScim } from '../scim/routes.js';
import { brandingFrom } from '../secure/secure-settings.js';
import { authThrottle } from '../smtp/auth-throttle.js';
import { sqlConsoleSessionStore } from '../store/console/index.js';
import { sqlConsoleWatch } from '../store/console/watch.js';
import { sqlPortalStores } from '../store/portal/portal-stores.js';
import { sharedCounters } from '../store/shared-counters.js';
import { auditRefusedForms } from '../web/csrf.js';
import { consoleAccounts } from './console-accounts.js';
import type { MountDeps } from './http-mounts.js';
import { secureStores } from './secure-stores.js';

/**
 * The surfaces on the HTTP server, in this order: the admin API and its OpenAPI document, SCIM,
 * then the inbound downloads, the portal and the console. Imported by src/app/http-mounts.ts at
 * the first request to one of them, with every module they need.
 */
export function surfaceMounts(config: Pick<Config, 'hostname' | 'queue' | 'smtp'>, d: MountDeps): Mount[] {
  const { services, spool, queue, linkKey } = d.parts;
  const { clock, late } = d;
  const portal = portalDeps(config, d);
  const adminConsole = consoleDeps(config, d);
  return [
    (app) => registerApi(app, services, VERSION),
    (app) => registerScim(app, services),
    (app) => {
      registerInboundDownloads(app, { spool, queue, key: linkKey, clock });
      auditRefusedForms(app, {
        prefix: '/m/',
        surface: 'portal',
        publicUrl: () => late.publicUrl,
        record: (attempt) => services.denials.record(attempt),
      });
      registerPortal(app, portal);
      registerConsole(app, adminConsole, CONSOLE_PAGES);
    },
  ];
}

function portalDeps(config: Pick<Config, 'hostname' | 'queue' | 'smtp'>, d: MountDeps): PortalDeps {
  const { store, parts, late } = d;
  return {
    stores: sqlPortalStores(store.db, d.clock),
    branding: (organisationId) => brandingFrom(secureStores(store.db).settings, organisationId),
    vault: parts.vault,
    // Codes, replies and read receipts are queued like accepted mail.
    queue: { spool: parts.spool, committer: groupCommitter(parts.spool, parts.queue), wake: () => d.wake.wake(), expireAfterMs: config.queue.expireAfter },
    clock: d.clock,
    hashKey: store.hashKey,
    hostname: config.hostname,
    maxMessageBytes: config.smtp.maxMessageBytes,
    maxReplyAttachments: 10,
    publicUrl: () => late.publicUrl,
    log: d.log,
  };
}

function consoleDeps(config: Pick<Config, 'queue'>, d: MountDeps): ConsoleDeps {
  const { store, parts, clock, late } = d;
  const { queue, spool } = parts;
  return {
    watch: sqlConsoleWatch(store.db),
    services: parts.services,
    accounts: consoleAccounts(store, clock),
    sessions: consoleSessions(sqlConsoleSessionStore(store.db)),
    throttle: (scope, limit, windowMs) => authThrottle(sharedCounters(store.db), scope, limit, windowMs, clock),
    hashKey: store.hashKey,
    clock,
    log: d.log,
    publicUrl: () => late.publicUrl,
    sandbox: parts.sandbox !== undefined,
    smtpEndpoints: late.smtpEndpoints,
    queue: {
      async retry(id) {
        const now = clock.now();
        const made = await queue.retry(id, now, now + config.queue.expireAfter);
        if (made > 0) d.wake.wake();
        return made;
      },
      async remove(id) {
        const removed = await queue.remove(id, clock.now());
        if (removed) await spool.remove(id);
        return removed;
      },
    },
  };
}
