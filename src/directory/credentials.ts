import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import type { Db } from '../store/tables.js';
import { generateSecret, hashSecret, secretMatches } from './secret-hash.js';

export type CredentialKind = 'submission' | 'inbound';

export interface Credential {
  id: string;
  kind: CredentialKind;
  description: string;
  username: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  revokedAt: number | null;
}

export interface CredentialDirectory {
  /** The secret is returned here once and never again; only its keyed hash is stored. */
  create(kind: CredentialKind, description: string): Promise<{ credential: Credential; secret: string }>;
  list(): Promise<Credential[]>;
  /** Takes effect for the next AUTH: verification always reads the store. */
  revoke(id: string): Promise<Credential | undefined>;
  verify(username: string, secret: string, clientIp: string): Promise<Credential | undefined>;
  /** Writes the buffered last-use times; AUTH must not wait for a disk write. */
  flushUsage(): Promise<void>;
}

export interface CredentialStore {
  db: Db;
  hashKey: Buffer;
  /** Durability barrier: a created or revoked credential must not come back changed after a power cut. */
  syncCommitted(): Promise<void>;
}

export function credentialDirectory({ db, hashKey, syncCommitted }: CredentialStore, clock: Clock): CredentialDirectory {
  const pendingUsage = new Map<string, { at: number; ip: string }>();

  return {
    async create(kind, description) {
      const secret = generateSecret();
      const row = {
        id: newId('cred'),
        kind,
        description,
        username: newId(kind === 'submission' ? 'sub' : 'in', 8),
        secret_hash: hashSecret(hashKey, secret),
        created_at: clock.now(),
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
      };
      await db.insertInto('credentials').values(row).execute();
      await syncCommitted();
      return { credential: toCredential(row), secret };
    },

    async list() {
      const rows = await db.selectFrom('credentials').selectAll().orderBy('created_at').execute();
      return rows.map((row) => toCredential(row, pendingUsage.get(row.id)));
    },

    async revoke(id) {
      const row = await db
        .updateTable('credentials')
        .set({ revoked_at: clock.now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (row) return toCredential(row);
      const existing = await db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
      return existing ? toCredential(existing) : undefined;
    },

    async verify(username, secret, clientIp) {
      const row = await db.selectFrom('credentials').selectAll().where('username', '=', username).executeTakeFirst();
      if (!row || row.revoked_at !== null || !secretMatches(hashKey, secret, row.secret_hash)) return undefined;
      const usage = { at: clock.now(), ip: clientIp };
      pendingUsage.set(row.id, usage);
      return toCredential(row, usage);
    },

    async flushUsage() {
      if (pendingUsage.size === 0) return;
      const batch = [...pendingUsage];
      pendingUsage.clear();
      await db.transaction().execute(async (trx) => {
        for (const [id, { at, ip }] of batch) {
          await trx.updateTable('credentials').set({ last_used_at: at, last_used_ip: ip }).where('id', '=', id).execute();
        }
      });
    },
  };
}

type CredentialRow = {
  id: string;
  kind: CredentialKind;
  description: string;
  username: string;
  created_at: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
};

function toCredential(row: CredentialRow, usage?: { at: number; ip: string }): Credential {
  return {
    id: row.id,
    kind: row.kind,
    description: row.description,
    username: row.username,
    createdAt: row.created_at,
    lastUsedAt: usage?.at ?? row.last_used_at,
    lastUsedIp: usage?.ip ?? row.last_used_ip,
    revokedAt: row.revoked_at,
  };
}
