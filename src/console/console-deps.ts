import type { Logger } from 'pino';
import type { AdminServices } from '../api/api-context.js';
import type { Clock } from '../lib/clock.js';
import type { Db } from '../store/tables.js';
import type { AdminAccounts } from './admin-accounts.js';
import type { ConsoleSessions } from './console-session.js';
import type { ThrottleFactory } from './sign-in-locks.js';

/** What the console's pages need: the same services the API uses, and its own accounts and sessions. */
export interface ConsoleDeps {
  db: Db;
  services: AdminServices;
  accounts: AdminAccounts;
  sessions: ConsoleSessions;
  /** Counts failed sign-ins (sign-in-locks.ts). */
  throttle: ThrottleFactory;
  /** Keys the CSRF tokens. */
  hashKey: Buffer;
  clock: Clock;
  log: Logger;
  publicUrl(): string;
  /** The gateway captures outgoing mail instead of sending it. */
  sandbox: boolean;
  /** Where clients reach the SMTP listeners, as the credential pages tell them: read at each page, the ports once bound. */
  smtpEndpoints: Readonly<SmtpEndpoints>;
  /** Queue actions from the message log: make a message due now, or remove it. */
  queue: {
    retry(id: string): Promise<number>;
    remove(id: string): Promise<boolean>;
  };
}

/** The slice of the SMTP configuration an application's or a mail server's administrator needs. */
export interface SmtpEndpoints {
  /** The gateway's host name (config hostname): the name its certificate is for. */
  host: string;
  /** Submission with STARTTLS (smtp.port). */
  submissionPort: number;
  /** Submission over implicit TLS (smtp.smtpsPort). */
  implicitTlsPort: number;
  /** Where the organisation's mail servers relay inbound mail back (smtp.relayPort). */
  relayPort: number;
}

/** Routes that are pages, not API: kept out of the OpenAPI document. */
export const HIDDEN = { schema: { hide: true } } as const;
