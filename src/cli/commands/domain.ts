import type { Command } from 'commander';

/** relaygate domain … (being built). */
export function registerDomain(_program: Command): void {}
