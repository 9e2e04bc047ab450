import type { Command } from 'commander';
import { descriptionOf } from '../commands-table.js';
import { withStore } from '../context.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(descriptionOf('migrate'))
    .addHelpText('after', '\nExamples:\n  relaygate migrate\n  RELAYGATE_DATABASE_URL=postgres://relaygate:secret@db.example.com/relaygate relaygate migrate')
    .action(async (_opts: unknown, command: Command) => {
      await withStore(command, async (store, config) => {
        const where = store.engine === 'postgres' ? 'PostgreSQL database' : `SQLite database in ${config.dataDir}`;
        process.stdout.write(`The ${where} is up to date\n`);
      });
    });
}
