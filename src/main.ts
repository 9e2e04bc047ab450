import { buildProgram } from './cli/index.js';
import { CliError } from './cli/output.js';
import { ConfigError, EX_CONFIG } from './config/index.js';
import { DirectoryError } from './directory/errors.js';
import { StoreUnavailable } from './store/postgres/open.js';
import { KeyMismatch } from './store/shared-keys.js';

/** sysexits.h: a service this needs is not available (the database). */
const EX_UNAVAILABLE = 69;

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`relaygate: the configuration has ${err.problems.length === 1 ? 'a problem' : `${err.problems.length} problems`}:\n${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  if (err instanceof CliError) {
    process.stderr.write(`relaygate: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof StoreUnavailable) {
    process.stderr.write(`relaygate: ${err.message}\n`);
    process.exit(EX_UNAVAILABLE);
  }
  if (err instanceof KeyMismatch) {
    process.stderr.write(`relaygate: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  if (err instanceof DirectoryError) {
    const field = err.field ? ` (${err.field})` : '';
    process.stderr.write(`relaygate: ${err.message}${field}\n`);
    process.exit(1);
  }
  throw err;
}
