import type { Command } from 'commander';
import type { adminAccounts } from '../../console/admin-accounts.js';
import { systemClock } from '../../lib/clock.js';
import { descriptionOf } from '../commands-table.js';
import { cliActor, withStore } from '../context.js';
import { formatTime, printJson, printTable } from '../output.js';

export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description(descriptionOf('admin'))
    .addHelpText('after', '\nExamples:\n  relaygate admin create alice@example.com\n  relaygate admin list');
  const accounts =
    (command: Command) =>
    <T>(work: (a: ReturnType<typeof adminAccounts>) => Promise<T>) =>
      withStore(command, async (store) => {
        const { consoleAccounts } = await import('../../app/console-accounts.js');
        return work(consoleAccounts(store, systemClock));
      });

  admin
    .command('create')
    .description('create an administrator; prints a one-time password to change at the first sign-in')
    .argument('<email>')
    .option('--password-stdin', 'set this password (read from standard input) instead of a one-time one')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate admin create ops@example.com\n  printf %s "$PASSWORD" | relaygate admin create ops@example.com --password-stdin',
    )
    .action(async (email: string, opts: { passwordStdin?: boolean; json?: boolean }, command: Command) => {
      const password = opts.passwordStdin
        ? Buffer.concat(await process.stdin.toArray())
            .toString('utf8')
            .replace(/\r?\n$/, '')
        : undefined;
      const { admin: created, oneTimePassword } = await accounts(command)((a) => a.create(email, cliActor(), password));
      if (opts.json) return printJson({ ...created, oneTimePassword });
      process.stdout.write(`Administrator ${created.email} created.\n`);
      if (oneTimePassword)
        process.stdout.write(
          `One-time password (shown once; to be changed at the first sign-in): ${oneTimePassword}\nSign in at /console/sign-in on the gateway's HTTP port.\n`,
        );
    });

  admin
    .command('list')
    .description('every administrator, with the last sign-in and whether the account is locked or disabled')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate admin list')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const list = await accounts(command)((a) => a.list());
      if (opts.json) return printJson(list);
      printTable(
        list.map((a) => ({
          email: a.email,
          created: formatTime(a.createdAt),
          'last sign-in': formatTime(a.lastSignInAt),
          state: a.disabled ? 'disabled' : a.lockedUntil && a.lockedUntil > Date.now() ? `locked until ${formatTime(a.lockedUntil)}` : 'active',
        })),
        ['email', 'created', 'last sign-in', 'state'],
      );
    });

  admin
    .command('reset-password')
    .description('a new one-time password; unlocks the account and ends its sessions')
    .argument('<email>')
    .addHelpText('after', '\nExample:\n  relaygate admin reset-password alice@example.com')
    .action(async (email: string, _opts: unknown, command: Command) => {
      const oneTime = await accounts(command)((a) => a.resetPassword(email, cliActor()));
      process.stdout.write(`One-time password for ${email.toLowerCase()} (shown once): ${oneTime}\n`);
    });

  admin
    .command('disable')
    .description('the account can no longer sign in; its sessions end at once')
    .argument('<email>')
    .addHelpText('after', '\nExample:\n  relaygate admin disable alice@example.com')
    .action(async (email: string, _opts: unknown, command: Command) => {
      await accounts(command)((a) => a.disable(email, cliActor()));
      process.stdout.write(`Administrator ${email.toLowerCase()} disabled.\n`);
    });
}
