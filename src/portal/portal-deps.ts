import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { SecureVault } from '../secure/vault.js';
import type { Db } from '../store/tables.js';
import type { PortalMailQueue } from './mail-queue.js';

export interface PortalDeps {
  db: Db;
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
