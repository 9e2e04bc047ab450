import { EnvironmentError, EX_UNAVAILABLE, fileErrorOf } from './app/environment-error.js';
import { buildProgram } from './cli/index.js';
import { CliError, endQuietlyOnClosedPipe } from './cli/output.js';
import { ConfigError, EX_CONFIG } from './config/config-error.js';
import { DirectoryError } from './model/directory-error.js';
import { StoreUnavailable } from './store/postgres/store-unavailable.js';
import { KeyMismatch } from './store/shared-keys.js';

endQuietlyOnClosedPipe();

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
  const environment = err instanceof EnvironmentError ? err : fileErrorOf(err);
  if (environment) {
    process.stderr.write(`relaygate: ${environment.message}\n`);
    process.exit(environment.exitCode);
  }
  throw err;
}
