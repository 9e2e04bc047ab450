import { prepared } from './prepared.js';
import type { Db } from './tables.js';

/** Notified by PostgreSQL at the commit of every directory change, as `relaygate_directory:<schema>` (migration 0026). */
export const DIRECTORY_CHANNEL = 'relaygate_directory';

const selectVersion = prepared<Record<string, never>, { version: number | string }>([], (db) =>
  db.selectFrom('directory_version').select('version').where('id', '=', 1),
);

/**
 * The directory's version: it changes with every committed change to the credentials, domains,
 * routes, organisations, DKIM keys or inbound targets, whoever made it. A cache that read its entries at one
 * version is current as long as this still says the same.
 */
export async function directoryVersion(db: Db): Promise<string> {
  const { rows } = await selectVersion(db, {});
  return String(rows[0]?.version ?? '');
}
