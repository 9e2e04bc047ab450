import type { Command } from 'commander';
import type { DirectDeliveryRefused, DirectDeliveryState } from '../../directory/direct-delivery.js';
import { DirectoryError } from '../../model/directory-error.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson } from '../output.js';

/** `relaygate domain direct-delivery NAME on|off` (or --enable / --disable). */
export function registerDirectDelivery(domain: Command): void {
  domain
    .command('direct-delivery')
    .description(
      'deliver secure messages to a verified domain decrypted, straight to its MX, while its DNS proves DNSSEC + DANE or DNSSEC + PKIX ' +
        '(checked now, and again at every delivery attempt; recipients get the portal notification when it does not hold)',
    )
    .argument('<name>', 'a verified domain')
    .argument('[state]', 'on or off (the same as --enable or --disable)')
    .option('--enable', 'turn it on: refused unless the DNS check allows it now')
    .option('--disable', 'turn it off (always allowed)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate domain direct-delivery partner.example --enable\n  relaygate domain direct-delivery partner.example off')
    .action(async (name: string, state: string | undefined, opts: { enable?: boolean; disable?: boolean; json?: boolean }, command: Command) => {
      const enabled = wanted(name, state, opts);
      const result = await withServices(command, (services, actor) => services.directDelivery.set(name, enabled, actor)).catch(async (err: unknown) => {
        const { DirectDeliveryRefused } = await import('../../directory/direct-delivery.js');
        if (err instanceof DirectDeliveryRefused) throw new CliError(refusal(name, err));
        if (!(err instanceof DirectoryError)) throw err;
        throw new CliError(err.code === 'not_found' ? `${err.message}; see "relaygate domain list"` : err.message);
      });
      if (opts.json) return printJson({ ...result, changedAt: result.changedAt === null ? null : formatTime(result.changedAt) });
      process.stdout.write(summary(result));
    });
}

function wanted(name: string, state: string | undefined, opts: { enable?: boolean; disable?: boolean }): boolean {
  const asked = [state === undefined ? [] : [state.toLowerCase()], opts.enable ? ['on'] : [], opts.disable ? ['off'] : []].flat();
  const usage = `say on or off: relaygate domain direct-delivery ${name} --enable (or --disable)`;
  if (asked.some((a) => a !== 'on' && a !== 'off')) throw new CliError(`state must be on or off, not "${state}"; ${usage}`);
  if (asked.length === 0) throw new CliError(`${usage}`);
  if (new Set(asked).size > 1) throw new CliError(`both on and off were asked; ${usage}`);
  return asked[0] === 'on';
}

function summary(s: DirectDeliveryState): string {
  if (!s.enabled) return `Inbound direct delivery is off for ${s.domain}: its recipients of secure messages get the portal notification.\n`;
  return (
    `Inbound direct delivery is on for ${s.domain} (DNS check: ${s.verdict?.text ?? 'not run'}).\n` +
    'Secure messages to it are delivered decrypted to its MX under that transport while the check holds at each attempt; otherwise the recipient gets the portal notification.\n'
  );
}

function refusal(name: string, err: DirectDeliveryRefused): string {
  const reasons = err.verdict.reasons.map((reason) => `  - ${reason}`).join('\n');
  return `inbound direct delivery to ${name} is not enabled: the DNS check says it is not possible, because\n${reasons}\nfix these (relaygate dns check ${name} shows how) and try again`;
}
