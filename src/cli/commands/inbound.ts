import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { InboundTarget } from '../../directory/inbound-targets.js';
import { DEFAULT_ROTATION_OVERLAP_MS } from '../../directory/rotation-overlap.js';
import { formatDurationMs, parseDurationMs } from '../../lib/durations.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Targets = AdminServices['inboundTargets'];

const SECRET_NOTE = 'shown once; configure it in your application to verify signatures (Standard Webhooks)';
const DOMAIN_HELP = "the domain's own target (a claimed domain); without it, the organisation's default for domains without their own";

export function registerInbound(program: Command): void {
  const inbound = program
    .command('inbound')
    .description(descriptionOf('inbound'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate inbound set --webhook https://helpdesk.example.com/hooks/mail\n  relaygate inbound set --domain example.com --forward inbox@helpdesk.example\n  relaygate inbound list',
    );
  registerSet(inbound);
  registerShow(inbound);
  registerList(inbound);
  registerRotateSecret(inbound);
  registerEnable(inbound);
  registerRemove(inbound);
}

function registerSet(inbound: Command): void {
  inbound
    .command('set')
    .description('send inbound mail to a webhook (signed; its secret is printed once) or forward it to an address; replaces the current target')
    .option('--domain <domain>', DOMAIN_HELP)
    .option('--webhook <url>', 'POST each message as JSON to this https:// URL on a public address (private ones only with inbound.allowPrivateWebhooks)')
    .option('--sync', "webhooks only: the SMTP reply waits for the application's answer, so it can refuse a message")
    .option('--forward <address>', "forward each message to this address (the application's inbound mailbox) through the outbound connection")
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate inbound set --webhook https://app.example.com/hooks/mail\n  relaygate inbound set --domain support.example.com --webhook https://helpdesk.example.com/mail --sync\n' +
        '  relaygate inbound set --domain billing.example.com --forward invoices@erp.example.net\n\n' +
        'A new webhook target gets a signing secret, printed once. Changing the URL keeps the secret; see "relaygate inbound rotate-secret".\n' +
        'A URL on a loopback, private, link-local or other special-purpose address, or localhost, is refused unless inbound.allowPrivateWebhooks is set.\n' +
        'Setting a target that was disabled (its webhook answered 410 Gone) enables it again.',
    )
    .action(async (opts: { domain?: string; webhook?: string; sync?: boolean; forward?: string; json?: boolean }, command: Command) => {
      if (Boolean(opts.webhook) === Boolean(opts.forward)) throw new CliError('give exactly one of --webhook URL or --forward ADDRESS');
      const input = opts.webhook
        ? { domain: opts.domain, kind: 'webhook', url: opts.webhook, synchronous: opts.sync === true }
        : { domain: opts.domain, kind: 'smtp', forwardTo: opts.forward, synchronous: opts.sync };
      const { target, secret } = await run(command, (targets, actor) => targets.set(input, actor));
      if (opts.json) return printJson({ ...toJson(target), ...(secret === null ? {} : { secret }) });
      const lines = [`${capitalised(scopeText(target))} ${destinationText(target)}.`];
      if (secret !== null) lines.push('', `Signing secret (${SECRET_NOTE}):`, '', `  ${secret}`);
      else if (target.kind === 'webhook') lines.push(`The signing secret is unchanged; to replace it: relaygate inbound rotate-secret${domainFlag(target)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function registerShow(inbound: Command): void {
  inbound
    .command('show')
    .description('show an inbound target (never its secret)')
    .option('--domain <domain>', DOMAIN_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate inbound show\n  relaygate inbound show --domain support.example.com')
    .action(async (opts: { domain?: string; json?: boolean }, command: Command) => {
      const target = await run(command, (targets) => targets.get(opts.domain));
      if (opts.json) return printJson(toJson(target));
      const lines = [
        `Inbound target ${target.id}`,
        `  for:          ${target.domain ?? 'the organisation (domains without a target of their own)'}`,
        `  kind:         ${target.kind}`,
        `  state:        ${stateText(target)}`,
        ...(target.kind === 'webhook'
          ? [`  url:          ${target.url}`, `  synchronous:  ${target.synchronous ? 'yes' : 'no'}`, `  secret:       ${secretText(target)}`]
          : [`  forward to:   ${target.forwardTo}`]),
        `  created:      ${formatTime(target.createdAt)}`,
        `  updated:      ${formatTime(target.updatedAt)}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function registerList(inbound: Command): void {
  inbound
    .command('list')
    .description("list the inbound targets: the organisation's default and each domain's own (never their secrets)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate inbound list --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const targets = await run(command, (t) => t.list());
      if (opts.json) return printJson(targets.map(toJson));
      printTable(
        targets.map((t) => ({
          id: t.id,
          for: t.domain ?? '(organisation)',
          kind: t.kind,
          destination: (t.kind === 'webhook' ? t.url : t.forwardTo) ?? '-',
          sync: t.synchronous ? 'yes' : '-',
          state: t.disabledAt === null ? 'enabled' : `disabled since ${formatTime(t.disabledAt)}`,
          'previous secret until': formatTime(t.previousSecretUntil),
          updated: formatTime(t.updatedAt),
        })),
        ['id', 'for', 'kind', 'destination', 'sync', 'state', 'previous secret until', 'updated'],
      );
    });
}

function registerRotateSecret(inbound: Command): void {
  inbound
    .command('rotate-secret')
    .description("replace a webhook's signing secret; the previous one keeps signing beside it for the overlap")
    .option('--domain <domain>', DOMAIN_HELP)
    .option(
      '--overlap <duration>',
      'how long the previous secret still signs, e.g. 24h, 30m; 0s retires it at once (a leaked secret)',
      `${DEFAULT_ROTATION_OVERLAP_MS / 3_600_000}h`,
    )
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate inbound rotate-secret\n  relaygate inbound rotate-secret --domain support.example.com --overlap 0s')
    .action(async (opts: { domain?: string; overlap: string; json?: boolean }, command: Command) => {
      const overlapMs = parseDurationMs(opts.overlap);
      if (overlapMs === undefined) throw new CliError(`--overlap must be a duration such as 24h, 30m or 0s, not "${opts.overlap}"`);
      const { target, secret } = await run(command, (targets, actor) => targets.rotateSecret(opts.domain, overlapMs, actor));
      if (opts.json) return printJson({ ...toJson(target), secret });
      const previous =
        overlapMs > 0
          ? `The previous secret keeps signing too until ${formatTime(target.previousSecretUntil)} (${formatDurationMs(overlapMs)}): deploy the new one before then.`
          : 'The previous secret no longer signs.';
      process.stdout.write(`New signing secret for ${target.domain ?? 'the organisation'} (${SECRET_NOTE}):\n\n  ${secret}\n\n${previous}\n`);
    });
}

function registerEnable(inbound: Command): void {
  inbound
    .command('enable')
    .description('send to a webhook again after it answered 410 Gone; the mail that waited for it is delivered at once')
    .option('--domain <domain>', DOMAIN_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate inbound enable\n  relaygate inbound enable --domain support.example.com')
    .action(async (opts: { domain?: string; json?: boolean }, command: Command) => {
      const before = await run(command, (targets) => targets.get(opts.domain));
      const target = await run(command, (targets, actor) => targets.enable(opts.domain, actor));
      if (opts.json) return printJson(toJson(target));
      const what = capitalised(scopeText(target));
      process.stdout.write(
        before.disabledAt === null
          ? `${what} was not disabled; nothing changed.\n`
          : `Enabled: ${what.charAt(0).toLowerCase()}${what.slice(1)} ${destinationText(target)} again; the mail that waited is delivered now.\n`,
      );
    });
}

function registerRemove(inbound: Command): void {
  inbound
    .command('remove')
    .description("remove an inbound target; a domain's mail then goes to the organisation's target")
    .option('--domain <domain>', DOMAIN_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate inbound remove --domain example.com')
    .action(async (opts: { domain?: string; json?: boolean }, command: Command) => {
      const removed = await run(command, (targets, actor) => targets.remove(opts.domain, actor));
      if (opts.json) return printJson(toJson(removed));
      const after = removed.domain
        ? `Mail for ${removed.domain} now goes to the organisation's target, if one is set (relaygate inbound show).`
        : 'Domains without a target of their own now have none: relaygate inbound set.';
      const what = removed.domain ? `the inbound target of ${removed.domain}` : "the organisation's inbound target";
      process.stdout.write(`Removed ${what} (${removed.kind === 'webhook' ? removed.url : `forward to ${removed.forwardTo}`}).\n${after}\n`);
    });
}

async function run<T>(command: Command, work: (targets: Targets, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, (services, actor) => work(services.inboundTargets, actor));
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    if (err.code === 'not_found') throw new CliError(`${err.message}; see "relaygate inbound list"`);
    throw new CliError(err.field ? `${err.message} (${flagFor(err.field)})` : err.message);
  }
}

/** The CLI flag for a field the service names in the API's spelling. */
function flagFor(field: string): string {
  const flags: Record<string, string> = { url: '--webhook', forwardTo: '--forward', synchronous: '--sync', kind: '--webhook/--forward' };
  return flags[field] ?? `--${field}`;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const scopeText = (t: InboundTarget) =>
  t.domain ? `inbound mail for ${t.domain}` : "inbound mail for the organisation's domains without a target of their own";

function destinationText(t: InboundTarget): string {
  if (t.kind === 'smtp') return `is forwarded to ${t.forwardTo} through the outbound connection`;
  return `goes to the webhook ${t.url}${t.synchronous ? " (synchronous: the SMTP reply waits for the application's answer)" : ''}`;
}

const domainFlag = (t: InboundTarget) => (t.domain ? ` --domain ${t.domain}` : '');

function stateText(t: InboundTarget): string {
  if (t.disabledAt === null) return 'enabled';
  return `disabled since ${formatTime(t.disabledAt)} (${t.disabledReason ?? 'no reason recorded'}); new mail waits at the sender (450 4.2.1), queued mail waits here; to send again: relaygate inbound enable${domainFlag(t)}`;
}

function secretText(t: InboundTarget): string {
  const previous = t.previousSecretUntil !== null && t.previousSecretUntil > Date.now();
  return `set (sealed)${previous ? `; the previous one also signs until ${formatTime(t.previousSecretUntil)}` : ''}`;
}

const toJson = (t: InboundTarget) => ({
  ...t,
  previousSecretUntil: t.previousSecretUntil === null ? null : formatTime(t.previousSecretUntil),
  disabledAt: t.disabledAt === null ? null : formatTime(t.disabledAt),
  createdAt: formatTime(t.createdAt),
  updatedAt: formatTime(t.updatedAt),
});
