import { randomBytes } from 'node:crypto';
import { appendAudit } from '../audit/audit-log.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, notFound } from '../model/directory-error.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import { hashSecret } from './secret-hash.js';
import { TOKEN_SCOPES, type TokenScope } from './token-scopes.js';

export interface ApiToken {
  id: string;
  description: string;
  createdAt: number;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  revokedAt: number | null;
  scope: TokenScope;
}

/** `admin`: the /api/v1 admin API; `scim`: /scim/v2 provisioning, which can reach nothing else. */

/** Bearer tokens for the admin API: shown once, kept as a keyed hash, revocable at once. */
export function apiTokens(ctx: DirectoryContext) {
  const { db, clock, hashKey } = ctx;
  return {
    async create(description: string, actor: Actor, scope: TokenScope = 'admin'): Promise<{ token: ApiToken; secret: string }> {
      const text = description.trim();
      if (!text) throw new DirectoryError('invalid', 'description must not be empty: say what will use this token', 'description');
      if (!TOKEN_SCOPES.includes(scope)) throw new DirectoryError('invalid', `scope must be one of ${TOKEN_SCOPES.join(', ')}`, 'scope');
      // The prefix makes a leaked token recognisable in logs and by secret scanners.
      const secret = `rgt_${randomBytes(32).toString('base64url')}`;
      const now = clock.now();
      const row = {
        id: newId('tok'),
        description: text,
        token_hash: hashSecret(hashKey, secret),
        created_at: now,
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
        scope,
      };
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('api_tokens').values(row).execute();
        await appendAudit(trx, actor, { action: 'token.create', targetType: 'token', targetId: row.id, detail: { description: text, scope } }, now);
      });
      await ctx.syncCommitted();
      return { token: toToken(row), secret };
    },

    async list(page: PageRequest): Promise<Page<ApiToken>> {
      const total = await db
        .selectFrom('api_tokens')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      const rows = await db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').limit(page.limit).offset(page.offset).execute();
      return { items: rows.map(toToken), total: Number(total?.n ?? 0), ...page };
    },

    async revoke(id: string, actor: Actor): Promise<ApiToken> {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('api_tokens')
          .set({ revoked_at: now })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        if (updated) await appendAudit(trx, actor, { action: 'token.revoke', targetType: 'token', targetId: id }, now);
        return updated ?? (await trx.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst());
      });
      if (!row) throw notFound('token', id);
      await ctx.syncCommitted();
      return toToken(row);
    },

    /** The token a bearer secret belongs to, if it is live; records its use. */
    async authenticate(secret: string, ip: string, scope: TokenScope = 'admin'): Promise<ApiToken | undefined> {
      const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashSecret(hashKey, secret)).executeTakeFirst();
      // A token of another scope is refused like an unknown one: a SCIM client's token opens nothing else.
      if (!row || row.revoked_at !== null || row.scope !== scope) return undefined;
      const now = clock.now();
      await db.updateTable('api_tokens').set({ last_used_at: now, last_used_ip: ip }).where('id', '=', row.id).execute();
      return toToken({ ...row, last_used_at: now, last_used_ip: ip });
    },
  };
}

export type ApiTokens = ReturnType<typeof apiTokens>;

function toToken(row: {
  id: string;
  description: string;
  created_at: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  revoked_at: number | null;
  scope: TokenScope;
}): ApiToken {
  return {
    id: row.id,
    description: row.description,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    scope: row.scope,
  };
}
