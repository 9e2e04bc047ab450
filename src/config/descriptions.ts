/**
 * What each configuration key means, for the generated reference (docs/configuration.md).
 * A key without a line here fails the reference test, so a new key cannot go undocumented.
 */
export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  dataDir: 'Where the gateway keeps its SQLite store, spool, keys and generated certificate.',
  databaseUrl:
    'PostgreSQL URL (postgres://user:password@host:5432/db) of the store several instances share: configuration, queue, message bodies, events and audit. The embedded SQLite file in dataDir when unset.',
  role: 'What this instance runs: all (SMTP, delivery workers and HTTP), smtp (the SMTP listeners), worker (deliveries, webhooks and maintenance) or http (admin API, console, portal). Every role answers /healthz, /readyz and /metrics. A role other than all needs PostgreSQL.',
  credentialHashKey:
    'Key (base64 of 32 bytes) of the keyed hashes that credential secrets and tokens are stored as; generated into the data directory when unset. Instances sharing PostgreSQL need the same one.',
  hostname: 'The name the gateway gives itself in SMTP greetings, Received fields, DSNs and Authentication-Results.',
  'smtp.listenHost': 'Address the SMTP listeners bind to.',
  'smtp.port': 'Submission port with STARTTLS (RFC 6409, RFC 3207).',
  'smtp.smtpsPort': 'Submission port with implicit TLS (RFC 8314).',
  'smtp.maxMessageBytes': 'Largest message accepted (advertised as SIZE); larger ones get 552 5.3.4.',
  'smtp.maxRecipients': 'Most recipients in one transaction; more get 452 4.5.3.',
  'smtp.maxConnections': 'Most SMTP sessions at once; more get 421.',
  'smtp.idleTimeout': 'A session with no traffic for this long is closed (RFC 5321 §4.5.3.2).',
  'smtp.commandTimeout': 'Time a client has to send one command line.',
  'smtp.dataTimeout': 'Time a client has to send one message, DATA to end of data.',
  'smtp.authFailuresPerIp': 'Failed AUTH attempts from one address within the window before 454 4.7.0.',
  'smtp.authFailuresPerUser': 'Failed AUTH attempts for one user name within the window before 454 4.7.0.',
  'smtp.authFailureWindow': 'The window over which failed AUTH attempts are counted.',
  'http.listenHost': 'Address the HTTP server (admin API, health, metrics, download links) binds to.',
  'http.port': 'HTTP port.',
  'http.publicUrl':
    'Base URL this server is reached at from outside (https, behind your proxy): for the portal links in secure-message notifications and the signed download links in webhooks; http://listenHost:port when unset.',
  'tls.certFile': 'PEM certificate chain for the SMTP listeners; a development certificate is generated when unset.',
  'tls.keyFile': 'PEM private key of tls.certFile.',
  dnsResolver: "host:port of the DNS resolver every lookup goes through (a validating one for DNSSEC); the system's when unset.",
  masterKey: 'The key-encryption key (base64 of 32 bytes) that seals stored secrets; generated into the data directory when unset.',
  previousMasterKeys:
    'Key-encryption keys used before a rotation: they still open what they sealed and never seal; drop them once `relaygate key status` shows no value under them.',
  'limits.domainsPerOrganisation': 'Most domains one organisation may claim.',
  'limits.addressesPerDomain': 'Most addresses one domain may hold.',
  smarthost: 'Where outbound mail goes when no outbound connection of the organisation applies: smtp:// (STARTTLS required) or smtps://.',
  smarthostCaFile: 'Extra CA (PEM) trusted for smarthost certificates, for a smarthost with a private CA.',
  sandbox:
    'Capture every outgoing mail (deliveries, reports, notifications, verification mails) in the local sandbox mailbox instead of sending it. auto (the default): on while no smarthost and no outbound connection is configured; set false for direct MX delivery without a smarthost.',
  'delivery.direct':
    "Deliver straight to the recipient domain's MX hosts when no smarthost applies (DANE, MTA-STS, per-domain TLS policies); false: such mail waits in the queue.",
  'delivery.mxPort': 'Port dialled on MX hosts: 25, another only for tests.',
  'delivery.caFile': 'Extra CA (PEM) trusted for MX certificates that must verify (MTA-STS, require-verified) and for MTA-STS policy hosts.',
  'delivery.mtaStsPort': 'Port of the HTTPS fetch of MTA-STS policies: 443 (RFC 8461 §3.3), another only for tests.',
  'delivery.connectTimeout': 'How long a TCP connection to one MX address may take before the next is tried.',
  'queue.expireAfter': 'How long delivery is retried before a message bounces (outbound) or is parked (inbound).',
  'queue.retryInitial': 'First retry delay; it doubles (with jitter) up to queue.retryMax.',
  'queue.retryMax': 'Longest delay between two attempts.',
  'queue.concurrency': 'Messages delivered at once by this process.',
  'queue.lease': 'How long a worker holds a claimed message before another may take it over.',
  'inbound.allowUnauthenticated': 'Accept mail for known addresses from clients that do not authenticate (after STARTTLS), marked authenticated: false.',
  'inbound.allowPrivateWebhooks': 'Allow webhook URLs on loopback and private addresses (tests and closed networks only: SSRF).',
  'inbound.webhookCaFile': 'Extra CA (PEM) trusted for webhook endpoints.',
  'inbound.webhookTimeout': 'How long one webhook call may take, connect to last byte.',
  'inbound.inlineAttachmentBytes': 'Attachments up to this size travel inside the webhook JSON; larger ones as signed links.',
  'inbound.retainBodies': 'How long a delivered inbound message stays downloadable through its signed links.',
  'verification.timeout': 'How long a connection check leg may take to bring its token back before it fails.',
  'verification.interval': 'How often the connection check repeats for each verified domain; 0 turns it off.',
  'dkim.checkInterval':
    'How often DKIM keys waiting on DNS (pending) or on their grace period (retiring) are checked, moving them on when they can; 0 turns it off.',
  'health.minFreeDisk':
    "Least free space on the data directory's filesystem: below it /readyz reports the disk and MAIL FROM gets 452 4.3.1 (RFC 3463 X.3.1), so clients keep mail the gateway could not store; 0 turns it off.",
  shutdownTimeout: 'On SIGTERM, how long sessions in progress get to finish.',
  logLevel: 'Least severe log level written (JSON lines on stdout).',
  logFormat:
    'How log lines are written: json (one JSON object a line, for collectors), pretty (readable lines), or auto (pretty when stdout is a terminal, else json).',
};

/** Defaults that depend on the machine, said in words so the reference is the same everywhere. */
export const DYNAMIC_DEFAULTS: Readonly<Record<string, string>> = {
  hostname: "the machine's host name",
  'smtp.port': '587 as root, else 2587',
  'smtp.smtpsPort': '465 as root, else 2465',
};
