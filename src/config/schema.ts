import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { z } from 'zod';
import { formatDurationMs, lacksUnit, parseDurationMs } from '../lib/durations.js';
import { parseSizeBytes } from '../lib/sizes.js';
import { parseSmarthostUrl } from './smarthost-url.js';

// The single source of the configuration: defaults, allowed values and their descriptions.
// Environment variables are mapped onto these keys in env.ts.

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/**
 * `zeroTurnsOff` for the keys whose description says "0 turns it off"; elsewhere 0 is refused
 * rather than read as "no limit" (a lease or a timeout of 0 ms would break delivery). A bare
 * number other than 0 is refused: is `30` seconds or minutes?
 */
const duration = (fallback: string, { zeroTurnsOff = false } = {}) =>
  z
    .union([z.number().int().nonnegative(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const text = String(value);
      const ms = parseDurationMs(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: lacksUnit(text) ? 'has no unit (only 0 may be written without one)' : 'is not a duration' });
        return z.NEVER;
      }
      if (ms === 0 && !zeroTurnsOff) {
        ctx.addIssue({ code: 'custom', message: 'must be longer than 0 (0 does not turn this off)' });
        return z.NEVER;
      }
      return ms;
    });

/** Described as 'size' so that the reference (reference.ts) tells it from a duration. */
const size = (fallback: string) =>
  z
    .union([z.number().int().nonnegative(), z.string().describe('size')])
    .default(fallback)
    .transform((value, ctx) => {
      if (typeof value === 'number') return value;
      const bytes = parseSizeBytes(value);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: 'is not a size' });
        return z.NEVER;
      }
      return bytes;
    });

/** Environment values are strings: "false" must mean false (z.coerce.boolean would make it true). */
const flag = (fallback: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', 'yes', 'no', '1', '0'])])
    .default(fallback)
    .transform((value) => value === true || value === 'true' || value === 'yes' || value === '1');

const smarthost = z.string().transform((value, ctx) => {
  const parsed = parseSmarthostUrl(value);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  }
  return parsed;
});

const isKeyEncryptionKey = (value: string) => Buffer.from(value, 'base64').length === 32;

/**
 * Key-encryption keys used before a rotation; the environment gives them comma-separated. A
 * bad entry is named by its position, never by its value.
 */
const previousKeys = z
  .union([z.array(z.string()), z.string()])
  .default([])
  .transform((value, ctx) => {
    const entries = (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim()).filter((entry) => entry !== '');
    const bad = entries.flatMap((entry, i) => (isKeyEncryptionKey(entry) ? [] : [i + 1]));
    if (bad.length === 0) return entries;
    ctx.addIssue({
      code: 'custom',
      message: `${bad.length === 1 ? 'entry' : 'entries'} ${bad.join(', ')} of ${entries.length} ${bad.length === 1 ? 'is' : 'are'} not base64 of 32 bytes`,
    });
    return z.NEVER;
  });

/**
 * Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or
 * CIDR ranges, comma-separated from the environment. None by default, so a client cannot
 * choose the address that per-address limits count.
 */
/**
 * The seed's secure subdomain: a directory user customerservice@example.com also gets the alias
 * customerservice@secure.example.com, so the directory need not know the subdomain.
 */
const aliasDomains = z
  .union([z.array(z.string()), z.string()])
  .default([])
  .transform((value, ctx) => {
    const entries = (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== '');
    const rules: { from: string; to: string }[] = [];
    for (const entry of entries) {
      const [from = '', to = '', ...rest] = entry.split('=');
      if (rest.length > 0 || from === '' || to === '' || from === to) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not a rule such as example.com=secure.example.com` });
        return z.NEVER;
      }
      rules.push({ from, to });
    }
    return rules;
  });

const trustedProxies = z
  .union([z.array(z.string()), z.string()])
  .default([])
  .transform((value, ctx) => {
    const entries = (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim()).filter((entry) => entry !== '');
    const bad = entries.filter((entry) => !isAddressOrRange(entry));
    if (bad.length === 0) return entries;
    ctx.addIssue({ code: 'custom', message: `${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not an IP address or CIDR range` });
    return z.NEVER;
  });

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** Ports 587/465 need privileges; an unprivileged first run gets 2587/2465 (DESIGN.md). */
const privileged = typeof process.getuid === 'function' && process.getuid() === 0;

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** PostgreSQL, the shared store of several instances; the embedded SQLite file in dataDir when unset. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/)
      .optional(),
    /** Which parts this instance runs; the parts other than all share their work through PostgreSQL. */
    role: z.enum(['all', 'smtp', 'worker', 'http']).default('all'),
    /** Key of the keyed hashes of credential secrets, base64 of 32 bytes; generated into the data directory when unset. */
    credentialHashKey: z.string().refine(isKeyEncryptionKey, 'is not base64 of 32 bytes').optional(),
    /** Key of the audit log's HMAC chain, base64 of 32 bytes; generated into the data directory when unset. */
    auditKey: z.string().refine(isKeyEncryptionKey, 'is not base64 of 32 bytes').optional(),
    hostname: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/)
      .default(osHostname()),
    smtp: z
      .object({
        listenHost: z.string().min(1).default('127.0.0.1'),
        port: port(privileged ? 587 : 2587),
        smtpsPort: port(privileged ? 465 : 2465),
        /** Organisation servers relaying inbound mail (Exchange Online connectors): client certificates or AUTH. */
        relayPort: port(privileged ? 25 : 2525),
        maxMessageBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024),
        maxRecipients: z.coerce.number().int().min(1).max(10_000).default(100),
        maxReceived: z.coerce.number().int().min(1).max(1000).default(50),
        maxConnections: z.coerce.number().int().min(1).default(1000),
        maxConnectionsPerIp: z.coerce.number().int().min(0).default(20),
        /** SMTP acceptor processes sharing the listeners (src/app/smtp-workers.ts); 1 keeps the sessions in the one process. */
        workers: z.coerce.number().int().min(1).max(64).default(1),
        idleTimeout: duration('5m'),
        commandTimeout: duration('5m'),
        dataTimeout: duration('10m'),
        tlsHandshakeTimeout: duration('10s'),
        authFailuresPerIp: z.coerce.number().int().min(1).default(10),
        // NIST SP 800-63B §5.2.2: no more than 100 consecutive failures per account.
        authFailuresPerUser: z.coerce.number().int().min(1).default(100),
        authFailureWindow: duration('15m'),
        authKnownSourceWindow: duration('24h'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        listenHost: z.string().min(1).default('127.0.0.1'),
        port: port(8025),
        /** Where applications reach this server, for the signed download links in webhooks; http://listenHost:port when unset. */
        publicUrl: z.url({ protocol: /^https?$/ }).optional(),
        trustedProxies,
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** A validating resolver as host:port; the system resolver when unset. */
    dnsResolver: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+)(:\d{1,5})?$/)
      .optional(),
    /** Key-encryption key, base64 of 32 bytes; generated into the data directory when unset. */
    masterKey: z.string().refine(isKeyEncryptionKey, 'is not base64 of 32 bytes').optional(),
    /** Keys that sealed values before a rotation: they still open what they sealed, and never seal. */
    previousMasterKeys: previousKeys,
    limits: z
      .object({
        domainsPerOrganisation: z.coerce.number().int().min(1).max(1000).default(4),
        addressesPerDomain: z.coerce.number().int().min(1).max(100_000).default(50),
      })
      .strict()
      .prefault({}),
    smarthost: smarthost.optional(),
    smarthostCaFile: z.string().min(1).optional(),
    /** Capture every outbound mail instead of sending it; auto: when no smarthost or outbound connection is set. */
    sandbox: z
      .union([z.boolean(), z.enum(['auto', 'true', 'false', 'yes', 'no', '1', '0'])])
      .default('auto')
      .transform((value): boolean | 'auto' => (value === 'auto' ? 'auto' : value === true || value === 'true' || value === 'yes' || value === '1')),
    /** Direct delivery to the recipient domain's MX hosts, for mail no smarthost carries. */
    delivery: z
      .object({
        /** Off: mail without a smarthost waits in the queue (networks where port 25 is closed). */
        direct: flag(true),
        /** 25 (RFC 5321); tests point it at an ephemeral port on the MX hosts' addresses. */
        mxPort: z.coerce.number().int().min(1).max(65535).default(25),
        /** Extra trust anchors (PEM) for verified MX certificates (MTA-STS, require-verified) and MTA-STS policy fetches. */
        caFile: z.string().min(1).optional(),
        /** 443 (RFC 8461 §3.3); tests serve the policy on an ephemeral port. */
        mtaStsPort: z.coerce.number().int().min(1).max(65535).default(443),
        connectTimeout: duration('30s'),
        // RFC 5321 §4.5.3.2: 5 minutes for the greeting and each command, 10 for the final dot.
        greetingTimeout: duration('5m'),
        commandTimeout: duration('5m'),
        dataTimeout: duration('10m'),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        expireAfter: duration('5d'),
        retryInitial: duration('1m'),
        retryMax: duration('1h'),
        concurrency: z.coerce.number().int().min(1).max(256).default(16),
        lease: duration('10m'),
        pollInterval: duration('2s').refine((ms) => ms >= 100, { message: 'is shorter than 100ms, which keeps the store busy with polls' }),
      })
      .strict()
      .prefault({}),
    inbound: z
      .object({
        /** Mail for known addresses from clients that did not authenticate (marked authenticated: false). */
        allowUnauthenticated: flag(false),
        /** Webhooks to loopback and private addresses; for tests and closed networks only (SSRF). */
        allowPrivateWebhooks: flag(false),
        webhookCaFile: z.string().min(1).optional(),
        /** CA certificates (PEM file) that client certificates on the relay port must chain to; the system store when unset. */
        clientCa: z.string().min(1).optional(),
        webhookTimeout: duration('15s'),
        /** Attachments up to this size travel inside the webhook JSON; larger ones as signed links. */
        inlineAttachmentBytes: z.coerce
          .number()
          .int()
          .min(0)
          .default(256 * 1024),
        /** How long a delivered inbound message stays downloadable through its signed links. */
        retainBodies: duration('7d'),
      })
      .strict()
      .prefault({}),
    verification: z
      .object({
        /** How long a leg may take to bring its token back before it fails. */
        timeout: duration('15m'),
        /** The round trip repeats on this schedule for every connected domain; 0 turns it off. */
        interval: duration('1h', { zeroTurnsOff: true }),
      })
      .strict()
      .prefault({}),
    dkim: z
      .object({
        /** How often keys waiting on DNS (pending) or on their grace period (retiring) are checked; 0 turns it off. */
        checkInterval: duration('10m', { zeroTurnsOff: true }),
      })
      .strict()
      .prefault({}),
    directorySync: z
      .object({
        /** Per claimed domain, the domain each synced address also gets an alias in: example.com=secure.example.com. */
        aliasDomains,
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** Below this much free space on the data directory's filesystem: not ready, and MAIL FROM gets 452 4.3.1; 0 turns it off. */
        minFreeDisk: size('100MB'),
      })
      .strict()
      .prefault({}),
    shutdownTimeout: duration('30s'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export const DURATION_HINT = `a duration such as ${formatDurationMs(30_000)}, ${formatDurationMs(300_000)} or ${formatDurationMs(5 * 86_400_000)} (units ms, s, m, h, d)`;

/** What a key accepts, said the way the fix line of an error needs it. */
export const ALLOWED: Record<string, string> = {
  hostname: 'a host name such as mail.example.com',
  'smtp.port': 'a port number from 0 to 65535',
  'smtp.smtpsPort': 'a port number from 0 to 65535',
  'smtp.relayPort': 'a port number from 0 to 65535',
  'http.port': 'a port number from 0 to 65535',
  'smtp.workers': 'a whole number of processes from 1 (the sessions in the one process) to 64',
  smarthost: 'smtp://user:pass@host:port (STARTTLS required), smtps://user:pass@host:port (implicit TLS), or smtp://host:port?tls=none for a local test sink',
  logLevel: 'one of fatal, error, warn, info, debug, trace, silent',
  logFormat: 'one of auto (readable lines on a terminal, JSON otherwise), json, pretty',
  dnsResolver: 'host:port of a DNS resolver, e.g. 127.0.0.1:53 (a validating resolver for DNSSEC)',
  masterKey: 'base64 of 32 random bytes, e.g. the output of: openssl rand -base64 32',
  credentialHashKey: 'base64 of 32 random bytes, e.g. the output of: openssl rand -base64 32; the same on every instance',
  auditKey: 'base64 of 32 random bytes, e.g. the output of: openssl rand -base64 32; the same on every instance',
  role: 'one of all, smtp, worker, http; a role other than all needs databaseUrl (RELAYGATE_DATABASE_URL=postgres://…), the store the parts share',
  databaseUrl: 'a PostgreSQL URL, e.g. postgres://relaygate:secret@db.example.com:5432/relaygate',
  previousMasterKeys:
    'the key-encryption keys used before a rotation, each base64 of 32 bytes (comma-separated in RELAYGATE_PREVIOUS_MASTER_KEYS); check each against its backup',
  'limits.domainsPerOrganisation': 'a whole number from 1 to 1000',
  'limits.addressesPerDomain': 'a whole number from 1 to 100000',
  'smtp.maxMessageBytes': 'a whole number of bytes, at least 1024',
  'smtp.maxRecipients': 'a whole number from 1 to 10000',
  'smtp.maxReceived': 'a whole number from 1 to 1000',
  'queue.concurrency': 'a whole number from 1 to 256',
  'http.publicUrl': 'an http:// or https:// URL, e.g. https://relaygate.example.com',
  'http.trustedProxies': 'IP addresses or CIDR ranges of your reverse proxies, e.g. 127.0.0.1,10.0.0.0/8 (comma-separated in RELAYGATE_HTTP_TRUSTED_PROXIES)',
  'inbound.inlineAttachmentBytes': 'a whole number of bytes, 0 or more',
  'inbound.allowUnauthenticated': 'true or false',
  'inbound.allowPrivateWebhooks': 'true or false',
  'delivery.direct': 'true or false',
  sandbox: 'true, false or auto',
  'delivery.mxPort': 'a port number from 1 to 65535',
  'delivery.mtaStsPort': 'a port number from 1 to 65535',
  'verification.interval': `${DURATION_HINT}, or 0 to turn it off`,
  'dkim.checkInterval': `${DURATION_HINT}, or 0 to turn it off`,
  'directorySync.aliasDomains': 'rules such as example.com=secure.example.com (comma-separated in RELAYGATE_DIRECTORY_SYNC_ALIAS_DOMAINS)',
  'health.minFreeDisk': 'a size in bytes, or with a unit: 500MB, 2GB, 1GiB (0 turns the check off)',
};
