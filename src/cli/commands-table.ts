import type { Command } from 'commander';

/**
 * The top-level commands, in the order --help lists them, with what --help says of each: enough
 * to list them all while loading the implementation of the one that runs (program.ts). Each
 * command's module reads its description from here, so the two cannot drift apart.
 */
export interface CommandEntry {
  name: string;
  description: string;
  /** Whether it has subcommands: --help then lists it as `name [command]`. */
  subcommands: boolean;
  /** Its module's register function, which declares it, its options and its subcommands on the program. */
  load(): Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    description: 'start the gateway: SMTP submission, delivery workers and HTTP, on the embedded store or on PostgreSQL',
    subcommands: false,
    load: async () => (await import('./commands/start.js')).registerStart,
  },
  {
    name: 'migrate',
    description: 'apply database migrations to the store, SQLite or PostgreSQL (start does this too; instances starting together apply each once)',
    subcommands: false,
    load: async () => (await import('./commands/migrate.js')).registerMigrate,
  },
  {
    name: 'domain',
    description: 'domains the applications send from, each proven by a DNS TXT record',
    subcommands: true,
    load: async () => (await import('./commands/domain.js')).registerDomain,
  },
  {
    name: 'address',
    description: 'support addresses and functional accounts in verified domains, with their aliases',
    subcommands: true,
    load: async () => (await import('./commands/address.js')).registerAddress,
  },
  {
    name: 'directory',
    description: 'pull addresses from an LDAP directory (OpenLDAP, Active Directory)',
    subcommands: true,
    load: async () => (await import('./commands/directory.js')).registerDirectory,
  },
  {
    name: 'credential',
    description: 'SMTP credentials for applications (submission) and mail servers (inbound)',
    subcommands: true,
    load: async () => (await import('./commands/credential.js')).registerCredential,
  },
  {
    name: 'route',
    description: "rules on the envelope sender's domain: secure, relay or reject; first match wins",
    subcommands: true,
    load: async () => (await import('./commands/route.js')).registerRoute,
  },
  {
    name: 'secure',
    description: "secure messages: each recipient's status, revoke, unlock a locked portal link, delete (shred), organisation settings",
    subcommands: true,
    load: async () => (await import('./commands/secure.js')).registerSecure,
  },
  {
    name: 'connection',
    description: 'outbound connections: the smarthost for a domain or an address (else the global smarthost)',
    subcommands: true,
    load: async () => (await import('./commands/connection.js')).registerConnection,
  },
  {
    name: 'tls-policy',
    description: 'TLS requirements per recipient domain for direct MX delivery',
    subcommands: true,
    load: async () => (await import('./commands/tls-policy.js')).registerTlsPolicy,
  },
  {
    name: 'inbound',
    description: "where inbound mail for the organisation's domains goes: a signed webhook, or a forward over SMTP; one default plus one per domain",
    subcommands: true,
    load: async () => (await import('./commands/inbound.js')).registerInbound,
  },
  {
    name: 'dkim',
    description: 'DKIM keys of a domain: generated here, published by you in DNS, signing outbound mail once a check sees them',
    subcommands: true,
    load: async () => (await import('./commands/dkim.js')).registerDkim,
  },
  {
    name: 'key',
    description:
      'the key-encryption key that seals stored secrets (smarthost passwords, webhook secrets, DKIM keys, secure-message data keys and portal tokens)',
    subcommands: true,
    load: async () => (await import('./commands/key.js')).registerKey,
  },
  {
    name: 'dns',
    description: 'DNS as the gateway sees it through its resolver (dnsResolver)',
    subcommands: true,
    load: async () => (await import('./commands/dns.js')).registerDns,
  },
  {
    name: 'sandbox',
    description: 'the sandbox mailbox: what the gateway would have sent (start --sandbox)',
    subcommands: true,
    load: async () => (await import('./commands/sandbox.js')).registerSandbox,
  },
  { name: 'token', description: 'bearer tokens for the admin API', subcommands: true, load: async () => (await import('./commands/token.js')).registerToken },
  {
    name: 'admin',
    description: 'administrator accounts of the web console (/console)',
    subcommands: true,
    load: async () => (await import('./commands/admin.js')).registerAdmin,
  },
  {
    name: 'audit',
    description: 'the HMAC-chained log of every administrative change, sign-in and refused request',
    subcommands: true,
    load: async () => (await import('./commands/audit.js')).registerAudit,
  },
  {
    name: 'queue',
    description: 'inspect and act on the delivery queue',
    subcommands: true,
    load: async () => (await import('./commands/queue.js')).registerQueue,
  },
];

/** A command's description, as --help shows it. */
export function descriptionOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name} in src/cli/commands-table.ts`);
  return entry.description;
}
