import type { Generated, Kysely } from 'kysely';
import type { TlsRequired } from '../model/envelope.js';
import type {
  ConnectorState,
  DkimKeyState,
  InboundTargetKind,
  Leg,
  LegCheckStatus,
  MessageDirection,
  RecipientStatus,
  RouteAction,
  SecureRecipientStatus,
  TlsRequirement,
} from '../model/states.js';

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
  organisation_id: Generated<string>;
  /** Inbound credentials belong to one domain. */
  domain_id: string | null;
  /** JSON array of addresses or `@domain` entries a submission credential may send as. */
  allowed_senders: string | null;
  /** JSON array of CIDRs AUTH is accepted from. */
  allowed_networks: string | null;
  expires_at: number | null;
  max_messages_per_hour: number | null;
  /** Rotation: after this time the credential stops working. */
  retire_at: number | null;
  /** When retire_at was set: a use after it is a use after rotation. */
  retirement_set_at: number | null;
  /** Inbound: the DNS name a client certificate must be valid for; such a credential has no secret. */
  tls_client_name: string | null;
}

export interface OrganisationsTable {
  id: string;
  name: string;
  default_route_action: RouteAction;
  created_at: number;
  /** Days a secure message stays readable before it is shredded. */
  secure_retention_days: Generated<number>;
  /** 1: the sender gets a read receipt when a recipient first opens a secure message. */
  read_receipts: Generated<number>;
  read_receipt_format: Generated<string>;
  /** 1: notifications say "a secure message" instead of repeating the subject line. */
  neutral_subject: Generated<number>;
  /** The language of recipient mails when a message names none: en, nl, de or fr. */
  locale: Generated<string>;
  /** IANA zone the recipients' dates are written in (the portal has no script to learn the reader's own). */
  time_zone: Generated<string>;
  brand_name: Generated<string | null>;
  /** `#rrggbb`, checked for contrast against white text when set. */
  brand_colour: Generated<string | null>;
  /** A PNG or a checked SVG, at most 100 KiB (src/secure/brand-logo.ts). */
  brand_logo: Generated<Uint8Array | null>;
  brand_logo_type: Generated<string | null>;
}

export interface DomainsTable {
  id: string;
  organisation_id: string;
  name: string;
  status: 'pending' | 'verified';
  verification_token: string;
  created_at: number;
  verified_at: number | null;
  /** 'dns', or 'operator:<actor>' for a verification forced by hand. */
  verified_by: string | null;
  last_check_at: number | null;
  last_check_result: string | null;
  /** A disconnect drains the domain first: no new mail, queued mail finishes, then its credentials go. */
  connector_state: ConnectorState;
  connector_changed_at: number | null;
  /** 1: secure messages to this domain are delivered decrypted over a verified transport (inbound direct delivery). */
  direct_delivery: number;
  direct_delivery_changed_at: number | null;
}

export interface AddressesTable {
  id: string;
  domain_id: string;
  address: string;
  kind: 'support' | 'functional';
  description: string;
  created_at: number;
  /** Who owns the record: `manual` (console, CLI, API) or a sync (`scim`, `ldap`), which never touches a manual one. */
  source: 'manual' | 'scim' | 'ldap';
  /** The directory's own id for the user (SCIM externalId, LDAP entryUUID or DN). */
  external_id: string | null;
  /** A deactivated directory user: the address stays but sends and receives nothing. */
  suspended_at: number | null;
}

export interface AddressAliasesTable {
  id: string;
  address_id: string;
  alias: string;
  created_at: number;
}

export interface RoutesTable {
  id: string;
  organisation_id: string;
  position: number;
  /** A domain (`secure.example.com`) or a subdomain wildcard (`*.example.com`). */
  match: string;
  action: RouteAction;
  description: string;
  created_at: number;
}

export interface ConnectionsTable {
  id: string;
  organisation_id: string;
  scope_kind: 'domain' | 'address';
  scope: string;
  host: string;
  port: number;
  tls_mode: 'starttls' | 'implicit' | 'none';
  username: string | null;
  /** The secret sealed with the key-encryption key (never stored in the clear). */
  secret_sealed: string | null;
  /** null: SMTP AUTH with the secret as password; xoauth2 / oauthbearer: the secret is the OAuth 2.0 client secret. */
  auth_kind: 'xoauth2' | 'oauthbearer' | null;
  oauth2_token_url: string | null;
  oauth2_client_id: string | null;
  oauth2_scope: string | null;
  /** PEM chain the gateway presents as TLS client (Exchange Online connectors check its name). */
  client_cert: string | null;
  /** Its private key, sealed with the key-encryption key. */
  client_key_sealed: string | null;
  created_at: number;
  updated_at: number;
}

export interface ApiTokensTable {
  id: string;
  description: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
  /** `admin`: the /api/v1 admin API; `scim`: /scim/v2 provisioning only. */
  scope: 'admin' | 'scim';
}

export interface AuditLogTable {
  seq: number;
  at: number;
  actor: string;
  actor_ip: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  /** Canonical JSON of what changed. */
  detail: string;
  prev_hash: string;
  hash: string;
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
  /** Inbound mail goes to the application (webhook or forward); outbound to the world. */
  direction: MessageDirection;
  /** Inbound bodies are kept after delivery for the signed download URLs; this is when they went. */
  body_purged_at: number | null;
  /** RFC 8689: 'requiretls' (MAIL FROM parameter) or 'no' (TLS-Required: No header); null when neither. */
  tls_required: TlsRequired | null;
  /** The decoded Subject, for the message log; null for secure messages and DSNs. */
  subject: string | null;
}

export interface InboundMessagesTable {
  message_id: string;
  /** JSON RelayFacts: how the organisation's server reached us. */
  relay: string;
  /** Our Authentication-Results field, prepended when the message is handed on. */
  authentication_results: string;
  /** JSON AuthFacts. */
  authentication: string;
  /** Of the envelope and the bytes as received: the idempotency key of its webhook calls. */
  content_hash: string;
}

export interface InboundTargetsTable {
  id: string;
  organisation_id: string;
  /** 'organisation:<id>' or 'domain:<id>': one target per scope. */
  scope: string;
  domain_id: string | null;
  kind: InboundTargetKind;
  url: string | null;
  forward_to: string | null;
  synchronous: number;
  /** Webhook signing secrets, sealed with the key-encryption key; the previous one signs too until its time is up. */
  secret_sealed: string | null;
  previous_secret_sealed: string | null;
  previous_secret_until: number | null;
  created_at: number;
  updated_at: number;
  /** Set when the webhook answered 410 Gone: no request is sent until it is enabled again (migration 0018). */
  disabled_at: number | null;
  disabled_reason: string | null;
}

export interface LegChecksTable {
  id: string;
  domain_id: string;
  leg: Leg;
  trigger: 'setup' | 'scheduled';
  token_hash: string;
  status: LegCheckStatus;
  reason: string | null;
  queue_id: string | null;
  started_at: number;
  deadline_at: number;
  finished_at: number | null;
}

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
  /** JSON DeliveryEvidence on a `delivered` event of direct MX delivery: policy, DNSSEC, TLS, peer authentication. */
  evidence: string | null;
}

export interface DeliveryPoliciesTable {
  /** The recipient domain, normalised; exact match (no subdomains). */
  domain: string;
  requirement: TlsRequirement;
  created_at: number;
  updated_at: number;
}

/** A domain's DKIM key: the private key sealed with the key-encryption key, the TXT value its owner publishes. */
export interface DkimKeysTable {
  id: string;
  domain_id: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  private_sealed: string;
  /** The TXT value to publish at `<selector>._domainkey.<domain>`. */
  public_record: string;
  state: DkimKeyState;
  /** Set by a rotation: how long the keys this one replaces stay published once it signs. */
  grace_ms: number | null;
  created_at: number;
  published_seen_at: number | null;
  activated_at: number | null;
  /** While retiring: when its grace period ends and the record may be removed. */
  retire_at: number | null;
  retired_at: number | null;
  last_check_at: number | null;
  /** JSON KeyCheck: what the last DNS look-up found. */
  last_check_result: string | null;
}

/** A delivery event waiting for (or given up on by) the application's webhook. */
export interface EventDeliveriesTable {
  id: string;
  /** The envelope sender's domain: its inbound target (else its organisation's) receives the event. */
  sender_domain: string;
  /** The event JSON, as signed and sent. */
  payload: string;
  status: 'pending' | 'failed';
  attempts: number;
  next_attempt_at: number;
  expires_at: number;
  last_reply: string | null;
  created_at: number;
}

export interface SecureMessagesTable {
  /** The queue id of the message that carried it in. */
  id: string;
  organisation_id: string;
  sender: string;
  /** The message's own AES-256-GCM key, sealed by the key-encryption key; null once shredded. */
  data_key_sealed: string | null;
  body_iv: string;
  body_tag: string;
  /** JSON of the subject, author and Message-ID, sealed under the data key. */
  meta_sealed: string;
  created_at: number;
  retain_until: number;
  revoked_at: number | null;
  shredded_at: number | null;
  /** The message's Content-Language (RFC 3282) if it is one the portal speaks; null: the organisation's default. */
  language: string | null;
}

/** A reply the recipient sent from the portal, for the thread: text and file names sealed under the message's data key. */
export interface SecurePortalRepliesTable {
  id: string;
  message_id: string;
  recipient_id: string;
  created_at: number;
  content_sealed: string;
}

export interface SecureRecipientsTable {
  id: string;
  message_id: string;
  address: string;
  /** SHA-256 of the portal token, hex: what the link is looked up by. */
  token_hash: string;
  /** The token itself, sealed by the key-encryption key, to write the same link into a retried notification. */
  token_sealed: string | null;
  status: SecureRecipientStatus;
  delivered_via: 'portal' | 'direct' | null;
  /** Why a domain flagged for direct delivery got a portal notification instead. */
  fallback_reason: string | null;
  /** JSON DeliveryEvidence of a direct delivery, or of the attempt that failed the proof. */
  evidence: string | null;
  notified_at: number | null;
  opened_at: number | null;
  replied_at: number | null;
  bounced_at: number | null;
  revoked_at: number | null;
  otp_hash: string | null;
  otp_expires_at: number | null;
  otp_attempts: number;
  otp_sent_at: number | null;
  /** Wrong codes over the link's lifetime, whichever code they were meant for; reset by an unlock. */
  otp_failures: number;
  /** When too many wrong codes locked the link; null while it opens. */
  locked_at: number | null;
}

export interface PortalSessionsTable {
  /** SHA-256 of the cookie value, hex. */
  id_hash: string;
  recipient_id: string;
  created_at: number;
  expires_at: number;
}

export interface SandboxMessagesTable {
  id: string;
  captured_at: number;
  /** smtp: a delivery that would have left over SMTP; webhook: an inbound payload with no target to take it. */
  kind: 'smtp' | 'webhook';
  queue_id: string;
  mail_from: string;
  /** JSON array of addresses. */
  recipients: string;
  subject: string | null;
  size_bytes: number;
  /** JSON SandboxDecision: the route, next hop and TLS policy delivery would have used. */
  decision: string;
  /** JSON: the DKIM signatures and their verdict against the gateway's own keys. */
  dkim: string;
  /** The captured bytes where the store holds bodies (PostgreSQL); a file in the data directory otherwise. */
  raw: Uint8Array | null;
}

export interface AdminsTable {
  id: string;
  /** Lower-cased; the sign-in name. */
  email: string;
  /** argon2id. */
  password_hash: string;
  /** 1 while the password is the one-time password `admin create` printed. */
  must_change_password: number;
  created_at: number;
  last_sign_in_at: number | null;
  last_sign_in_ip: string | null;
  failed_attempts: number;
  locked_until: number | null;
  disabled_at: number | null;
}

export interface AdminSessionsTable {
  /** SHA-256 of the cookie value, hex. */
  id_hash: string;
  admin_id: string;
  created_at: number;
  expires_at: number;
}

/** The readiness check's proof of a write (src/store/heartbeat.ts). */
export interface HealthHeartbeatTable {
  id: string;
  beat_at: number;
}

/** A message body in chunks, where the store holds bodies (PostgreSQL; see src/store/postgres/body-store.ts). */
export interface MessageBodiesTable {
  message_id: string;
  seq: number;
  chunk: Uint8Array;
  created_at: number;
}

/** One counting window of a limit shared by every instance (src/store/shared-counters.ts). */
export interface RateCountersTable {
  scope: string;
  key: string;
  bucket: number;
  count: number;
}

/** The data key of a body stored about a secure message (a reply, a receipt, a report), sealed by the key-encryption key. */
export interface SealedBodiesTable {
  /** The queue id of the body. */
  message_id: string;
  /** The secure message it answers: shredding that message deletes this row. */
  secure_message_id: string | null;
  data_key_sealed: string;
  body_iv: string;
  body_tag: string;
  created_at: number;
}

/** A keyed hash of a Message-ID a secure message went out with, for its replies to be linked to it. */
export interface SecureMessageRefsTable {
  ref_hash: string;
  secure_message_id: string;
}

/** Which keys the instances sharing this store must hold (src/store/shared-keys.ts): a check value or a key id, never a key. */
export interface KeyChecksTable {
  name: string;
  value: string;
  updated_at: number;
}

/** A directory the gateway pulls addresses from (LDAP); secrets sealed, the last run's outcome kept for `directory show`. */
export interface DirectorySyncSourcesTable {
  id: string;
  organisation_id: string;
  kind: 'ldap';
  url: string;
  base_dn: string;
  filter: string;
  bind_dn: string | null;
  bind_password_sealed: string | null;
  ca_cert: string | null;
  client_cert: string | null;
  client_key_sealed: string | null;
  /** JSON of the attribute mapping (ldap-mapping.ts). */
  mapping: string;
  interval_ms: number;
  created_at: number;
  updated_at: number;
  last_run_at: number | null;
  last_status: 'ok' | 'failed' | 'refused' | null;
  /** JSON of the last run's result (directory-pull.ts). */
  last_result: string | null;
  last_error: string | null;
}

export interface ScimGroupsTable {
  id: string;
  organisation_id: string;
  display_name: string;
  external_id: string | null;
  /** The group's shared mailbox (a synced functional address), when the directory gave it one. */
  address_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface ScimGroupMembersTable {
  group_id: string;
  /** The id of a synced user (its address row). */
  member_id: string;
}

/** One row (id 1): bumped in every transaction that changes the directory a session reads (migration 0026). */
export interface DirectoryVersionTable {
  id: number;
  /** A count; PostgreSQL's bigint arrives as a string. */
  version: number | string;
}

export interface Database {
  directory_version: DirectoryVersionTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  organisations: OrganisationsTable;
  domains: DomainsTable;
  addresses: AddressesTable;
  address_aliases: AddressAliasesTable;
  routes: RoutesTable;
  connections: ConnectionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  credentials: CredentialsTable;
  messages: MessagesTable;
  recipients: RecipientsTable;
  events: EventsTable;
  inbound_messages: InboundMessagesTable;
  event_deliveries: EventDeliveriesTable;
  inbound_targets: InboundTargetsTable;
  leg_checks: LegChecksTable;
  dkim_keys: DkimKeysTable;
  delivery_policies: DeliveryPoliciesTable;
  secure_messages: SecureMessagesTable;
  secure_recipients: SecureRecipientsTable;
  portal_sessions: PortalSessionsTable;
  sandbox_messages: SandboxMessagesTable;
  admins: AdminsTable;
  admin_sessions: AdminSessionsTable;
  health_heartbeat: HealthHeartbeatTable;
  message_bodies: MessageBodiesTable;
  rate_counters: RateCountersTable;
  key_checks: KeyChecksTable;
  sealed_bodies: SealedBodiesTable;
  secure_message_refs: SecureMessageRefsTable;
  secure_portal_replies: SecurePortalRepliesTable;
  directory_sync_sources: DirectorySyncSourcesTable;
}

export type Db = Kysely<Database>;
