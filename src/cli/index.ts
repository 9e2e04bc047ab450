import { Command } from 'commander';
import { registerAddress } from './commands/address.js';
import { registerAdmin } from './commands/admin.js';
import { registerAudit } from './commands/audit.js';
import { registerConnection } from './commands/connection.js';
import { registerCredential } from './commands/credential.js';
import { registerDirectory } from './commands/directory.js';
import { registerDkim } from './commands/dkim.js';
import { registerDns } from './commands/dns.js';
import { registerDomain } from './commands/domain.js';
import { registerInbound } from './commands/inbound.js';
import { registerKey } from './commands/key.js';
import { registerMigrate } from './commands/migrate.js';
import { registerQueue } from './commands/queue.js';
import { registerRoute } from './commands/route.js';
import { registerSandbox } from './commands/sandbox.js';
import { registerSecure } from './commands/secure.js';
import { registerStart } from './commands/start.js';
import { registerTlsPolicy } from './commands/tls-policy.js';
import { registerToken } from './commands/token.js';
import { packageVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('relaygate')
    .description('Relaygate: a secure mail gateway for business applications')
    .version(packageVersion(), '-V, --version', 'print the version of Relaygate')
    .option('-c, --config <file>', 'YAML configuration file (RELAYGATE_* environment variables override it)')
    .showHelpAfterError('(run with --help for usage)')
    // A command's help lists its subcommands as `name <args>`: each has its own --help for its
    // options. With `[options]` in every term, the longest (domain direct-delivery) left
    // commander less than its 40 columns to wrap descriptions in, so it wrapped none.
    .configureHelp({ subcommandTerm: (command) => `${command.name()} ${command.usage().replace(/^\[options\]\s*/, '')}`.trim() })
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate start\n  relaygate domain add example.com\n  relaygate credential create --kind submission --description "Helpdesk"\n  relaygate queue list\n' +
        'Every command has its own --help, e.g. relaygate queue --help. Guides: docs/guides/.',
    );
  registerStart(program);
  registerMigrate(program);
  registerDomain(program);
  registerAddress(program);
  registerDirectory(program);
  registerCredential(program);
  registerRoute(program);
  registerSecure(program);
  registerConnection(program);
  registerTlsPolicy(program);
  registerInbound(program);
  registerDkim(program);
  registerKey(program);
  registerDns(program);
  registerSandbox(program);
  registerToken(program);
  registerAdmin(program);
  registerAudit(program);
  registerQueue(program);
  return program;
}
