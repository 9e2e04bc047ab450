import { randomBytes } from 'node:crypto';
import { newId } from '../lib/ids.js';
import { DirectoryError, notFound } from '../model/directory-error.js';
import type { ApiTokenStore, StoredApiToken } from './api-token-store.js';
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
export function apiTokens(stores: { apiTokens: ApiTokenStore }, deps: Pick<DirectoryContext, 'clock' | 'hashKey' | 'syncCommitted'>) {
  const { apiTokens: tokens } = stores;
  const { clock, hashKey } = deps;
  return {
    async create(description: string, actor: Actor, scope: TokenScope = 'admin'): Promise<{ token: ApiToken; secret: string }> {
      const text = description.trim();
      if (!text) throw new DirectoryError('invalid', 'description must not be empty: say what will use this token', 'description');
      if (!TOKEN_SCOPES.includes(scope)) throw new DirectoryError('invalid', `scope must be one of ${TOKEN_SCOPES.join(', ')}`, 'scope');
      // The prefix makes a leaked token recognisable in logs and by secret scanners.
      const secret = `rgt_${randomBytes(32).toString('base64url')}`;
      const now = clock.now();
      const stored: StoredApiToken = {
        id: newId('tok'),
        description: text,
        createdAt: now,
        lastUsedAt: null,
        lastUsedIp: null,
        revokedAt: null,
        scope,
        tokenHash: hashSecret(hashKey, secret),
      };
      await tokens.change(async (tx) => {
        await tx.insert(stored);
        await tx.audit(actor, { action: 'token.create', targetType: 'token', targetId: stored.id, detail: { description: text, scope } }, now);
      });
      await deps.syncCommitted();
      return { token: toToken(stored), secret };
    },

    async list(page: PageRequest): Promise<Page<ApiToken>> {
      const { items, total } = await tokens.list(page);
      return { items: items.map(toToken), total, ...page };
    },

    async revoke(id: string, actor: Actor): Promise<ApiToken> {
      const now = clock.now();
      const stored = await tokens.change(async (tx) => {
        const updated = await tx.revoke(id, now);
        if (updated) await tx.audit(actor, { action: 'token.revoke', targetType: 'token', targetId: id }, now);
        return updated ?? (await tx.byId(id));
      });
      if (!stored) throw notFound('token', id);
      await deps.syncCommitted();
      return toToken(stored);
    },

    /** The token a bearer secret belongs to, if it is live; records its use. */
    async authenticate(secret: string, ip: string, scope: TokenScope = 'admin'): Promise<ApiToken | undefined> {
      const stored = await tokens.byHash(hashSecret(hashKey, secret));
      // A token of another scope is refused like an unknown one: a SCIM client's token opens nothing else.
      if (!stored || stored.revokedAt !== null || stored.scope !== scope) return undefined;
      const now = clock.now();
      await tokens.recordUse(stored.id, now, ip);
      return toToken({ ...stored, lastUsedAt: now, lastUsedIp: ip });
    },
  };
}

export type ApiTokens = ReturnType<typeof apiTokens>;

/** What is shown of a token: never its hash. */
function toToken(stored: StoredApiToken): ApiToken {
  return {
    id: stored.id,
    description: stored.description,
    createdAt: stored.createdAt,
    lastUsedAt: stored.lastUsedAt,
    lastUsedIp: stored.lastUsedIp,
    revokedAt: stored.revokedAt,
    scope: stored.scope,
  };
}
