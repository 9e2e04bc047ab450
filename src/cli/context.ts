import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AdminServices } from '../api/api-context.js';
import type { OpenStore } from '../app/open-store.js';
import type { Config } from '../config/index.js';
import type { Actor } from '../directory/context.js';
import { systemClock } from '../lib/clock.js';

export interface GlobalOptions {
  config?: string;
}

// The configuration, the store and the services are imported when a verb that uses them runs:
// imported at the top, they made every command load them (--version: 1.0 s of CPU here, 0.14 s
// without). test/cli-startup.test.ts checks what --version, --help and queue list load.

export async function configFrom(command: Command, overrides: Record<string, unknown> = {}): Promise<Config> {
  const { loadConfig } = await import('../config/index.js');
  const { config: file } = command.optsWithGlobals<GlobalOptions>();
  return loadConfig({ file, env: process.env, overrides });
}

/** Admin verbs work on the store directly, beside a running gateway (SQLite WAL allows it). */
export async function withStore<T>(command: Command, work: (store: OpenStore, config: Config) => Promise<T>): Promise<T> {
  const config = await configFrom(command);
  const { openStore } = await import('../app/open-store.js');
  const store = await openStore(config);
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}

/** The operator at the terminal, as the audit log names them. */
export function cliActor(): Actor {
  return { name: `cli:${userInfo().username}`, ip: null };
}

/** Runs an admin verb with the same services (and rules) the API uses. */
export async function withServices<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  const { adminServices } = await import('../app/admin-services.js');
  return withStore(command, (store, config) =>
    work(adminServices({ db: store.db, clock: systemClock, hashKey: store.hashKey, syncCommitted: store.syncCommitted }, config), cliActor()),
  );
}
