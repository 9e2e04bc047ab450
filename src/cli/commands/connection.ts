import type { Command } from 'commander';

/** relaygate connection … (being built). */
export function registerConnection(_program: Command): void {}
