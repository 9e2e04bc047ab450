import type { Generated, Kysely } from 'kysely';

/** Times are epoch milliseconds, so both engines store and compare them the same way. */
export interface CredentialsTable {
  id: string;
  kind: 'submission' | 'inbound';
  description: string;
  username: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
}

export interface MessagesTable {
  id: string;
  mail_from: string;
  size_bytes: number;
  received_at: number;
  expires_at: number;
  credential_id: string | null;
  client_ip: string;
  env_id: string | null;
  dsn_ret: 'FULL' | 'HDRS' | null;
  /** A DSN the gateway generated itself: never bounced again (RFC 3464 §2). */
  is_dsn: number;
  completed_at: number | null;
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced';

export interface RecipientsTable {
  id: Generated<number>;
  message_id: string;
  position: number;
  address: string;
  notify: string | null;
  orcpt: string | null;
  status: RecipientStatus;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_reply: string | null;
  lease_owner: string | null;
  lease_until: number | null;
}

export interface EventsTable {
  id: Generated<number>;
  message_id: string;
  at: number;
  kind: string;
  recipient: string | null;
  detail: string | null;
}

export interface Database {
  credentials: CredentialsTable;
  messages: MessagesTable;
  recipients: RecipientsTable;
  events: EventsTable;
}

export type Db = Kysely<Database>;
