import { type Command, Option } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import { ADDRESS_KINDS, type AddressKind } from '../../directory/address-kinds.js';
import type { Address } from '../../directory/addresses.js';
import type { Actor } from '../../directory/context.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerAddress(program: Command): void {
  const address = program
    .command('address')
    .description(descriptionOf('address'))
    .addHelpText('after', '\nExamples:\n  relaygate address add support@example.com --kind support\n  relaygate address list --domain example.com');
  registerAdd(address);
  registerList(address);
  registerShow(address);
  registerRemove(address);
  registerAliases(address);
}

/** The directory's refusals as one line with the next step, instead of a stack trace. */
async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    throw new CliError(err.code === 'not_found' ? `${err.message}; see "relaygate address list"` : err.message);
  }
}

function registerAdd(address: Command): void {
  address
    .command('add')
    .description('add an address in a verified domain (see "relaygate domain verify")')
    .argument('<address>', 'lowercase, e.g. customerservice@example.com')
    .addOption(new Option('--kind <kind>', 'a support address or a functional account').choices([...ADDRESS_KINDS]).default('support'))
    .option('--description <text>', 'what the address is for', '')
    .option('--alias <alias>', 'an alias in any verified domain; repeat for more', (value: string, all: string[]) => [...all, value], [])
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address add customerservice@example.com --kind support --alias customerservice@secure.example.com')
    .action(async (text: string, opts: { kind: AddressKind; description: string; alias: string[]; json?: boolean }, command: Command) => {
      const input = { address: text, kind: opts.kind, description: opts.description, aliases: opts.alias };
      const added = await run(command, (services, actor) => services.addresses.add(input, actor));
      if (opts.json) return printJson(toJson(added));
      process.stdout.write(`Added ${added.kind} address ${added.address}${aliasesText(added)}.\n`);
    });
}

function registerList(address: Command): void {
  address
    .command('list')
    .description('list addresses with their aliases')
    .option('--domain <name>', 'only addresses in this domain')
    .addOption(new Option('--kind <kind>', 'only this kind').choices([...ADDRESS_KINDS]))
    .option('--limit <n>', 'at most this many', (v) => Number(v), 500)
    .option('--offset <n>', 'skip this many', (v) => Number(v), 0)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address list --domain example.com')
    .action(async (opts: { domain?: string; kind?: AddressKind; limit: number; offset: number; json?: boolean }, command: Command) => {
      const filter = { domain: opts.domain, kind: opts.kind };
      const page = await run(command, (services) => services.addresses.list({ limit: opts.limit, offset: opts.offset }, filter));
      if (opts.json) return printJson(page.items.map(toJson));
      printTable(
        page.items.map((a) => ({
          address: a.address,
          kind: a.kind,
          source: a.source === 'manual' ? 'manual' : `synced (${a.source})${a.suspendedAt === null ? '' : ', suspended'}`,
          aliases: a.aliases.join(', ') || '-',
          description: a.description || '-',
        })),
        ['address', 'kind', 'source', 'aliases', 'description'],
      );
    });
}

function registerShow(address: Command): void {
  address
    .command('show')
    .description('one address with its aliases')
    .argument('<address>', 'the address (not an alias)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address show customerservice@example.com')
    .action(async (text: string, opts: { json?: boolean }, command: Command) => {
      const found = await run(command, (services) => services.addresses.get(text));
      if (opts.json) return printJson(toJson(found));
      process.stdout.write(
        `Address ${found.address} (${found.id})\n  kind:        ${found.kind}\n  description: ${found.description || '-'}\n` +
          `  aliases:     ${found.aliases.join(', ') || '-'}\n  added:       ${formatTime(found.createdAt)}\n`,
      );
    });
}

function registerRemove(address: Command): void {
  address
    .command('remove')
    .description('remove an address and its aliases')
    .argument('<address>', 'the address (not an alias)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address remove customerservice@example.com')
    .action(async (text: string, opts: { json?: boolean }, command: Command) => {
      const removed = await run(command, (services, actor) => services.addresses.remove(text, actor));
      if (opts.json) return printJson(toJson(removed));
      process.stdout.write(`Removed ${removed.address}${aliasesText(removed)}.\n`);
    });
}

function registerAliases(address: Command): void {
  address
    .command('alias-add')
    .description('add an alias to an address, in any verified domain of the organisation')
    .argument('<address>', 'the address')
    .argument('<alias>', 'the alias, e.g. customerservice@secure.example.com')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address alias-add customerservice@example.com customerservice@secure.example.com')
    .action(async (text: string, alias: string, opts: { json?: boolean }, command: Command) => {
      const updated = await run(command, (services, actor) => services.addresses.addAlias(text, alias, actor));
      if (opts.json) return printJson(toJson(updated));
      process.stdout.write(`${alias} is now an alias of ${updated.address}${aliasesText(updated)}.\n`);
    });

  address
    .command('alias-remove')
    .description('remove an alias from an address')
    .argument('<address>', 'the address')
    .argument('<alias>', 'the alias')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate address alias-remove customerservice@example.com customerservice@secure.example.com')
    .action(async (text: string, alias: string, opts: { json?: boolean }, command: Command) => {
      const updated = await run(command, (services, actor) => services.addresses.removeAlias(text, alias, actor));
      if (opts.json) return printJson(toJson(updated));
      process.stdout.write(`${alias} is no longer an alias of ${updated.address}.\n`);
    });
}

function aliasesText(a: Address): string {
  return a.aliases.length > 0 ? ` (aliases: ${a.aliases.join(', ')})` : '';
}

function toJson(a: Address) {
  return { ...a, createdAt: formatTime(a.createdAt), suspendedAt: a.suspendedAt === null ? null : formatTime(a.suspendedAt) };
}
