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
  auditKey:
    'Key (base64 of 32 bytes) of the HMAC chain of the audit log; generated into the data directory (keys/audit.key) when unset. Instances sharing PostgreSQL need the same one; a key other than the one the log is chained with stops the start.',
  hostname: 'The name the gateway gives itself in SMTP greetings, Received fields, DSNs and Authentication-Results.',
  'smtp.listenHost': 'Address the SMTP listeners bind to.',
  'smtp.port': 'Submission port with STARTTLS (RFC 6409, RFC 3207).',
  'smtp.smtpsPort': 'Submission port with implicit TLS (RFC 8314).',
  'smtp.relayPort':
    "Relay port for the organisations' own mail servers (Exchange Online, Google Workspace, Postfix) sending inbound mail: STARTTLS with a client certificate requested, or AUTH after STARTTLS; only inbound credentials relay here, to their own domain's addresses.",
  'smtp.maxMessageBytes': 'Largest message accepted (advertised as SIZE); larger ones get 552 5.3.4.',
  'smtp.maxRecipients': 'Most recipients in one transaction; more get 452 4.5.3.',
  'smtp.maxReceived':
    'Most Received header fields a message may carry (RFC 5321 §6.3; 50, as Postfix’s hopcount_limit); more is taken for a mail loop and refused with 554 5.4.6 at the end of DATA, on every listener.',
  'smtp.maxConnections':
    'Most SMTP sessions at once on each listener (submission, implicit TLS and relay), and most TLS handshakes pending on the implicit TLS one; when full, the oldest handshake still in progress gives up its slot, then more get 421.',
  'smtp.maxConnectionsPerIp':
    'Most SMTP sessions at once from one client address (an IPv6 client: its /64), counted across all three listeners from the TCP connection on; more get 421 4.7.0 (the implicit TLS port closes them before the handshake). 0 turns it off.',
  'smtp.workers':
    'Processes that accept SMTP sessions, sharing the three listeners (the kernel hands each connection to one of them); each spools and commits the mail it accepts, and the main process delivers it. 1 keeps every session in the main process. More pays where cores are free beside the load: on 2 cores each message cost half as much CPU again, for no more mail per second. The connection limits hold per process.',
  'smtp.idleTimeout': 'A session with no traffic for this long is closed (RFC 5321 §4.5.3.2).',
  'smtp.commandTimeout': 'Time a client has to send one command line.',
  'smtp.dataTimeout': 'Time a client has to send one message, DATA to end of data.',
  'smtp.tlsHandshakeTimeout': 'A TLS handshake (implicit TLS or after STARTTLS) not completed within this time is closed.',
  'smtp.authFailuresPerIp': 'Failed AUTH attempts from one address within the window before 454 4.7.0.',
  'smtp.authFailuresPerUser':
    'Failed AUTH attempts for one user name within the window before 454 4.7.0 (NIST SP 800-63B §5.2.2 allows no more than 100); failures from outside its allowed networks are counted apart, and never lock out an address that authenticated as it within smtp.authKnownSourceWindow.',
  'smtp.authFailureWindow': 'The window over which failed AUTH attempts are counted.',
  'smtp.authKnownSourceWindow': 'How long an address that authenticated as a user name stays exempt from that user name’s AUTH lock.',
  'http.listenHost': 'Address the HTTP server (admin API, health, metrics, download links) binds to.',
  'http.port': 'HTTP port.',
  'http.publicUrl':
    'Base URL this server is reached at from outside (https, behind your proxy): for the portal links in secure-message notifications and the signed download links in webhooks; http://listenHost:port when unset.',
  'http.trustedProxies':
    'Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client: the portal limits, audit records and logs then see the client address, not the proxy. None by default: the header is ignored.',
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
  'delivery.connectTimeout':
    'How long a TCP connection to one MX address or the smarthost may take (the smarthost: its name lookup too) before the next is tried.',
  'delivery.greetingTimeout':
    'How long the smarthost or an MX host may take to send its 220 greeting (RFC 5321 §4.5.3.2.1); a timeout defers as a connection problem.',
  'delivery.commandTimeout':
    'How long the smarthost or an MX host may take to answer one command (RFC 5321 §4.5.3.2). A pooled smarthost connection has one idle timer, the longer of this and delivery.dataTimeout.',
  'delivery.dataTimeout':
    'How long the next hop may take to answer the final dot of a message (RFC 5321 §4.5.3.2.6). A timeout then is deferred with "timeout after the final dot": the remote may have the message, so the retry may deliver a duplicate.',
  'queue.expireAfter': 'How long delivery is retried before a message bounces (outbound) or is parked (inbound).',
  'queue.retryInitial': 'First retry delay; it doubles (with jitter) up to queue.retryMax.',
  'queue.retryMax': 'Longest delay between two attempts.',
  'queue.concurrency': 'Messages delivered at once by this process.',
  'queue.lease': 'How long a worker holds a claimed message before another may take it over.',
  'queue.pollInterval':
    'Longest a worker waits before it looks for due work without a wake-up (a NOTIFY from another instance on PostgreSQL, or its own SMTP acceptance). While the LISTEN connection is being re-established, new work from other instances waits this long at most.',
  'inbound.allowUnauthenticated': 'Accept mail for known addresses from clients that do not authenticate (after STARTTLS), marked authenticated: false.',
  'inbound.allowPrivateWebhooks':
    'Allow webhook URLs on loopback, private and other special-purpose addresses, localhost, and http:// (tests and closed networks only: SSRF). Checked when a target is set and at each delivery.',
  'inbound.webhookCaFile': 'Extra CA (PEM) trusted for webhook endpoints.',
  'inbound.clientCa':
    "CA certificates (PEM file) that the client certificates of inbound credentials with a TLS client name must chain to on the relay port; the system's trust store when unset.",
  'inbound.webhookTimeout': 'How long one webhook call may take, connect to last byte.',
  'inbound.inlineAttachmentBytes': 'Attachments up to this size travel inside the webhook JSON; larger ones as signed links.',
  'inbound.retainBodies': 'How long a delivered inbound message stays downloadable through its signed links.',
  'verification.timeout': 'How long a connection check leg may take to bring its token back before it fails.',
  'verification.interval': 'How often the connection check repeats for each verified domain; 0 turns it off.',
  'dkim.checkInterval':
    'How often DKIM keys waiting on DNS (pending) or on their grace period (retiring) are checked, moving them on when they can; 0 turns it off.',
  'directorySync.aliasDomains':
    "Rules domain=aliasDomain for addresses synced from the organisation's directory (SCIM): each synced address in the domain also gets the same local part in aliasDomain as an alias, e.g. example.com=secure.example.com gives customerservice@example.com the alias customerservice@secure.example.com. Both domains must be verified. None by default.",
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
  'smtp.relayPort': '25 as root, else 2525',
  'smtp.workers': '1 (one process)',
};
