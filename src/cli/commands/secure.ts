import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import { DirectoryError } from '../../model/directory-error.js';
import { MAX_LOGO_BYTES } from '../../secure/brand-logo.js';
import { MAX_RETENTION_DAYS } from '../../secure/retention-limit.js';
import type { SecureMessageDetail, SecureMessageView } from '../../secure/secure-messages.js';
import type { SecureSettings } from '../../secure/secure-settings.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

const SETTING_FLAGS: Record<string, string> = {
  address: '--recipient',
  retentionDays: '--retention-days',
  readReceipts: '--read-receipts',
  readReceiptFormat: '--read-receipt-format',
  neutralSubject: '--neutral-subject',
  locale: '--locale',
  timeZone: '--time-zone',
  brandName: '--brand-name',
  brandColour: '--brand-colour',
  brandLogo: '--brand-logo',
};

export function registerSecure(program: Command): void {
  const secure = program
    .command('secure')
    .description(descriptionOf('secure'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate secure list\n  relaygate secure show 01JD3V6Q9ZK5M2X8T4R7W1B0CE\n  relaygate secure settings --retention-days 90',
    );

  secure
    .command('list')
    .description('secure messages, newest first')
    .option('--limit <n>', 'at most this many', (v) => wholeNumber(v, '--limit', 1, 500), 50)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate secure list --limit 20')
    .action(async (opts: { limit: number; json?: boolean }, command: Command) => {
      const page = await run(command, (s) => s.secureMessages.list({ limit: opts.limit, offset: 0 }));
      if (opts.json) return printJson({ ...page, items: page.items.map(toJson) });
      printTable(
        page.items.map((m) => ({
          id: m.id,
          sender: m.sender,
          subject: (m.subject ?? '-').slice(0, 50),
          recipients: String(m.recipientCount),
          created: formatTime(m.createdAt),
          state: stateOf(m),
        })),
        ['id', 'sender', 'subject', 'recipients', 'created', 'state'],
      );
      if (page.total > page.items.length) process.stdout.write(`(${page.items.length} of ${page.total}; --limit shows more)\n`);
    });

  secure
    .command('show')
    .description('one secure message with the status of each recipient')
    .argument('<id>', 'message id (see secure list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate secure show 01JD3V6Q9ZK5M2X8T4R7W1B0CE')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const message = await run(command, (s) => s.secureMessages.show(id));
      printDetail(message, opts.json);
    });

  secure
    .command('revoke')
    .description("revoke a message, or with --recipient one recipient's access: nothing more is sent or shown")
    .argument('<id>', 'message id')
    .option('--recipient <address>', 'revoke only this recipient')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate secure revoke 01JD3V6Q9ZK5M2X8T4R7W1B0CE\n  relaygate secure revoke 01JD3V6Q9ZK5M2X8T4R7W1B0CE --recipient customer@example.net',
    )
    .action(async (id: string, opts: { recipient?: string; json?: boolean }, command: Command) => {
      const message = await run(command, (s, actor) =>
        opts.recipient === undefined ? s.secureMessages.revoke(id, actor) : s.secureMessages.revokeRecipient(id, opts.recipient, actor),
      );
      if (!opts.json)
        process.stdout.write(opts.recipient === undefined ? `Revoked ${message.id}\n` : `Revoked the access of ${opts.recipient} to ${message.id}\n`);
      printDetail(message, opts.json);
    });

  secure
    .command('unlock')
    .description('open again a portal link that too many wrong one-time codes locked (all locked recipients of the message, or --recipient)')
    .argument('<id>', 'message id')
    .option('--recipient <address>', 'unlock only this recipient')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate secure unlock 01JD3V6Q9ZK5M2X8T4R7W1B0CE --recipient customer@example.net\n  relaygate secure unlock 01JD3V6Q9ZK5M2X8T4R7W1B0CE',
    )
    .action(async (id: string, opts: { recipient?: string; json?: boolean }, command: Command) => {
      const message = await run(command, (s, actor) => s.secureMessages.unlock(id, opts.recipient, actor));
      if (!opts.json) process.stdout.write(`Unlocked the portal link of ${opts.recipient ?? 'every locked recipient'} of ${message.id}\n`);
      printDetail(message, opts.json);
    });

  secure
    .command('delete')
    .description('delete a message by crypto-shredding: its data key is destroyed, then the ciphertext')
    .argument('<id>', 'message id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate secure delete 01JD3V6Q9ZK5M2X8T4R7W1B0CE')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const message = await run(command, (s, actor) => s.secureMessages.shred(id, actor));
      if (opts.json) return printJson(detailJson(message));
      process.stdout.write(`Shredded ${message.id} at ${formatTime(message.shreddedAt)}: it can no longer be opened\n`);
    });

  secure
    .command('settings')
    .description("show or change the organisation's settings for secure messages")
    .option('--retention-days <n>', `days a message stays readable, 1 to ${MAX_RETENTION_DAYS} (for messages accepted from now on)`, (v) =>
      wholeNumber(v, '--retention-days', 1, MAX_RETENTION_DAYS),
    )
    .option('--read-receipts <on|off>', 'send the sender a read receipt when a recipient first opens a message', (v) => onOff(v, '--read-receipts'))
    .option('--read-receipt-format <text|mdn>', 'a mail for people, or an RFC 8098 notification for applications')
    .option('--neutral-subject <on|off>', 'notifications say "Secure message from …" instead of the subject', (v) => onOff(v, '--neutral-subject'))
    .option('--locale <nl|en|de|fr>', 'language of recipient mails when the message has no Content-Language the portal speaks')
    .option('--time-zone <zone>', 'IANA time zone of the dates recipients read, e.g. Europe/Amsterdam (default UTC)')
    .option('--brand-name <name>', 'organisation name on the portal and in notifications ("" removes it)')
    .option('--brand-logo <file>', `PNG or SVG logo, at most ${MAX_LOGO_BYTES / 1024} KiB ("none" removes it)`)
    .option('--brand-colour <#RRGGBB>', 'accent colour of buttons and links; white text on it needs 4.5:1 contrast ("none" removes it)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  relaygate secure settings\n  relaygate secure settings --retention-days 30 --neutral-subject on\n  relaygate secure settings --read-receipts on --read-receipt-format mdn\n  relaygate secure settings --locale nl --time-zone Europe/Amsterdam --brand-name 'Zorggroep Noord' --brand-logo logo.svg --brand-colour '#0b5394'",
    )
    .action(async (opts: SettingsOptions, command: Command) => {
      const patch = {
        retentionDays: opts.retentionDays,
        readReceipts: opts.readReceipts,
        readReceiptFormat: opts.readReceiptFormat,
        neutralSubject: opts.neutralSubject,
        locale: opts.locale,
        timeZone: opts.timeZone,
        brandName: opts.brandName,
        brandColour: opts.brandColour === 'none' ? null : opts.brandColour,
        brandLogo: opts.brandLogo === undefined ? undefined : opts.brandLogo === 'none' ? null : await readLogo(opts.brandLogo),
      };
      const changing = Object.values(patch).some((v) => v !== undefined);
      const settings = await run(command, (s, actor) => (changing ? s.secureSettings.update(patch, actor) : s.secureSettings.get()));
      if (opts.json) return printJson(settings);
      printSettings(settings);
    });
}

async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (err instanceof DirectoryError) {
      const flag = err.field ? SETTING_FLAGS[err.field] : undefined;
      throw new CliError(flag ? `${err.message} (${flag})` : err.message);
    }
    throw err;
  }
}

function printDetail(message: SecureMessageDetail, json: boolean | undefined): void {
  if (json) return printJson(detailJson(message));
  process.stdout.write(
    `Secure message ${message.id}\n  sender:        ${message.sender}\n  subject:       ${message.subject ?? '- (shredded)'}\n  created:       ${formatTime(message.createdAt)}\n  retain until:  ${formatTime(message.retainUntil)}\n  revoked:       ${formatTime(message.revokedAt)}\n  shredded:      ${formatTime(message.shreddedAt)}\n\n`,
  );
  printTable(
    message.recipients.map((r) => ({
      recipient: r.address,
      status: `${r.status}${r.revoked ? ' (revoked)' : ''}${r.lockedAt !== null ? ' (locked)' : ''}`,
      via: r.deliveredVia ?? '-',
      notified: formatTime(r.notifiedAt),
      opened: formatTime(r.openedAt),
      replied: formatTime(r.repliedAt),
      bounced: formatTime(r.bouncedAt),
      'fallback reason': r.fallbackReason ?? '',
    })),
    ['recipient', 'status', 'via', 'notified', 'opened', 'replied', 'bounced', 'fallback reason'],
  );
}

function printSettings(s: SecureSettings): void {
  const logo = s.brandLogo ? `${s.brandLogo.type}, ${s.brandLogo.sizeBytes} bytes` : '-';
  process.stdout.write(
    `retention days:  ${s.retentionDays}\nread receipts:   ${s.readReceipts ? `on (${s.readReceiptFormat === 'mdn' ? 'RFC 8098 MDN' : 'text'})` : 'off'}\nneutral subject: ${s.neutralSubject ? 'on' : 'off'}\n` +
      `locale:          ${s.locale}\ntime zone:       ${s.timeZone}\nbrand name:      ${s.brandName ?? '-'}\nbrand colour:    ${s.brandColour ?? '-'}\nbrand logo:      ${logo}\n`,
  );
}

interface SettingsOptions {
  retentionDays?: number;
  readReceipts?: boolean;
  readReceiptFormat?: string;
  neutralSubject?: boolean;
  locale?: string;
  timeZone?: string;
  brandName?: string;
  brandLogo?: string;
  brandColour?: string;
  json?: boolean;
}

async function readLogo(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(`--brand-logo: cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

const stateOf = (m: SecureMessageView) => (m.shreddedAt !== null ? 'shredded' : m.revokedAt !== null ? 'revoked' : 'active');

/** JSON keeps null for what has not happened, so scripts need not know the table's dash. */
const jsonTime = (ms: number | null) => (ms === null ? null : formatTime(ms));

const toJson = (m: SecureMessageView) => ({
  ...m,
  createdAt: formatTime(m.createdAt),
  retainUntil: formatTime(m.retainUntil),
  revokedAt: jsonTime(m.revokedAt),
  shreddedAt: jsonTime(m.shreddedAt),
});

const detailJson = (m: SecureMessageDetail) => ({
  ...toJson(m),
  recipients: m.recipients.map((r) => ({
    ...r,
    revokedAt: jsonTime(r.revokedAt),
    lockedAt: jsonTime(r.lockedAt),
    notifiedAt: jsonTime(r.notifiedAt),
    openedAt: jsonTime(r.openedAt),
    repliedAt: jsonTime(r.repliedAt),
    bouncedAt: jsonTime(r.bouncedAt),
  })),
});

function wholeNumber(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

function onOff(value: string, name: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new CliError(`${name} takes on or off, not "${value}"`);
}
