import { type Command, Option } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { ApiToken } from '../../directory/api-tokens.js';
import type { Actor } from '../../directory/context.js';
import { TOKEN_SCOPES, type TokenScope } from '../../directory/token-scopes.js';
import { DirectoryError } from '../../model/directory-error.js';
import { descriptionOf } from '../commands-table.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description(descriptionOf('token'))
    .addHelpText('after', '\nExamples:\n  relaygate token create --description "Ops scripts"\n  relaygate token list');

  token
    .command('create')
    .description('create an API token; it is shown once and only a keyed hash is kept')
    .requiredOption('--description <text>', 'what uses it, e.g. "Terraform"')
    .addOption(new Option('--scope <scope>', 'admin: the admin API; scim: /scim/v2 directory provisioning only').choices(TOKEN_SCOPES).default('admin'))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  relaygate token create --description "Ops scripts"\n  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8025/api/v1/domains\n  relaygate token create --scope scim --description "Entra ID provisioning"',
    )
    .action(async (opts: { description: string; scope: TokenScope; json?: boolean }, command: Command) => {
      const { token: created, secret } = await run(command, (services, actor) => services.tokens.create(opts.description, actor, opts.scope));
      if (opts.json) return printJson({ ...toJson(created), secret });
      process.stdout.write(
        `Created ${created.scope === 'scim' ? 'SCIM' : 'API'} token ${created.id} (${created.description})\n\n  ${secret}\n\nIt is shown only this once. Send it as "Authorization: Bearer <token>".\n`,
      );
    });

  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate token list --json')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const page = await withServices(command, (services) => services.tokens.list({ limit: 500, offset: 0 }));
      if (opts.json) return printJson(page.items.map(toJson));
      printTable(
        page.items.map((t) => ({
          id: t.id,
          description: t.description,
          created: formatTime(t.createdAt),
          'last used': formatTime(t.lastUsedAt),
          'last ip': t.lastUsedIp ?? '-',
          scope: t.scope,
          state: t.revokedAt ? `revoked ${formatTime(t.revokedAt)}` : 'active',
        })),
        ['id', 'description', 'scope', 'created', 'last used', 'last ip', 'state'],
      );
    });

  token
    .command('revoke')
    .description('revoke an API token at once')
    .argument('<id>', 'token id (see token list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate token revoke tok_0123456789abcdef')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const revoked = await run(command, (services, actor) => services.tokens.revoke(id, actor));
      if (opts.json) return printJson(toJson(revoked));
      process.stdout.write(`Revoked ${revoked.id} (${revoked.description})\n`);
    });
}

/** The directory's refusals as one line with the next step, instead of a stack trace. */
async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (!(err instanceof DirectoryError)) throw err;
    throw new CliError(err.code === 'not_found' ? `${err.message}; see "relaygate token list"` : err.message);
  }
}

function toJson(t: ApiToken) {
  return {
    ...t,
    createdAt: formatTime(t.createdAt),
    lastUsedAt: t.lastUsedAt ? formatTime(t.lastUsedAt) : null,
    revokedAt: t.revokedAt ? formatTime(t.revokedAt) : null,
  };
}
