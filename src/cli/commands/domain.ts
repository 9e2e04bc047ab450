import { type Command, Option } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { Actor } from '../../directory/context.js';
import type { Domain } from '../../directory/domains.js';
import type { ProofCheck } from '../../dns/index.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';
import { connectorJson, connectorLines, registerDomainConnection } from './domain-connection.js';
import { registerDirectDelivery } from './domain-direct-delivery.js';

export function registerDomain(program: Command): void {
  const domain = program
    .command('domain')
    .description(descriptionOf('domain'))
    .addHelpText('after', '\nExamples:\n  relaygate domain add example.com\n  relaygate domain verify example.com\n  relaygate domain show example.com');
  registerAdd(domain);
  registerList(domain);
  registerShow(domain);
  registerVerify(domain);
  registerRemove(domain);
  registerDomainConnection(domain);
  registerDirectDelivery(domain);
}

/** The directory's refusals as one line with the next step, instead of a stack trace. */
async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    throw new CliError(err.code === 'not_found' ? `${err.message}; see "relaygate domain list"` : err.message);
  }
}

function registerAdd(domain: Command): void {
  domain
    .command('add')
    .description('claim a domain (pending) and print the DNS TXT record that proves it is yours')
    .argument('<name>', 'lowercase, without a trailing dot; a subdomain (secure.example.com) is a domain of its own')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain add example.com\n  relaygate domain add secure.example.com')
    .action(async (name: string, opts: { json?: boolean }, command: Command) => {
      const added = await run(command, (services, actor) => services.domains.add(name, actor));
      if (opts.json) return printJson(toJson(added));
      process.stdout.write(
        `Added ${added.name}, pending verification.\n\nPublish this DNS record:\n\n  ${recordLine(added)}\n\nthen verify the domain:\n\n  relaygate domain verify ${added.name}\n`,
      );
    });
}

function registerList(domain: Command): void {
  domain
    .command('list')
    .description('list the domains with their state')
    .addOption(new Option('--status <status>', 'only domains in this state').choices(['pending', 'verified']))
    .option('--limit <n>', 'at most this many', (v) => Number(v), 500)
    .option('--offset <n>', 'skip this many', (v) => Number(v), 0)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain list --status pending')
    .action(async (opts: { status?: 'pending' | 'verified'; limit: number; offset: number; json?: boolean }, command: Command) => {
      const page = await run(command, (services) => services.domains.list({ limit: opts.limit, offset: opts.offset }, { status: opts.status }));
      if (opts.json) return printJson(page.items.map(toJson));
      printTable(
        page.items.map((d) => ({
          name: d.name,
          status: d.status,
          'verified by': d.verifiedBy ?? '-',
          addresses: String(d.addressCount),
          'last check': d.lastCheck ? `${d.lastCheck.outcome} ${formatTime(d.lastCheck.at)}` : '-',
        })),
        ['name', 'status', 'verified by', 'addresses', 'last check'],
      );
    });
}

function registerShow(domain: Command): void {
  domain
    .command('show')
    .description("one domain: its state, TXT record and last check, and its connector's state with each leg's latest check")
    .argument('<name>', 'domain name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain show example.com')
    .action(async (name: string, opts: { json?: boolean }, command: Command) => {
      const [found, connector] = await run(command, async (services) => {
        const got = await services.domains.get(name);
        return [got, await services.connector.status(got.name)] as const;
      });
      if (opts.json) return printJson({ ...toJson(found), connector: connectorJson(connector) });
      const state = found.status === 'verified' ? `verified (${found.verifiedBy}, ${formatTime(found.verifiedAt)})` : 'pending verification';
      const check = found.lastCheck ? `${formatTime(found.lastCheck.at)} ${found.lastCheck.outcome}: ${found.lastCheck.detail}` : '-';
      process.stdout.write(
        `Domain ${found.name} (${found.id})\n  status:       ${state}\n  organisation: ${found.organisationId}\n  record:       ${recordLine(found)}\n` +
          `  addresses:    ${found.addressCount}\n  added:        ${formatTime(found.createdAt)}\n  direct:       ${directLine(found)}\n` +
          `  last check:   ${check}\n${connectorLines(connector).join('\n')}\n`,
      );
    });
}

function registerVerify(domain: Command): void {
  domain
    .command('verify')
    .description('look the TXT record up through the configured resolver (RELAYGATE_DNS_RESOLVER) and mark the domain verified when found')
    .argument('<name>', 'domain name')
    .option('--force', 'verify by hand, without DNS, once you have checked ownership another way; recorded in the audit log')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate domain verify example.com\n  relaygate domain verify example.com --force')
    .action(async (name: string, opts: { force?: boolean; json?: boolean }, command: Command) => {
      const { domain: result, check } = await run(command, (services, actor) => services.domains.verify(name, actor, { force: opts.force === true }));
      if (opts.json) printJson({ domain: toJson(result), check });
      if (result.status !== 'verified') throw new CliError(notVerified(result, check));
      if (opts.json) return;
      const how = check ? `found ${check.found.length === 1 ? 'its record' : 'its record among others'} in DNS` : `by ${result.verifiedBy}`;
      process.stdout.write(`${result.name} is verified (${how}, ${formatTime(result.verifiedAt)}).\n`);
    });
}

function registerRemove(domain: Command): void {
  domain
    .command('remove')
    .description('remove a domain with its addresses and every alias in it')
    .argument('<name>', 'domain name')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain remove old.example.com')
    .action(async (name: string, opts: { json?: boolean }, command: Command) => {
      const { domain: removed, removed: withIt } = await run(command, (services, actor) => services.domains.remove(name, actor));
      if (opts.json) return printJson({ domain: toJson(removed), removed: withIt });
      const list = (what: string, items: string[]) =>
        `${items.length} ${what}${items.length === 1 ? '' : 'es'}${items.length > 0 ? ` (${items.join(', ')})` : ''}`;
      process.stdout.write(`Removed ${removed.name} with ${list('address', withIt.addresses)} and ${list('alias', withIt.aliases)}.\n`);
    });
}

/** Inbound direct delivery of secure messages, as `relaygate domain direct-delivery` set it. */
function directLine(d: Domain): string {
  const since = d.directDelivery.changedAt === null ? '' : ` since ${formatTime(d.directDelivery.changedAt)}`;
  return `${d.directDelivery.enabled ? 'on' : 'off'}${since} (inbound direct delivery of secure messages)`;
}

function recordLine(d: Domain): string {
  return `${d.verificationRecord.name}  TXT  "${d.verificationRecord.value}"`;
}

/** What DNS said, and the step that fits it: publish, wait, or look at the resolver. */
function notVerified(d: Domain, check: ProofCheck | null): string {
  const resolverTrouble = check && ['servfail', 'dns_error', 'timeout'].includes(check.outcome);
  const next = resolverTrouble
    ? `check the resolver (RELAYGATE_DNS_RESOLVER) or try again later: relaygate domain verify ${d.name}`
    : `publish  ${recordLine(d)}\nand once DNS serves it run: relaygate domain verify ${d.name}`;
  return `${d.name} is not verified: ${check?.detail ?? 'no check was made'}.\n${next}\n(if you have proven ownership another way: relaygate domain verify ${d.name} --force)`;
}

function toJson(d: Domain) {
  return {
    ...d,
    createdAt: formatTime(d.createdAt),
    verifiedAt: d.verifiedAt === null ? null : formatTime(d.verifiedAt),
    lastCheck: d.lastCheck ? { ...d.lastCheck, at: formatTime(d.lastCheck.at) } : null,
    directDelivery: { ...d.directDelivery, changedAt: d.directDelivery.changedAt === null ? null : formatTime(d.directDelivery.changedAt) },
  };
}
