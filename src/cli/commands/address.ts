import type { Command } from 'commander';

/** relaygate address … (being built). */
export function registerAddress(_program: Command): void {}
