import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { auditLog } from '../audit/audit-log.js';
import type { DeniedAttempts } from '../audit/denied-attempts.js';
import type { Connector } from '../connector/connector.js';
import type { AddressSync } from '../directory/address-sync.js';
import type { addressDirectory } from '../directory/addresses.js';
import type { ApiTokens } from '../directory/api-tokens.js';
import type { connectionDirectory } from '../directory/connections.js';
import type { CredentialDirectory } from '../directory/credentials.js';
import type { DeliveryPolicyDirectory } from '../directory/delivery-policies.js';
import type { DirectDeliveryDirectory } from '../directory/direct-delivery.js';
import type { domainDirectory } from '../directory/domains.js';
import type { InboundTargetDirectory } from '../directory/inbound-targets.js';
import type { routeDirectory } from '../directory/routes.js';
import type { ScimGroups } from '../directory/scim-groups.js';
import type { DkimDirectory } from '../dkim/index.js';
import type { DomainChecker } from '../dns/check/index.js';
import type { QueueStore } from '../queue/queue-store.js';
import type { SandboxMailbox } from '../sandbox/mailbox.js';
import type { SecureMessages } from '../secure/secure-messages.js';
import type { SecureSettingsService } from '../secure/secure-settings.js';

/** The services behind the admin API; the CLI and the console use the same ones. */
export interface AdminServices {
  /** The queue, read-only here: the message log. */
  messages: Pick<QueueStore, 'list' | 'show'>;
  tokens: ApiTokens;
  audit: ReturnType<typeof auditLog>;
  /** Refused requests (401, 403, failed sign-ins, refused forms) into the audit log, coalesced. */
  denials: DeniedAttempts;
  domains: ReturnType<typeof domainDirectory>;
  addresses: ReturnType<typeof addressDirectory>;
  /** The addresses the SCIM endpoint provisions (source `scim`), never a manual one. */
  scimUsers: AddressSync;
  scimGroups: ScimGroups;
  credentials: CredentialDirectory;
  routes: ReturnType<typeof routeDirectory>;
  connections: ReturnType<typeof connectionDirectory>;
  inboundTargets: InboundTargetDirectory;
  connector: Connector;
  tlsPolicies: DeliveryPolicyDirectory;
  dkim: DkimDirectory;
  dnsCheck: DomainChecker;
  /** The sandbox mailbox (empty unless the gateway runs with sandbox on). */
  sandbox: SandboxMailbox;
  /** Inbound direct delivery flags, enabled only on a live DNSSEC + DANE or DNSSEC + PKIX verdict. */
  directDelivery: DirectDeliveryDirectory;
  /** The sender's controls over secure messages: status, revoke, delete (shred). */
  secureMessages: SecureMessages;
  secureSettings: SecureSettingsService;
}

export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** What each resource's route file is given: its (prefixed, authenticated) app and the services. */
export interface ApiContext {
  app: ApiApp;
  services: AdminServices;
}
