import type { Logger } from 'pino';
import type { AdminServices } from '../api/api-context.js';
import type { AuditEntry } from '../audit/audit-log.js';
import type { Actor, Page, PageRequest } from '../directory/context.js';
import type { Clock } from '../lib/clock.js';
import type { AdminAccounts } from './admin-accounts.js';
import type { ConsoleSessions } from './console-session.js';
import type { ThrottleFactory } from './sign-in-locks.js';
import type { MessageLogEntry, MessageOrigin, MessageSearch } from './watch/message-log-records.js';
import type { QueueDepth, TrafficHour } from './watch/traffic-records.js';

/** What the console's pages need: the same services the API uses, and its own accounts and sessions. */
export interface ConsoleDeps {
  services: AdminServices;
  /** What the watch pages read besides the services (src/app fills it from the store). */
  watch: ConsoleWatch;
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

/** The message log, the dashboard's numbers and the audit log's actions, as the watch pages read them. */
export interface ConsoleWatch {
  /** Newest first, with the total. */
  searchMessages(search: MessageSearch, page: PageRequest): Promise<Page<MessageLogEntry>>;
  messageOrigin(id: string): Promise<MessageOrigin | undefined>;
  /** The 24 whole UTC hours up to and including the current one, oldest first. */
  lastDay(now: number): Promise<TrafficHour[]>;
  queueDepth(): Promise<QueueDepth>;
  /** Every action the audit log holds, in order: the choices of its filter. */
  auditActions(): Promise<string[]>;
  /** Appends one record to the audit log, in a transaction of its own. */
  audit(actor: Actor, entry: AuditEntry, at: number): Promise<void>;
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
