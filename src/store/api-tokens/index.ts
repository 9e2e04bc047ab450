import type { ApiTokenChanges, ApiTokenReads, ApiTokenStore } from '../../directory/api-token-store.js';
import { appendAudit } from '../audit/append-audit.js';
import type { Db } from '../tables.js';
import { transact } from '../transact.js';
import { toStored } from './api-token-row.js';
import { listApiTokens } from './list-api-tokens.js';

/** The admin API's bearer tokens in the SQL store (table api_tokens). */
export function sqlApiTokenStore(db: Db): ApiTokenStore {
  return {
    ...apiTokenReads(db),
    recordUse: async (id, at, ip) => {
      await db.updateTable('api_tokens').set({ last_used_at: at, last_used_ip: ip }).where('id', '=', id).execute();
    },
    change: (work) => transact(db, (trx) => work(apiTokenChanges(trx))),
  };
}

function apiTokenReads(db: Db): ApiTokenReads {
  return {
    list: (page) => listApiTokens(db, page),
    byId: async (id) => {
      const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toStored(row);
    },
    byHash: async (tokenHash) => {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && toStored(row);
    },
  };
}

function apiTokenChanges(trx: Db): ApiTokenChanges {
  return {
    ...apiTokenReads(trx),
    insert: async (token) => {
      await trx
        .insertInto('api_tokens')
        .values({
          id: token.id,
          description: token.description,
          token_hash: token.tokenHash,
          created_at: token.createdAt,
          last_used_at: token.lastUsedAt,
          last_used_ip: token.lastUsedIp,
          revoked_at: token.revokedAt,
          scope: token.scope,
        })
        .execute();
    },
    revoke: async (id, at) => {
      const row = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row && toStored(row);
    },
    audit: (actor, entry, at) => appendAudit(trx, actor, entry, at),
  };
}
