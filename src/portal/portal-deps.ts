import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Branding } from '../secure/secure-settings.js';
import type { SecureVault } from '../secure/vault.js';
import type { LinkLockStore } from './link-lock-store.js';
import type { PortalMailQueue } from './mail-queue.js';
import type { PortalLinkStore } from './portal-link-store.js';
import type { PortalSessionStore } from './portal-session-store.js';
import type { RequestCounters } from './request-limits.js';

/** What the portal keeps in the store: its sessions and codes, the secure-message rows it reads, link locks, request counters. */
export interface PortalStores {
  sessions: PortalSessionStore;
  links: PortalLinkStore;
  locks: LinkLockStore;
  counters: RequestCounters;
}

export interface PortalDeps {
  stores: PortalStores;
  /** The organisation's branding and defaults (src/secure/secure-settings.ts). */
  branding(organisationId: string): Promise<Branding>;
  vault: Pick<SecureVault, 'unlock'>;
  /** Where codes, replies and read receipts are queued, like accepted mail. */
  queue: PortalMailQueue;
  clock: Clock;
  /** The store's hash key (never in the database): keys the code hashes and the CSRF tokens. */
  hashKey: Buffer;
  hostname: string;
  /** A reply with its attachments may be as large as a message the gateway accepts over SMTP. */
  maxMessageBytes: number;
  maxReplyAttachments: number;
  /** The portal's public URL, for the Origin check; empty when unknown. */
  publicUrl(): string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** Route options of every portal route: the recipient portal is not part of the admin API's OpenAPI document. */
export const HIDDEN = { schema: { hide: true } };
