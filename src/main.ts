import { CliError, endQuietlyOnClosedPipe } from './cli/output.js';
import { isVersionOnly, packageVersion } from './cli/version.js';

endQuietlyOnClosedPipe();

// `relaygate --version` is answered before commander, the command declarations and the error
// types load: scripts and installers call it to see that the CLI works, and it then costs
// Node's start alone. Any other command line (--version among other arguments too) goes to
// commander, which prints the same.
if (isVersionOnly(process.argv.slice(2))) process.stdout.write(`${packageVersion()}\n`);
else await runCommandLine(process.argv);

/** The errors a user can act on end the process with one line and an exit status, no stack trace. */
async function runCommandLine(argv: string[]): Promise<void> {
  const [
    { programFor },
    { EnvironmentError, EX_UNAVAILABLE, fileErrorOf },
    { ConfigError, EX_CONFIG },
    { DirectoryError },
    { StoreUnavailable },
    { KeyMismatch },
  ] = await Promise.all([
    import('./cli/program.js'),
    import('./app/environment-error.js'),
    import('./config/config-error.js'),
    import('./model/directory-error.js'),
    import('./store/postgres/store-unavailable.js'),
    import('./store/shared-keys.js'),
  ]);
  try {
    await (await programFor(argv.slice(2))).parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `relaygate: the configuration has ${err.problems.length === 1 ? 'a problem' : `${err.problems.length} problems`}:\n${err.message}\n`,
      );
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
}
