import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Connection, ConnectionPatch, ConnectionTest } from '../../directory/connections.js';
import type { Actor } from '../../directory/context.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Connections = AdminServices['connections'];

interface TargetOptions {
  host?: string;
  port?: number;
  tls?: string;
  username?: string;
  secret?: string;
  secretStdin?: boolean;
  /** A kind with --auth; false with --no-auth (update only). */
  auth?: string | boolean;
  oauth2TokenUrl?: string;
  oauth2ClientId?: string;
  oauth2Scope?: string;
  clientCert?: string | false;
  clientKey?: string;
  json?: boolean;
}

const SECRET_HELP = `The secret is sealed at rest with the key-encryption key (RELAYGATE_MASTER_KEY, else
data/keys/master.key) and never shown again. --secret-stdin reads it from standard input;
--secret puts it in your shell history and the process list, so keep it for scripts.
With --auth xoauth2 or oauthbearer the secret is the OAuth 2.0 client secret: the gateway
fetches access tokens from --oauth2-token-url (client-credentials grant) and caches them
until shortly before they expire. --client-key is sealed the same way.`;

const CERT_EXAMPLES = `  relaygate connection add --domain secure.example.com --host example-com.mail.protection.outlook.com --port 25 --client-cert /etc/relaygate/client.pem --client-key /etc/relaygate/client.key
  printf '%s' "$CLIENT_SECRET" | relaygate connection add --domain secure.example.com --host smtp.gmail.com --username relay@example.com --auth xoauth2 --oauth2-token-url https://oauth2.example.com/token --oauth2-client-id 1234.apps.example.com --oauth2-scope https://mail.google.com/ --secret-stdin`;

export function registerConnection(program: Command): void {
  const connection = program
    .command('connection')
    .description(descriptionOf('connection'))
    .addHelpText(
      'after',
      '\nExamples:\n  printf %s "$SECRET" | relaygate connection add --domain example.com --host mail.example.com --username relay@example.com --secret-stdin\n  relaygate connection list\n  relaygate connection test conn_0123456789abcdef',
    );
  registerAdd(connection);
  registerList(connection);
  registerShow(connection);
  registerUpdate(connection);
  registerRemove(connection);
  registerTest(connection);
}

function registerAdd(connection: Command): void {
  targetOptions(connection.command('add'))
    .description('add the smarthost for a domain or an address')
    .option('--domain <domain>', 'mail from any address of this domain')
    .option('--address <address>', 'mail from this address only (wins over its domain)')
    .addHelpText(
      'after',
      `\nExamples:\n  printf '%s' "$SMARTHOST_PASSWORD" | relaygate connection add --domain example.com --host smtp.example.com --username relay@example.com --secret-stdin\n  relaygate connection add --address billing@example.com --host mail.example.net --port 465 --tls implicit --username billing --secret-stdin < secret.txt\n${CERT_EXAMPLES}\n\n${SECRET_HELP}`,
    )
    .action(async (opts: TargetOptions & { domain?: string; address?: string }, command: Command) => {
      if (Boolean(opts.domain) === Boolean(opts.address)) throw new CliError('give exactly one of --domain or --address');
      if (!opts.host) throw new CliError('--host is required: the smarthost to relay through');
      const secret = await secretFrom(opts);
      const input = {
        scopeKind: opts.domain ? 'domain' : 'address',
        scope: opts.domain ?? opts.address ?? '',
        host: opts.host,
        port: opts.port,
        tlsMode: opts.tls,
        username: opts.username,
        secret,
        ...authPatch(opts),
        ...(await clientCertPatch(opts)),
      };
      const created = await run(command, (connections, actor) => connections.create(input, actor));
      if (opts.json) return printJson(toJson(created));
      process.stdout.write(
        `Added ${created.id}: mail from ${created.scope} goes through ${describeTarget(created)}\nTry it: relaygate connection test ${created.id}\n`,
      );
    });
}

function registerList(connection: Command): void {
  connection
    .command('list')
    .description('list outbound connections (never their secrets)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate connection list --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const page = await run(command, (connections) => connections.list({ limit: 500, offset: 0 }));
      if (opts.json) return printJson(page.items.map(toJson));
      printTable(
        page.items.map((c) => ({
          id: c.id,
          scope: c.scope,
          host: `${c.host}:${c.port}`,
          tls: c.tlsMode,
          username: c.username ?? '-',
          auth: c.auth,
          secret: c.hasSecret ? 'set' : '-',
          'client cert': c.clientCert ? 'set' : '-',
          updated: formatTime(c.updatedAt),
        })),
        ['id', 'scope', 'host', 'tls', 'username', 'auth', 'secret', 'client cert', 'updated'],
      );
    });
}

function registerShow(connection: Command): void {
  connection
    .command('show')
    .description('show an outbound connection (never its secret)')
    .argument('<id>', 'connection id (see connection list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate connection show conn_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const shown = await run(command, (connections) => connections.show(id));
      if (opts.json) return printJson(toJson(shown));
      const lines = [
        `Connection ${shown.id}`,
        `  ${`${shown.scopeKind}:`.padEnd(11)}${shown.scope}`,
        `  smarthost: ${describeTarget(shown)}`,
        `  username:  ${shown.username ?? '-'}`,
        `  auth:      ${shown.auth}`,
        ...(shown.oauth2
          ? [`  token url: ${shown.oauth2.tokenUrl}`, `  client id: ${shown.oauth2.clientId}`, `  scope:     ${shown.oauth2.scope ?? '-'}`]
          : []),
        `  secret:    ${shown.hasSecret ? 'set (sealed)' : '-'}`,
        ...(shown.clientCert
          ? [
              `  client certificate: ${shown.clientCert.subject} (${shown.clientCert.subjectAltName ?? 'no subjectAltName'})`,
              `    issuer ${shown.clientCert.issuer}, valid to ${shown.clientCert.validTo}, key sealed`,
              `    SHA-256 ${shown.clientCert.fingerprint256}`,
            ]
          : ['  client certificate: -']),
        `  created:   ${formatTime(shown.createdAt)}`,
        `  updated:   ${formatTime(shown.updatedAt)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function registerUpdate(connection: Command): void {
  targetOptions(connection.command('update'))
    .description('change an outbound connection; delivery uses the change within seconds')
    .argument('<id>', 'connection id (see connection list)')
    .option('--no-auth', 'remove the username and secret (and any OAuth 2.0 settings)')
    .option('--no-client-cert', 'stop presenting a client certificate (its sealed key is deleted)')
    .addHelpText(
      'after',
      `\nExamples:\n  relaygate connection update conn_0123456789abcdef --secret-stdin < new-secret.txt\n  relaygate connection update conn_0123456789abcdef --host smtp2.example.com --port 2525\n\n${SECRET_HELP}`,
    )
    .action(async (id: string, opts: TargetOptions, command: Command) => {
      const secret = await secretFrom(opts);
      const patch: ConnectionPatch = {
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.tls !== undefined ? { tlsMode: opts.tls } : {}),
        ...(opts.username !== undefined ? { username: opts.username } : {}),
        ...(secret !== undefined ? { secret } : {}),
        ...(opts.auth === false ? { username: null } : authPatch(opts)),
        ...(opts.clientCert === false ? { clientCert: null } : await clientCertPatch(opts)),
      };
      if (Object.keys(patch).length === 0) {
        throw new CliError(
          'say what to change: --host, --port, --tls, --username, --secret-stdin, --auth, --oauth2-…, --client-cert/--client-key, --no-client-cert or --no-auth',
        );
      }
      const updated = await run(command, (connections, actor) => connections.update(id, patch, actor));
      if (opts.json) return printJson(toJson(updated));
      process.stdout.write(`Updated ${updated.id}: mail from ${updated.scope} goes through ${describeTarget(updated)}\n`);
    });
}

function registerRemove(connection: Command): void {
  connection
    .command('remove')
    .description('remove an outbound connection; its mail falls back to the global smarthost')
    .argument('<id>', 'connection id (see connection list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate connection remove conn_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const removed = await run(command, (connections, actor) => connections.remove(id, actor));
      if (opts.json) return printJson(toJson(removed));
      process.stdout.write(`Removed ${removed.id} (${removed.scope} via ${removed.host})\n`);
    });
}

function registerTest(connection: Command): void {
  connection
    .command('test')
    .description('connect, negotiate TLS, authenticate and quit, showing each step; sends no mail; exit status 1 when a step fails')
    .argument('<id>', 'connection id (see connection list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate connection test conn_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const result = await run(command, (connections, actor) => connections.test(id, actor));
      if (opts.json) printJson({ ...result, connection: toJson(result.connection), testedAt: formatTime(result.testedAt) });
      else process.stdout.write(describeTest(result));
      if (!result.ok) throw new CliError(`connection ${id} failed at ${result.steps.find((s) => s.status === 'fail')?.step ?? 'a step'}`);
    });
}

function describeTest(result: ConnectionTest): string {
  const lines = [`Testing ${result.connection.id}: ${describeTarget(result.connection)}`];
  for (const s of result.steps) {
    lines.push(`  ${s.status.toUpperCase().padEnd(4)}  ${s.step.padEnd(8)}  ${s.detail}`);
    if (s.reply) lines.push(...s.reply.split('\n').map((line) => `${' '.repeat(18)}< ${line}`));
  }
  if (result.ok) lines.push('Every step passed.');
  return `${lines.join('\n')}\n`;
}

function targetOptions(command: Command): Command {
  return command
    .option('--host <host>', 'smarthost name or IP address')
    .option('--port <port>', 'port (default 587 for starttls, 465 for implicit, 25 for none)', port)
    .option('--tls <mode>', 'starttls (required), implicit, or none (no TLS: a local sink, no credentials)')
    .option('--username <name>', 'SMTP AUTH username')
    .option('--secret-stdin', 'read the SMTP AUTH secret from standard input')
    .option('--secret <secret>', 'the SMTP AUTH secret (visible in the process list; prefer --secret-stdin)')
    .option('--auth <kind>', 'password (default), xoauth2 or oauthbearer (OAuth 2.0 client credentials; the secret is the client secret)')
    .option('--oauth2-token-url <url>', "the provider's https token endpoint (Microsoft's: https://login.microsoftonline.com/TENANT/oauth2/v2.0/token)")
    .option('--oauth2-client-id <id>', 'the OAuth 2.0 client (application) id')
    .option('--oauth2-scope <scope>', 'scopes to ask for, e.g. https://outlook.office365.com/.default')
    .option('--client-cert <file>', 'PEM certificate chain (leaf first) presented on STARTTLS when the server asks, as Exchange Online connectors do')
    .option('--client-key <file>', 'its unencrypted PEM private key; sealed at rest, never shown')
    .option('--json', 'print JSON');
}

function authPatch(opts: TargetOptions): ConnectionPatch {
  return {
    ...(typeof opts.auth === 'string' ? { auth: opts.auth } : {}),
    ...(opts.oauth2TokenUrl !== undefined ? { oauth2TokenUrl: opts.oauth2TokenUrl } : {}),
    ...(opts.oauth2ClientId !== undefined ? { oauth2ClientId: opts.oauth2ClientId } : {}),
    ...(opts.oauth2Scope !== undefined ? { oauth2Scope: opts.oauth2Scope } : {}),
  };
}

/** The PEM files, read here so that the service gets their text (and an unreadable file is named with its flag). */
async function clientCertPatch(opts: TargetOptions): Promise<ConnectionPatch> {
  const read = async (flag: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new CliError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const cert = await read('--client-cert', typeof opts.clientCert === 'string' ? opts.clientCert : undefined);
  const key = await read('--client-key', opts.clientKey);
  return { ...(cert !== undefined ? { clientCert: cert } : {}), ...(key !== undefined ? { clientKey: key } : {}) };
}

/** The secret from --secret or standard input (one trailing newline dropped, as `echo` adds one). */
async function secretFrom(opts: TargetOptions): Promise<string | undefined> {
  if (opts.secret !== undefined && opts.secretStdin) throw new CliError('give --secret or --secret-stdin, not both');
  if (!opts.secretStdin) return opts.secret;
  if (process.stdin.isTTY) throw new CliError('--secret-stdin reads a pipe or a file: printf %s "$SECRET" | relaygate connection …');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const secret = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (secret === '') throw new CliError('--secret-stdin read nothing from standard input');
  return secret;
}

async function run<T>(command: Command, work: (connections: Connections, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, (services, actor) => work(services.connections, actor));
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliError(err.field ? `${err.message} (${flagFor(err.field)})` : err.message);
    throw err;
  }
}

/** The CLI flag for a field the service names in the API's spelling. */
function flagFor(field: string): string {
  const flags: Record<string, string> = {
    scope: '--domain/--address',
    tlsMode: '--tls',
    secret: '--secret-stdin',
    scopeKind: '--domain/--address',
    oauth2TokenUrl: '--oauth2-token-url',
    oauth2ClientId: '--oauth2-client-id',
    oauth2Scope: '--oauth2-scope',
    clientCert: '--client-cert',
    clientKey: '--client-key',
  };
  return flags[field] ?? `--${field}`;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliError(`--port must be a whole number from 1 to 65535, not "${value}"`);
  return n;
}

const describeTarget = (c: Connection) =>
  `${c.host}:${c.port} (${c.tlsMode === 'none' ? 'no TLS' : c.tlsMode === 'implicit' ? 'implicit TLS' : 'STARTTLS'}${c.clientCert ? ', client certificate' : ''}${
    c.username ? `, AUTH ${c.auth === 'password' ? '' : `${c.auth.toUpperCase()} `}as ${c.username}` : ''
  })`;

const toJson = (c: Connection) => ({ ...c, createdAt: formatTime(c.createdAt), updatedAt: formatTime(c.updatedAt) });
