import type { Config } from '../config/schema.js';
import { redactedUrl } from '../store/postgres/redacted-url.js';

/** Which store the configuration opens, as the start banner shows it (the password never). */
export function storeDescription(config: Pick<Config, 'databaseUrl'>): string {
  return config.databaseUrl ? `PostgreSQL ${redactedUrl(config.databaseUrl)}` : 'embedded SQLite in the data directory';
}
