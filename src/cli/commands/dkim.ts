import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { DkimKey, DomainDkim } from '../../dkim/index.js';
import { zoneFileValue } from '../../dkim/keys.js';
import { DEFAULT_GRACE_MS } from '../../dkim/rotation.js';
import { formatDurationMs, parseDurationMs } from '../../lib/durations.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Dkim = AdminServices['dkim'];

export function registerDkim(program: Command): void {
  const dkim = program
    .command('dkim')
    .description(descriptionOf('dkim'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate dkim generate example.com\n  relaygate dkim check example.com\n  relaygate dkim rotate example.com --grace 7d',
    );
  registerGenerate(dkim);
  registerShow(dkim);
  registerCheck(dkim);
  registerRotate(dkim);
}

async function run<T>(command: Command, work: (dkim: Dkim, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, (services, actor) => work(services.dkim, actor));
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    throw new CliError(err.code === 'not_found' && err.message.startsWith('no domain') ? `${err.message}; see "relaygate domain list"` : err.message);
  }
}

function registerGenerate(dkim: Command): void {
  dkim
    .command('generate')
    .description('make an RSA-2048 and an Ed25519 key for a domain and print the DNS records to publish; they sign once "dkim check" sees them')
    .argument('<domain>', 'a claimed domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate dkim generate example.com')
    .action(async (domain: string, opts: { json?: boolean }, command: Command) => {
      const generated = await run(command, (dkim, actor) => dkim.generate(domain, actor));
      if (opts.json) return printJson(toJson(generated));
      const pending = generated.keys.filter((k) => k.state === 'pending');
      process.stdout.write(
        `Generated DKIM keys for ${generated.domain}.\n\nPublish these DNS records:\n\n${recordLines(pending)}\nthen confirm with: relaygate dkim check ${generated.domain}\n`,
      );
    });
}

function registerShow(dkim: Command): void {
  dkim
    .command('show')
    .description("a domain's DKIM keys: each one's state, whether DNS shows it now, and the records to publish")
    .argument('<domain>', 'a claimed domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate dkim show example.com')
    .action(async (domain: string, opts: { json?: boolean }, command: Command) => {
      const shown = await run(command, (dkim) => dkim.show(domain));
      if (opts.json) return printJson(toJson(shown));
      printDkim(shown);
    });
}

function registerCheck(dkim: Command): void {
  dkim
    .command('check')
    .description(
      'look the keys up in DNS through the configured resolver: a pending key DNS shows starts signing, a replaced one starts its grace period, one past it retires',
    )
    .argument('<domain>', 'a claimed domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExits with status 1 while a pending or active key is not published.\n\nExample:\n  relaygate dkim check example.com')
    .action(async (domain: string, opts: { json?: boolean }, command: Command) => {
      const checked = await run(command, (dkim, actor) => dkim.check(domain, actor));
      if (opts.json) printJson({ ...toJson(checked), changes: checked.changes });
      else {
        const changes = checked.changes.map((c) => `  ${c.selector}: ${c.from} → ${c.to}\n`).join('');
        process.stdout.write(changes ? `Changed:\n${changes}\n` : 'No change.\n\n');
        printDkim(checked);
      }
      const unpublished = checked.keys.filter((k) => (k.state === 'pending' || k.state === 'active') && k.dns?.outcome !== 'published');
      if (unpublished.length > 0) throw new CliError(unpublished.map((k) => `${k.selector} (${k.state}): ${k.dns?.detail ?? 'not looked up'}`).join('\n'));
    });
}

function registerRotate(dkim: Command): void {
  dkim
    .command('rotate')
    .description(
      'make the next key pair, pending while the current keys keep signing; once "dkim check" sees it, it signs and the old keys retire after the grace period',
    )
    .argument('<domain>', 'a claimed domain')
    .option(
      '--grace <duration>',
      'how long a replaced key stays published after its successor signs, e.g. 7d; 0s for a compromised key',
      formatDurationMs(DEFAULT_GRACE_MS),
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nSteps: rotate → publish the new records → dkim check (new keys sign) → grace period → dkim check (old keys retired) → remove the old records.\n\nExample:\n  relaygate dkim rotate example.com --grace 7d',
    )
    .action(async (domain: string, opts: { grace: string; json?: boolean }, command: Command) => {
      const graceMs = parseDurationMs(opts.grace);
      if (graceMs === undefined) throw new CliError(`--grace must be a duration such as 7d, 48h or 0s, not "${opts.grace}"`);
      const rotated = await run(command, (dkim, actor) => dkim.rotate(domain, graceMs, actor));
      if (opts.json) return printJson(toJson(rotated));
      const pending = rotated.keys.filter((k) => k.state === 'pending');
      process.stdout.write(
        `New DKIM keys for ${rotated.domain}; the current ones keep signing until these are published.\n\nPublish these DNS records (keep the current ones):\n\n${recordLines(pending)}\n` +
          `then confirm with: relaygate dkim check ${rotated.domain}\n${graceMs > 0 ? `The keys they replace then stay published for ${formatDurationMs(graceMs)}.` : 'The keys they replace then retire at once: remove their records.'}\n`,
      );
    });
}

function recordLines(keys: DkimKey[]): string {
  return keys.map((k) => `  ${k.record.name}  TXT  ${zoneFileValue(k.record.value)}\n`).join('');
}

/** The keys as a table, the records to publish and the next steps, on standard output. */
function printDkim(d: DomainDkim): void {
  const write = (text: string) => process.stdout.write(text);
  if (d.keys.length === 0) return void write(`${d.domain} has no DKIM keys; make them with: relaygate dkim generate ${d.domain}\n`);
  write(`DKIM keys of ${d.domain}\n\n`);
  const rows = d.keys.map((k) => ({
    selector: k.selector,
    algorithm: k.algorithm,
    state: k.state,
    dns: k.dns?.outcome ?? '-',
    since: formatTime(k.retiredAt ?? k.activatedAt ?? k.createdAt),
    'retire at': formatTime(k.retireAt),
  }));
  printTable(rows, ['selector', 'algorithm', 'state', 'dns', 'since', 'retire at']);
  const toPublish = d.keys.filter((k) => k.state !== 'retired');
  if (toPublish.length > 0) write(`\nRecords to publish:\n\n${recordLines(toPublish)}`);
  const notes = nextSteps(d);
  if (notes.length > 0) write(`\n${notes.join('\n')}\n`);
}

/** What the operator does next, one line per key that needs something. */
function nextSteps(d: DomainDkim): string[] {
  const now = Date.now();
  return d.keys.flatMap((k) => {
    const shown = k.dns?.outcome === 'published';
    if (k.state === 'pending')
      return [
        shown
          ? `${k.selector}: DNS shows it; "relaygate dkim check ${d.domain}" starts signing with it.`
          : `${k.selector}: publish its record, then run "relaygate dkim check ${d.domain}".`,
      ];
    if (k.state === 'active' && k.dns && !shown)
      return [`${k.selector}: signing, but ${k.dns.detail}: its signatures fail verification until the record is back.`];
    if (k.state === 'retiring' && k.retireAt !== null && k.retireAt <= now)
      return [`${k.selector}: grace period over; "relaygate dkim check ${d.domain}" retires it.`];
    if (k.state === 'retiring') return [`${k.selector}: no longer signs; keep its record published until ${formatTime(k.retireAt)}.`];
    if (k.state === 'retired' && shown) return [`${k.selector}: retired; its record may be removed.`];
    return [];
  });
}

function toJson(d: DomainDkim) {
  return {
    domain: d.domain,
    keys: d.keys.map((k) => ({
      ...k,
      createdAt: formatTime(k.createdAt),
      publishedSeenAt: k.publishedSeenAt === null ? null : formatTime(k.publishedSeenAt),
      activatedAt: k.activatedAt === null ? null : formatTime(k.activatedAt),
      retireAt: k.retireAt === null ? null : formatTime(k.retireAt),
      retiredAt: k.retiredAt === null ? null : formatTime(k.retiredAt),
      lastCheck: k.lastCheck ? { ...k.lastCheck, at: formatTime(k.lastCheck.at) } : null,
    })),
  };
}
