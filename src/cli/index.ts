import type { Command } from 'commander';
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
import { rootProgram } from './program.js';

// In the order of COMMANDS (commands-table.ts); test/cli-lazy-program.test.ts compares the two programs' help.
const REGISTER = [
  registerStart,
  registerMigrate,
  registerDomain,
  registerAddress,
  registerDirectory,
  registerCredential,
  registerRoute,
  registerSecure,
  registerConnection,
  registerTlsPolicy,
  registerInbound,
  registerDkim,
  registerKey,
  registerDns,
  registerSandbox,
  registerToken,
  registerAdmin,
  registerAudit,
  registerQueue,
];

/** The program with every command declared: what the tests walk. A command line gets programFor(), which loads only its command. */
export function buildProgram(): Command {
  const program = rootProgram();
  for (const register of REGISTER) register(program);
  return program;
}
