import { type Command, Option } from 'commander';
import { type Credential, credentialDirectory } from '../../directory/credentials.js';
import { systemClock } from '../../lib/clock.js';
import { withStore } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerCredential(program: Command): void {
  const credential = program.command('credential').description('SMTP credentials for applications (submission) and mail servers (inbound)');

  credential
    .command('create')
    .description('create a credential; its secret is shown once and only a keyed hash is kept')
    .addOption(new Option('--kind <kind>', 'what the credential is for').choices(['submission', 'inbound']).default('submission'))
    .requiredOption('--description <text>', 'what uses it, e.g. "Salesforce"')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate credential create --kind submission --description Salesforce')
    .action(async (opts: { kind: 'submission' | 'inbound'; description: string; json?: boolean }, command: Command) => {
      if (opts.description.trim() === '') throw new CliError('--description must not be empty: say what will use this credential');
      const { credential: created, secret } = await withStore(command, (store) =>
        credentialDirectory(store, systemClock).create(opts.kind, opts.description.trim()),
      );
      if (opts.json)
        return printJson({
          id: created.id,
          kind: created.kind,
          description: created.description,
          username: created.username,
          secret,
          createdAt: formatTime(created.createdAt),
        });
      process.stdout.write(
        `Created ${created.kind} credential ${created.id} (${created.description})\n\n  username: ${created.username}\n  secret:   ${secret}\n\nThe secret is shown only this once: store it in the application now.\nUse it with AUTH PLAIN or LOGIN after STARTTLS on the submission port, or on the implicit-TLS port.\n`,
      );
    });

  credential
    .command('list')
    .description('list credentials with their last use (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const list = await withStore(command, (store) => credentialDirectory(store, systemClock).list());
      if (opts.json) return printJson(list.map(toJson));
      printTable(
        list.map((c) => ({
          id: c.id,
          kind: c.kind,
          description: c.description,
          username: c.username,
          created: formatTime(c.createdAt),
          'last used': formatTime(c.lastUsedAt),
          'last ip': c.lastUsedIp ?? '-',
          state: c.revokedAt ? `revoked ${formatTime(c.revokedAt)}` : 'active',
        })),
        ['id', 'kind', 'description', 'username', 'created', 'last used', 'last ip', 'state'],
      );
    });

  credential
    .command('revoke')
    .description('revoke a credential; the next AUTH with it fails')
    .argument('<id>', 'credential id (see credential list)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const revoked = await withStore(command, (store) => credentialDirectory(store, systemClock).revoke(id));
      if (!revoked) throw new CliError(`no credential ${id}; see "relaygate credential list"`);
      if (opts.json) return printJson(toJson(revoked));
      process.stdout.write(`Revoked ${revoked.id} (${revoked.description}) at ${formatTime(revoked.revokedAt)}\n`);
    });
}

function toJson(c: Credential) {
  return {
    id: c.id,
    kind: c.kind,
    description: c.description,
    username: c.username,
    createdAt: formatTime(c.createdAt),
    lastUsedAt: c.lastUsedAt ? formatTime(c.lastUsedAt) : null,
    lastUsedIp: c.lastUsedIp,
    revokedAt: c.revokedAt ? formatTime(c.revokedAt) : null,
  };
}
