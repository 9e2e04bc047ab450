import type { Command } from 'commander';
import { withStore } from '../context.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (start does this too)')
    .action(async (_opts: unknown, command: Command) => {
      await withStore(command, async (_store, config) => {
        process.stdout.write(`Database in ${config.dataDir} is up to date\n`);
      });
    });
}
