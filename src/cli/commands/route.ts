import type { Command } from 'commander';

/** relaygate route … (being built). */
export function registerRoute(_program: Command): void {}
