import type { Command } from 'commander';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description(descriptionOf('audit'))
    .addHelpText('after', '\nExamples:\n  relaygate audit list --action domain.verify\n  relaygate audit verify\n  relaygate audit export > audit.jsonl');

  audit
    .command('list')
    .description('newest first')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--action <action>', 'only this action, e.g. domain.verify')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate audit list --limit 20 --action credential.create')
    .action(async (opts: { limit: number; action?: string; json?: boolean }, command: Command) => {
      const page = await withServices(command, (services) => services.audit.list({ limit: opts.limit, offset: 0, action: opts.action }));
      if (opts.json) return printJson(page.items.map((r) => ({ ...r, at: formatTime(r.at) })));
      printTable(
        page.items.map((r) => ({
          seq: String(r.seq),
          at: formatTime(r.at),
          actor: r.actor,
          ip: r.actorIp ?? '-',
          action: r.action,
          target: r.targetId ?? r.targetType,
          detail: JSON.stringify(r.detail).slice(0, 80),
        })),
        ['seq', 'at', 'actor', 'ip', 'action', 'target', 'detail'],
      );
    });

  audit
    .command('verify')
    .description(
      'recompute the HMAC chain and check it reaches the head anchored in the data directory (and each --head); exit status 1 names the first altered or missing record',
    )
    .option('--head <file...>', "another instance's audit-head.json to check the chain reaches (PostgreSQL, several instances)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate audit verify\n  relaygate audit verify --head /mnt/instance-2/audit-head.json')
    .action(async (opts: { json?: boolean; head?: string[] }, command: Command) => {
      const result = await withServices(command, (services) => services.audit.verify({ headFiles: opts.head ?? [] }));
      if (opts.json) printJson(result);
      if (!result.ok)
        throw new CliError(`audit log broken at record ${result.problem?.seq}: ${result.problem?.reason} (${result.checked} records before it are intact)`);
      if (opts.json) return;
      process.stdout.write(`Audit log intact: ${result.checked} records verified\n`);
      if (result.anchoredSeq === null && result.checked > 0)
        process.stderr.write(
          'relaygate: no anchored head was found in the data directory: the removal of the newest records cannot be ruled out; pass --head\n',
        );
      else if (result.anchoredSeq !== null)
        process.stdout.write(`The head anchored outside the database (record ${result.anchoredSeq}) is part of the chain\n`);
    });

  audit
    .command('export')
    .description('every record as JSON Lines, oldest first, on standard output')
    .addHelpText('after', '\nExample:\n  relaygate audit export > audit-$(date +%F).jsonl')
    .action(async (_opts: unknown, command: Command) => {
      await withServices(command, async (services) => {
        for await (const line of services.audit.exportLines()) process.stdout.write(line);
      });
    });
}
