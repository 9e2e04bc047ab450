import { Command } from 'commander';
import { COMMANDS } from './commands-table.js';
import { packageVersion } from './version.js';

/** The program without its commands: name, version, global options and help layout. */
export function rootProgram(): Command {
  return (
    new Command('relaygate')
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
      )
  );
}

/**
 * The program for one command line: the command it names is declared by its module, the
 * others only by name and description, which is all --help and commander's "did you mean"
 * read of them. Importing all nineteen modules (and what they import) cost every command
 * ~40 ms here. A line that names no known command (relaygate --help, a typo) gets them all
 * as names only.
 */
export async function programFor(args: readonly string[]): Promise<Command> {
  const named = commandNamed(args);
  const register = await COMMANDS.find((c) => c.name === named)?.load();
  const program = rootProgram();
  for (const entry of COMMANDS) {
    if (entry.name === named && register) register(program);
    // Never run: a line that names it gets the real one. Its usage is what commander derives
    // for the real command, which --help shows in the term.
    else
      program
        .command(entry.name)
        .description(entry.description)
        .usage(entry.subcommands ? '[options] [command]' : '[options]');
  }
  return program;
}

/** The command a line names: its first operand, past the global options; `help X` names X. */
export function commandNamed(args: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      operands.push(...args.slice(i + 1, i + 3));
      break;
    }
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) operands.push(arg);
  }
  return operands[0] === 'help' ? operands[1] : operands[0];
}
