import type { Command } from 'commander';
import type { DomainCheck } from '../../dns/check/index.js';
import { domainNameProblem } from '../../dns/domain-name.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { renderDomainCheck, terminalStyle } from '../dns-check-report.js';
import { CliError, printJson } from '../output.js';

export function registerDns(program: Command): void {
  const dns = program.command('dns').description(descriptionOf('dns')).addHelpText('after', '\nExample:\n  relaygate dns check example.com');
  dns
    .command('check')
    .description(
      'check what a domain publishes for DNSSEC, MX, DANE (TLSA), MTA-STS, TLS-RPT, and for a claimed domain SPF, the gateway’s DKIM keys and DMARC, ' +
        'each pass, warn or fail with the record to publish or fix; probe each MX host (STARTTLS) for the certificate its DNS promises; and say whether inbound direct delivery is possible',
    )
    .argument('<domain>', 'any domain: a claimed one, or a recipient domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nThe exit status is 0 whatever the findings; read them from --json in scripts.\n\nExample:\n  relaygate dns check example.com')
    .action(async (domain: string, opts: { json?: boolean }, command: Command) => {
      const problem = domainNameProblem(domain);
      if (problem) throw new CliError(`"${domain}" ${problem}`);
      const check = await withServices(command, (services) => services.dnsCheck.check(domain));
      if (opts.json) return printJson(toJson(check));
      process.stdout.write(renderDomainCheck(check, terminalStyle()));
    });
}

/** The same shape as GET /api/v1/dns-check/{domain}. */
function toJson(check: DomainCheck) {
  return { ...check, checkedAt: new Date(check.checkedAt).toISOString() };
}
