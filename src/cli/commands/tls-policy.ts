import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { DeliveryPolicy } from '../../directory/delivery-policies.js';
import { REQUIREMENT_HELP, TLS_REQUIREMENTS } from '../../directory/tls-requirements.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

type Policies = AdminServices['tlsPolicies'];

const REQUIRE_HELP = `Requirements for direct MX delivery to DOMAIN (exactly that domain, not its subdomains):
${TLS_REQUIREMENTS.map((r) => `  ${r.padEnd(9)}${REQUIREMENT_HELP[r]}`).join('\n')}
They add to the domain's own DANE or MTA-STS policy and never weaken it. Mail that cannot
meet one is deferred with a reason naming the check ("tls-policy: …"), never sent in the clear.`;

export function registerTlsPolicy(program: Command): void {
  const policy = program
    .command('tls-policy')
    .description(descriptionOf('tls-policy'))
    .addHelpText('after', `\n${REQUIRE_HELP}`)
    .addHelpText('after', '\nExamples:\n  relaygate tls-policy set partner.example --require dane\n  relaygate tls-policy list');

  policy
    .command('set')
    .description("set (or replace) a recipient domain's TLS requirement")
    .argument('<domain>', 'recipient domain, e.g. example.net')
    .requiredOption('--require <level>', TLS_REQUIREMENTS.join(', '))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  relaygate tls-policy set bank.example --require verified\n  relaygate tls-policy set partner.example --require dane\n\n${REQUIRE_HELP}`,
    )
    .action(async (domain: string, opts: { require: string; json?: boolean }, command: Command) => {
      const set = await run(command, (policies, actor) => policies.set(domain, opts.require, actor));
      if (opts.json) return printJson(toJson(set));
      process.stdout.write(`Mail to ${set.domain} now requires ${set.require}: ${REQUIREMENT_HELP[set.require]}\n`);
    });

  policy
    .command('list')
    .description('the TLS requirements set, by domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate tls-policy list --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const page = await run(command, (policies) => policies.list({ limit: 500, offset: 0 }));
      if (opts.json) return printJson(page.items.map(toJson));
      printTable(
        page.items.map((p) => ({ domain: p.domain, require: p.require, updated: formatTime(p.updatedAt) })),
        ['domain', 'require', 'updated'],
      );
    });

  policy
    .command('remove')
    .description("remove a recipient domain's TLS requirement; its own DANE or MTA-STS policy still applies")
    .argument('<domain>', 'recipient domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate tls-policy remove partner.example')
    .action(async (domain: string, opts: { json?: boolean }, command: Command) => {
      const removed = await run(command, (policies, actor) => policies.remove(domain, actor));
      if (opts.json) return printJson(toJson(removed));
      process.stdout.write(`Removed the ${removed.require} requirement for ${removed.domain}\n`);
    });
}

async function run<T>(command: Command, work: (policies: Policies, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, (services, actor) => work(services.tlsPolicies, actor));
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliError(err.field === 'require' ? `${err.message} (--require)` : err.message);
    throw err;
  }
}

const toJson = (p: DeliveryPolicy) => ({ ...p, createdAt: formatTime(p.createdAt), updatedAt: formatTime(p.updatedAt) });
