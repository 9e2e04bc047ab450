import type { Command } from 'commander';
import { type OpenStore, openStore } from '../app/open-store.js';
import { type Config, loadConfig } from '../config/index.js';

export interface GlobalOptions {
  config?: string;
}

export function configFrom(command: Command, overrides: Record<string, unknown> = {}): Config {
  const { config: file } = command.optsWithGlobals<GlobalOptions>();
  return loadConfig({ file, env: process.env, overrides });
}

/** Admin verbs work on the store directly, beside a running gateway (SQLite WAL allows it). */
export async function withStore<T>(command: Command, work: (store: OpenStore, config: Config) => Promise<T>): Promise<T> {
  const config = configFrom(command);
  const store = await openStore(config);
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}
