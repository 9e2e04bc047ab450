import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCredential } from './commands/credential.js';
import { registerMigrate } from './commands/migrate.js';
import { registerQueue } from './commands/queue.js';
import { registerStart } from './commands/start.js';
import { registerToken } from './commands/token.js';

export function buildProgram(): Command {
  const program = new Command('relaygate')
    .description('Relaygate: a secure mail gateway for business applications')
    .option('-c, --config <file>', 'YAML configuration file (RELAYGATE_* environment variables override it)')
    .showHelpAfterError('(run with --help for usage)');
  registerStart(program);
  registerMigrate(program);
  registerCredential(program);
  registerQueue(program);
  registerToken(program);
  registerAudit(program);
  return program;
}
