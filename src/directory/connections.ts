import { isIP } from 'node:net';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import type { SmarthostTarget } from '../config/smarthost-url.js';
import { normaliseScope, SCOPE_KINDS, type ScopeKind } from '../delivery/connection-scope.js';
import type { RoutableConnection } from '../delivery/courier-router.js';
import { type ProbeReport, probeSmarthost } from '../delivery/smarthost-probe.js';
import { smarthostTrust } from '../delivery/smarthost-trust.js';
import { newId } from '../lib/ids.js';
import { normaliseDomain } from '../policy/route-match.js';
import { type KeyEncryption, UnsealError } from '../secure/key-encryption.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { DEFAULT_ORGANISATION_ID } from '../store/migrations/0002-directory.js';
import type { ConnectionsTable, Db } from '../store/tables.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import { DirectoryError, invalid } from './errors.js';

export const TLS_MODES = ['starttls', 'implicit', 'none'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** A connection as the API and CLI show it: never the secret, only whether there is one. */
export interface Connection {
  id: string;
  scopeKind: ScopeKind;
  scope: string;
  host: string;
  port: number;
  tlsMode: TlsMode;
  username: string | null;
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ConnectionInput {
  scopeKind: string;
  scope: string;
  host: string;
  /** 587 for starttls, 465 for implicit, 25 for none when omitted. */
  port?: number | undefined;
  tlsMode?: string | undefined;
  username?: string | null | undefined;
  secret?: string | null | undefined;
}

/** Omitted fields stay; `username: null` removes the credentials (and the secret with them). */
export type ConnectionPatch = Partial<ConnectionInput>;

export interface ConnectionTest extends ProbeReport {
  connection: Connection;
  testedAt: number;
}

type Row = ConnectionsTable;

const DEFAULT_PORT: Record<TlsMode, number> = { starttls: 587, implicit: 465, none: 25 };
export const SECRET_PURPOSE = 'connection-secret';

/**
 * Outbound connections: the smarthost for a domain or an address (DESIGN.md, concepts).
 * The secret is sealed with the key-encryption key, bound to its row (AAD), and leaves this
 * module only as the SMTP AUTH password handed to delivery and to the connection test.
 */
export function connectionDirectory(ctx: DirectoryContext, config: Config, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;
  const kek = keyEncryptionFor(config);
  const sealFor = (id: string, secret: string) => kek.seal(secret, { purpose: SECRET_PURPOSE, id });

  return {
    async list(page: PageRequest): Promise<Page<Connection>> {
      const base = db.selectFrom('connections').where('organisation_id', '=', organisationId);
      const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const rows = await base.selectAll().orderBy('scope').orderBy('id').limit(page.limit).offset(page.offset).execute();
      return { items: rows.map(toConnection), total: Number(total?.n ?? 0), ...page };
    },

    async show(id: string): Promise<Connection> {
      return toConnection(await findRow(db, organisationId, id));
    },

    async create(input: ConnectionInput, actor: Actor): Promise<Connection> {
      const fields = checkFields(input);
      const secret = checkSecret(input.secret);
      checkCredentials(fields, secret !== null);
      const id = newId('conn');
      const secretSealed = secret === null ? null : sealFor(id, secret);
      return db.transaction().execute(async (trx) => {
        await refuseTakenScope(trx, fields.scope, id);
        const now = clock.now();
        const row: Row = { id, organisation_id: organisationId, ...fields, secret_sealed: secretSealed, created_at: now, updated_at: now };
        await trx.insertInto('connections').values(row).execute();
        await appendAudit(trx, actor, { action: 'connection.create', targetType: 'connection', targetId: id, detail: auditDetail(row, secret !== null) }, now);
        return toConnection(row);
      });
    },

    async update(id: string, patch: ConnectionPatch, actor: Actor): Promise<Connection> {
      return db.transaction().execute(async (trx) => {
        const current = await findRow(trx, organisationId, id);
        const { fields, secretSealed, secretChanged } = mergePatch(current, patch, (secret) => sealFor(id, secret));
        if (fields.scope !== current.scope) await refuseTakenScope(trx, fields.scope, id);
        // Strictly increasing, so two changes within one millisecond still rebuild delivery's pool.
        const now = Math.max(clock.now(), Number(current.updated_at) + 1);
        const row: Row = { ...current, ...fields, secret_sealed: secretSealed, updated_at: now };
        await trx
          .updateTable('connections')
          .set({ ...fields, secret_sealed: secretSealed, updated_at: now })
          .where('id', '=', id)
          .execute();
        await appendAudit(trx, actor, { action: 'connection.update', targetType: 'connection', targetId: id, detail: auditDetail(row, secretChanged) }, now);
        return toConnection(row);
      });
    },

    async remove(id: string, actor: Actor): Promise<Connection> {
      return db.transaction().execute(async (trx) => {
        const row = await findRow(trx, organisationId, id);
        await trx.deleteFrom('connections').where('id', '=', id).execute();
        await appendAudit(
          trx,
          actor,
          { action: 'connection.remove', targetType: 'connection', targetId: id, detail: { scope: row.scope, host: row.host } },
          clock.now(),
        );
        return toConnection(row);
      });
    },

    /** Connects, negotiates TLS, authenticates and quits, reporting each step; sends no mail. */
    async test(id: string, actor: Actor): Promise<ConnectionTest> {
      const row = await findRow(db, organisationId, id);
      const report = await probeSmarthost(openTarget(kek, row), { heloName: config.hostname, ca: smarthostTrust(config.smarthostCaFile) });
      const testedAt = clock.now();
      const failed = report.steps.find((s) => s.status === 'fail')?.step ?? null;
      await db
        .transaction()
        .execute((trx) =>
          appendAudit(trx, actor, { action: 'connection.test', targetType: 'connection', targetId: id, detail: { ok: report.ok, failed } }, testedAt),
        );
      return { connection: toConnection(row), testedAt, ...report };
    },

    /** Every organisation's connections, for the courier router; secrets open only when a pool is built. */
    async routable(): Promise<RoutableConnection[]> {
      const rows = await db.selectFrom('connections').selectAll().execute();
      return rows.map((row) => ({ id: row.id, scope: row.scope, updatedAt: Number(row.updated_at), target: () => openTarget(kek, row) }));
    },
  };
}

export type ConnectionDirectory = ReturnType<typeof connectionDirectory>;

/** Where delivery goes for this connection, with its secret opened. */
function openTarget(kek: KeyEncryption, row: Row): SmarthostTarget {
  const target: SmarthostTarget = { host: row.host, port: Number(row.port), tls: row.tls_mode };
  if (row.username === null || row.secret_sealed === null) return target;
  try {
    const pass = kek.open(row.secret_sealed, { purpose: SECRET_PURPOSE, id: row.id }).toString('utf8');
    return { ...target, auth: { user: row.username, pass } };
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    throw new DirectoryError(
      'conflict',
      `${err.message}. If RELAYGATE_MASTER_KEY or data/keys/master.key changed, restore it, or set the secret again: relaygate connection update ${row.id} --secret-stdin`,
    );
  }
}

type Fields = Pick<Row, 'scope_kind' | 'scope' | 'host' | 'port' | 'tls_mode' | 'username'>;

function mergePatch(current: Row, patch: ConnectionPatch, seal: (secret: string) => string) {
  const removeAuth = patch.username === null || patch.username?.trim() === '';
  const fields = checkFields({
    scopeKind: patch.scopeKind ?? current.scope_kind,
    scope: patch.scope ?? current.scope,
    host: patch.host ?? current.host,
    tlsMode: patch.tlsMode ?? current.tls_mode,
    // A new TLS mode without a port moves to that mode's port only if the old one was the old mode's default.
    port: patch.port ?? (patch.tlsMode && Number(current.port) === DEFAULT_PORT[current.tls_mode] ? undefined : Number(current.port)),
    username: removeAuth ? null : (patch.username ?? current.username),
  });
  const secret = removeAuth ? null : checkSecret(patch.secret);
  const secretSealed = removeAuth || patch.secret === null ? null : secret !== null ? seal(secret) : current.secret_sealed;
  checkCredentials(fields, secretSealed !== null);
  return { fields, secretSealed, secretChanged: secretSealed !== current.secret_sealed };
}

function checkFields(input: ConnectionInput): Fields {
  if (!(SCOPE_KINDS as readonly string[]).includes(input.scopeKind))
    throw invalid('scopeKind', `scopeKind must be domain or address, not "${input.scopeKind}"`);
  const scopeKind = input.scopeKind as ScopeKind;
  const scope = normaliseScope(scopeKind, input.scope);
  if ('problem' in scope) throw invalid('scope', scope.problem);
  const tlsMode = input.tlsMode ?? 'starttls';
  if (!(TLS_MODES as readonly string[]).includes(tlsMode)) throw invalid('tlsMode', `tlsMode must be starttls, implicit or none, not "${tlsMode}"`);
  const mode = tlsMode as TlsMode;
  const port = input.port ?? DEFAULT_PORT[mode];
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('port', `port must be a whole number from 1 to 65535, not ${port}`);
  const username = input.username?.trim() || null;
  if (username !== null && username.length > 255) throw invalid('username', 'username must be at most 255 characters');
  return { scope_kind: scopeKind, scope: scope.scope, host: checkHost(input.host), port, tls_mode: mode, username };
}

function checkHost(text: string): string {
  const host = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) return host;
  const name = normaliseDomain(host);
  if (!name) throw invalid('host', `"${text}" is not a host name or IP address`);
  return name;
}

function checkSecret(secret: string | null | undefined): string | null {
  if (secret === undefined || secret === null) return null;
  if (secret.length === 0) throw invalid('secret', 'secret must not be empty');
  if (secret.length > 1024) throw invalid('secret', 'secret must be at most 1024 characters');
  return secret;
}

/** TLS before AUTH, always (DESIGN.md; RFC 4954 §4): a username and secret come together, and never without TLS. */
function checkCredentials(fields: Fields, hasSecret: boolean): void {
  if (fields.username !== null && !hasSecret) throw invalid('secret', 'a username needs its secret: give --secret-stdin (CLI) or "secret" (API)');
  if (fields.username === null && hasSecret) throw invalid('username', 'a secret needs the username it belongs to');
  if (fields.username !== null && fields.tls_mode === 'none') {
    throw invalid('tlsMode', 'credentials are never sent over an unencrypted connection: use tlsMode starttls or implicit');
  }
}

async function refuseTakenScope(db: Db, scope: string, id: string): Promise<void> {
  const taken = await db.selectFrom('connections').select('id').where('scope', '=', scope).where('id', '!=', id).executeTakeFirst();
  if (taken) throw new DirectoryError('conflict', `connection ${taken.id} already serves ${scope}; update or remove it first`, 'scope');
}

async function findRow(db: Db, organisationId: string, id: string): Promise<Row> {
  const row = await db.selectFrom('connections').selectAll().where('id', '=', id).where('organisation_id', '=', organisationId).executeTakeFirst();
  if (!row) throw new DirectoryError('not_found', `no connection ${id}; see "relaygate connection list"`);
  return row;
}

function auditDetail(row: Row, secretChanged: boolean): Record<string, unknown> {
  return { scopeKind: row.scope_kind, scope: row.scope, host: row.host, port: row.port, tlsMode: row.tls_mode, username: row.username, secretChanged };
}

function toConnection(row: Row): Connection {
  return {
    id: row.id,
    scopeKind: row.scope_kind,
    scope: row.scope,
    host: row.host,
    port: Number(row.port),
    tlsMode: row.tls_mode,
    username: row.username,
    hasSecret: row.secret_sealed !== null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
