import { type Command, Option } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { Credential, CredentialKind } from '../../directory/credentials.js';
import { POINT_IN_TIME_HELP, parsePointInTime } from '../../directory/point-in-time.js';
import { parseDurationMs } from '../../lib/durations.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

interface CreateOptions {
  kind: CredentialKind;
  description?: string;
  tlsClientName?: string;
  organisation?: string;
  domain?: string;
  allowSender: string[];
  allowNetwork: string[];
  expires?: string;
  maxPerHour?: number;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

export function registerCredential(program: Command): void {
  const credential = program
    .command('credential')
    .description(descriptionOf('credential'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate credential create --kind submission --description "CRM"\n  relaygate credential create --kind inbound --domain example.com --description "Mail server"\n  relaygate credential list',
    );

  credential
    .command('create')
    .description('create a credential; its secret is shown once and only a keyed hash is kept')
    .addOption(new Option('--kind <kind>', 'what the credential is for').choices(['submission', 'inbound']).default('submission'))
    .option('--description <text>', 'what uses it, e.g. "Salesforce" (required, except with --tls-client-name)')
    .option('--organisation <id>', 'submission: the organisation it sends for (default org_default)')
    .option('--domain <name>', 'inbound: the claimed domain it belongs to (at most two live per domain)')
    .option('--allow-sender <address|@domain>', 'submission: only these senders, repeatable or comma-separated', collect, [])
    .option(
      '--tls-client-name <name>',
      'inbound: no secret; the mail server proves itself with a TLS client certificate valid for this DNS name, on the relay port (Exchange Online connectors)',
    )
    .option('--allow-network <cidr>', 'accept AUTH (or the certificate) only from these networks (IPv4 or IPv6), repeatable or comma-separated', collect, [])
    .option('--expires <when>', `stop working at ${POINT_IN_TIME_HELP}`)
    .option('--max-per-hour <n>', 'at most this many messages per hour; over it MAIL FROM gets 450 4.7.1', (v) => positiveInt(v, '--max-per-hour'))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  relaygate credential create --description Salesforce
  relaygate credential create --description "Helpdesk" --allow-sender support@example.com,@help.example.com \\
      --allow-network 192.0.2.0/24 --allow-network 2001:db8::/32 --expires 90d --max-per-hour 500
  relaygate credential create --kind inbound --domain example.com --description "Exchange, 2026 rotation"
  relaygate credential create --kind inbound --domain example.com --tls-client-name mail.example.com --allow-network 203.0.113.0/24`,
    )
    .action(async (opts: CreateOptions, command: Command) => {
      const { credential: created, secret } = await run(command, (services, actor) => services.credentials.create(newCredential(opts), actor));
      if (opts.json) return printJson({ ...toJson(created), secret });
      if (secret === null) {
        process.stdout.write(
          `Created ${created.kind} credential ${created.id} (${created.description}) for ${created.domain}\n\n  client certificate for: ${created.tlsClientName}\n\nIt has no secret. The mail server relays on the relay port (smtp.relayPort) with STARTTLS and a client certificate\nvalid for ${created.tlsClientName} (a SAN DNS name) that chains to inbound.clientCa, or to the system trust store when that is unset.\n`,
        );
        return;
      }
      process.stdout.write(
        `Created ${created.kind} credential ${created.id} (${created.description})\n\n  username: ${created.username}\n  secret:   ${secret}\n\nThe secret is shown only this once: store it in the application now.\nUse it with AUTH PLAIN or LOGIN after STARTTLS on the submission port, or on the implicit-TLS port.\n`,
      );
    });

  credential
    .command('list')
    .description('list credentials with their state and last use (never their secrets)')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(['submission', 'inbound']))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate credential list\n  relaygate credential list --kind inbound --json')
    .action(async (opts: { kind?: CredentialKind; json?: boolean }, command: Command) => {
      const list = await run(command, (services) => allCredentials(services, opts.kind));
      if (opts.json) return printJson(list.map(toJson));
      printTable(
        list.map((c) => ({
          id: c.id,
          kind: c.kind,
          description: c.description,
          username: c.username,
          created: formatTime(c.createdAt),
          'last used': formatTime(c.lastUsedAt),
          'last ip': c.lastUsedIp ?? '-',
          state: credentialState(c),
        })),
        ['id', 'kind', 'description', 'username', 'created', 'last used', 'last ip', 'state'],
      );
    });

  credential
    .command('show')
    .description('one credential: its scope, limits, state and use since rotation')
    .argument('<id>', 'credential id (see credential list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate credential show cred_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const shown = await run(command, (services) => services.credentials.get(id));
      if (opts.json) return printJson(toJson(shown));
      process.stdout.write(credentialLines(shown));
    });

  credential
    .command('revoke')
    .description('revoke a credential; the next AUTH with it fails')
    .argument('<id>', 'credential id (see credential list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate credential revoke cred_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const revoked = await run(command, (services, actor) => services.credentials.revoke(id, actor));
      if (opts.json) return printJson(toJson(revoked));
      process.stdout.write(`Revoked ${revoked.id} (${revoked.description}) at ${formatTime(revoked.revokedAt)}\n`);
    });

  credential
    .command('retire')
    .description('rotate a credential out: it keeps working until the given time, and its use meanwhile shows in list and show')
    .argument('<id>', 'credential id (see credential list)')
    .requiredOption('--at <when>', `when AUTH with it starts to fail: ${POINT_IN_TIME_HELP}, or now`)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Example, a rotation without interrupting mail:
  relaygate credential create --kind inbound --domain example.com --description "Exchange, new"
  (configure the mail server with the new credential)
  relaygate credential retire cred_OLD --at 7d
  relaygate credential show cred_OLD      # "used since rotation" tells whether anything still uses it`,
    )
    .action(async (id: string, opts: { at: string; json?: boolean }, command: Command) => {
      const at = parsePointInTime(opts.at, Date.now());
      if (at === undefined) throw new CliError(`--at "${opts.at}" is not ${POINT_IN_TIME_HELP}`);
      const retired = await run(command, (services, actor) => services.credentials.retire(id, at, actor));
      if (opts.json) return printJson(toJson(retired));
      process.stdout.write(`Credential ${retired.id} (${retired.description}) stops working at ${formatTime(retired.retireAt)}\n`);
    });
}

function newCredential(opts: CreateOptions) {
  const expiresInMs = opts.expires === undefined ? undefined : parseDurationMs(opts.expires);
  const expiresAt = opts.expires === undefined || expiresInMs !== undefined ? undefined : parsePointInTime(opts.expires, Date.now());
  if (opts.expires !== undefined && expiresInMs === undefined && expiresAt === undefined)
    throw new CliError(`--expires "${opts.expires}" is not ${POINT_IN_TIME_HELP}`);
  if (opts.tlsClientName !== undefined && opts.kind !== 'inbound')
    throw new CliError('--tls-client-name: only inbound credentials authenticate by client certificate; add --kind inbound --domain <name>');
  const description = opts.description ?? (opts.tlsClientName === undefined ? undefined : `client certificate ${opts.tlsClientName.trim()}`);
  if (description === undefined) throw new CliError('--description is required: say what will use this credential, e.g. --description "Salesforce"');
  if (description.trim() === '') throw new CliError('--description must not be empty: say what will use this credential');
  return {
    kind: opts.kind,
    description,
    tlsClientName: opts.tlsClientName,
    organisationId: opts.organisation,
    domain: opts.domain,
    allowedSenders: opts.allowSender.length > 0 ? opts.allowSender : undefined,
    allowedNetworks: opts.allowNetwork.length > 0 ? opts.allowNetwork : undefined,
    expiresAt,
    expiresInMs,
    maxMessagesPerHour: opts.maxPerHour,
  };
}

async function allCredentials(services: AdminServices, kind: CredentialKind | undefined): Promise<Credential[]> {
  const all: Credential[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await services.credentials.list({ limit: 500, offset, kind });
    all.push(...page.items);
    if (all.length >= page.total || page.items.length === 0) return all;
  }
}

/** The API's field names, as the options that set them. */
const OPTION_OF: Record<string, string> = {
  description: '--description',
  organisationId: '--organisation',
  domain: '--domain',
  allowedSenders: '--allow-sender',
  allowedNetworks: '--allow-network',
  tlsClientName: '--tls-client-name',
  expiresAt: '--expires',
  expiresIn: '--expires',
  maxMessagesPerHour: '--max-per-hour',
  retireAt: '--at',
};

/** Runs a verb through the services; a refusal becomes one line naming the option and the next step. */
async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    if (err.code === 'not_found') throw new CliError(`${err.message}; see "relaygate credential list"`);
    const option = err.field ? OPTION_OF[err.field.split('.')[0] ?? ''] : undefined;
    throw new CliError(option ? `${option}: ${err.message}` : err.message);
  }
}

function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${option} must be a whole number of at least 1, not "${value}"`);
  return n;
}

function toJson(c: Credential) {
  const time = (ms: number | null) => (ms === null ? null : formatTime(ms));
  return {
    ...c,
    createdAt: formatTime(c.createdAt),
    lastUsedAt: time(c.lastUsedAt),
    revokedAt: time(c.revokedAt),
    expiresAt: time(c.expiresAt),
    retireAt: time(c.retireAt),
    retirementSetAt: time(c.retirementSetAt),
    usedSinceRotationAt: time(c.usedSinceRotationAt),
  };
}

/** One phrase for the STATE column: where the credential stands, and whether it was used after rotation. */
function credentialState(c: Credential): string {
  const rotation =
    c.retirementSetAt === null ? '' : c.usedSinceRotationAt ? `, used since rotation: ${formatTime(c.usedSinceRotationAt)}` : ', not used since rotation';
  switch (c.state) {
    case 'revoked':
      return `revoked ${formatTime(c.revokedAt)}`;
    case 'expired':
      return `expired ${formatTime(c.expiresAt)}`;
    case 'retired':
      return `retired ${formatTime(c.retireAt)}${rotation}`;
    case 'retiring':
      return `retiring at ${formatTime(c.retireAt)}${rotation}`;
    case 'active':
      return c.expiresAt === null ? 'active' : `active until ${formatTime(c.expiresAt)}`;
  }
}

function credentialLines(c: Credential): string {
  const rows: [string, string][] = [
    ['kind', c.kind],
    ['username', c.username],
    ['state', credentialState(c)],
    ['organisation', c.organisationId],
    ...(c.kind === 'inbound' ? [['domain', c.domain ?? c.domainId ?? '-'] as [string, string]] : []),
    ...(c.tlsClientName ? [['client certificate', `${c.tlsClientName} (relay port, no secret)`] as [string, string]] : []),
    ...(c.kind === 'submission'
      ? [['allowed senders', c.allowedSenders?.join(', ') ?? "any address in the organisation's verified domains"] as [string, string]]
      : []),
    ['allowed networks', c.allowedNetworks?.join(', ') ?? 'any'],
    ['expires', c.expiresAt === null ? 'never' : formatTime(c.expiresAt)],
    ['max per hour', c.maxMessagesPerHour === null ? 'no limit' : String(c.maxMessagesPerHour)],
    ['created', formatTime(c.createdAt)],
    ['last used', c.lastUsedAt === null ? 'never' : `${formatTime(c.lastUsedAt)} from ${c.lastUsedIp ?? '-'}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return `Credential ${c.id} (${c.description})\n${rows.map(([k, v]) => `  ${`${k}:`.padEnd(width)} ${v}\n`).join('')}`;
}
