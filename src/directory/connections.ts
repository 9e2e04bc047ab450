import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import type { SmarthostTarget } from '../config/smarthost-url.js';
import { normaliseScope, SCOPE_KINDS, type ScopeKind } from '../delivery/connection-scope.js';
import type { RoutableConnection } from '../delivery/courier-router.js';
import { type OAuth2TokenCache, oauth2TokenCache } from '../delivery/oauth2-token.js';
import { type ProbeReport, probeSmarthost } from '../delivery/smarthost-probe.js';
import { smarthostTrust } from '../delivery/smarthost-trust.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { normaliseDomain } from '../policy/route-match.js';
import { type KeyEncryption, UnsealError } from '../secure/key-encryption.js';
import type { KeyConfig } from '../secure/master-key.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { CONNECTION_CLIENT_KEY_PURPOSE, CONNECTION_SECRET_PURPOSE } from '../secure/seal-purposes.js';
import { refuseUnlessConnectedState } from './connected-domain.js';
import {
  type AuthFields,
  type AuthInput,
  type AuthKind,
  type ClientCertView,
  checkAuthFields,
  checkClientCert,
  clientCertView,
  type OAuth2View,
  oauth2View,
} from './connection-auth.js';
import type { ConnectionChanges, ConnectionReads, ConnectionStore, StoredConnection } from './connection-store.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';

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
  /** none: no AUTH; password: SMTP AUTH PLAIN/LOGIN; xoauth2 / oauthbearer: an OAuth 2.0 token (client credentials). */
  auth: 'none' | AuthKind;
  oauth2: OAuth2View | null;
  hasSecret: boolean;
  clientCert: ClientCertView | null;
  createdAt: number;
  updatedAt: number;
}

export interface ConnectionInput extends AuthInput {
  scopeKind: string;
  scope: string;
  host: string;
  /** 587 for starttls, 465 for implicit, 25 for none when omitted. */
  port?: number | undefined;
  tlsMode?: string | undefined;
  username?: string | null | undefined;
  secret?: string | null | undefined;
  /** PEM chain presented on STARTTLS, with its unencrypted PEM key (sealed at rest); null removes both. */
  clientCert?: string | null | undefined;
  clientKey?: string | null | undefined;
}

/** Omitted fields stay; `username: null` removes the credentials (and the secret with them). */
export type ConnectionPatch = Partial<ConnectionInput>;

export interface ConnectionTest extends ProbeReport {
  connection: Connection;
  testedAt: number;
}

type Row = StoredConnection;

const DEFAULT_PORT: Record<TlsMode, number> = { starttls: 587, implicit: 465, none: 25 };
export const SECRET_PURPOSE = CONNECTION_SECRET_PURPOSE;

/**
 * Outbound connections: the smarthost for a domain or an address (DESIGN.md, concepts).
 * The secret is sealed with the key-encryption key, bound to its row (AAD), and leaves this
 * module only as the SMTP AUTH password handed to delivery and to the connection test.
 */
export function connectionDirectory(
  stores: { connections: ConnectionStore },
  deps: Pick<DirectoryContext, 'clock'>,
  config: Pick<Config, 'hostname' | 'smarthostCaFile'> & KeyConfig,
  organisationId: string = DEFAULT_ORGANISATION_ID,
) {
  const { connections } = stores;
  const { clock } = deps;
  const kek = keyEncryptionFor(config);
  const sealFor = (id: string, secret: string) => kek.seal(secret, { purpose: SECRET_PURPOSE, id });
  const sealKey = (id: string, key: string) => kek.seal(key, { purpose: CONNECTION_CLIENT_KEY_PURPOSE, id });
  // One cache per directory: delivery's and the admin services' each fetch their own tokens.
  const tokens = oauth2TokenCache({ clock, ca: smarthostTrust(config.smarthostCaFile) });

  return {
    async list(page: PageRequest): Promise<Page<Connection>> {
      const { items, total } = await connections.list(organisationId, page);
      return { items: items.map(toConnection), total, ...page };
    },

    async show(id: string): Promise<Connection> {
      return toConnection(await findRow(connections, organisationId, id));
    },

    async create(input: ConnectionInput, actor: Actor): Promise<Connection> {
      const fields = checkFields(input);
      const secret = checkSecret(input.secret);
      const client = clientPair(input.clientCert, input.clientKey, clock.now());
      checkCredentials(fields, secret !== null, client !== null);
      const id = newId('conn');
      const secretSealed = secret === null ? null : sealFor(id, secret);
      const clientFields = { clientCert: client?.cert ?? null, clientKeySealed: client ? sealKey(id, client.key) : null };
      return connections.change(async (tx) => {
        await refuseTakenScope(tx, fields.scope, id);
        await refuseUnlessConnected(tx, scopeDomain(fields.scope));
        const now = clock.now();
        const row: Row = { id, organisationId, ...fields, ...clientFields, secretSealed, createdAt: now, updatedAt: now };
        await tx.insert(row);
        await tx.audit(actor, { action: 'connection.create', targetType: 'connection', targetId: id, detail: auditDetail(row, secret !== null) }, now);
        return toConnection(row);
      });
    },

    async update(id: string, patch: ConnectionPatch, actor: Actor): Promise<Connection> {
      return connections.change(async (tx) => {
        const current = await findRow(tx, organisationId, id);
        const { fields, secretSealed, secretChanged, clientFields } = mergePatch(current, patch, {
          secret: (secret) => sealFor(id, secret),
          key: (key) => sealKey(id, key),
          now: clock.now(),
        });
        if (fields.scope !== current.scope) await refuseTakenScope(tx, fields.scope, id);
        if (fields.scope !== current.scope) await refuseUnlessConnected(tx, scopeDomain(fields.scope));
        // Strictly increasing, so two changes within one millisecond still rebuild delivery's pool.
        const now = Math.max(clock.now(), current.updatedAt + 1);
        const row: Row = { ...current, ...fields, ...clientFields, secretSealed, updatedAt: now };
        await tx.update(row);
        await tx.audit(actor, { action: 'connection.update', targetType: 'connection', targetId: id, detail: auditDetail(row, secretChanged) }, now);
        return toConnection(row);
      });
    },

    async remove(id: string, actor: Actor): Promise<Connection> {
      return connections.change(async (tx) => {
        const row = await findRow(tx, organisationId, id);
        await tx.remove(id);
        await tx.audit(
          actor,
          { action: 'connection.remove', targetType: 'connection', targetId: id, detail: { scope: row.scope, host: row.host } },
          clock.now(),
        );
        return toConnection(row);
      });
    },

    /** Connects, negotiates TLS, authenticates and quits, reporting each step; sends no mail. */
    async test(id: string, actor: Actor): Promise<ConnectionTest> {
      const row = await findRow(connections, organisationId, id);
      // A test always fetches a fresh token: the operator wants to know whether the endpoint answers now.
      tokens.forget(row.id);
      const report = await probeSmarthost(openTarget(kek, tokens, row), { heloName: config.hostname, ca: smarthostTrust(config.smarthostCaFile) });
      const testedAt = clock.now();
      const failed = report.steps.find((s) => s.status === 'fail')?.step ?? null;
      await connections.change((tx) =>
        tx.audit(actor, { action: 'connection.test', targetType: 'connection', targetId: id, detail: { ok: report.ok, failed } }, testedAt),
      );
      return { connection: toConnection(row), testedAt, ...report };
    },

    /** Every organisation's connections, for the courier router; secrets open only when a pool is built. */
    async routable(): Promise<RoutableConnection[]> {
      const rows = await connections.all();
      return rows.map((row) => ({ id: row.id, scope: row.scope, updatedAt: row.updatedAt, target: () => openTarget(kek, tokens, row) }));
    },
  };
}

export type ConnectionDirectory = ReturnType<typeof connectionDirectory>;

/** Where delivery goes for this connection, with its secret and client key opened. */
function openTarget(kek: KeyEncryption, tokens: OAuth2TokenCache, row: Row): SmarthostTarget {
  const target: SmarthostTarget = { host: row.host, port: row.port, tls: row.tlsMode };
  try {
    if (row.clientCert !== null && row.clientKeySealed !== null) {
      const key = kek.open(row.clientKeySealed, { purpose: CONNECTION_CLIENT_KEY_PURPOSE, id: row.id }).toString('utf8');
      target.clientCert = { cert: row.clientCert, key };
    }
    if (row.username === null || row.secretSealed === null) return target;
    const pass = kek.open(row.secretSealed, { purpose: SECRET_PURPOSE, id: row.id }).toString('utf8');
    const oauth = oauth2View(row);
    if (row.authKind === null || oauth === null) return { ...target, auth: { user: row.username, pass } };
    const client = { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: pass, scope: oauth.scope };
    const mechanism = row.authKind === 'xoauth2' ? 'XOAUTH2' : 'OAUTHBEARER';
    return { ...target, oauth: { mechanism, user: row.username, tokenUrl: oauth.tokenUrl, token: (fresh) => tokens.token(row.id, client, fresh) } };
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    throw new DirectoryError(
      'conflict',
      `${err.message}. If RELAYGATE_MASTER_KEY or data/keys/master.key changed, restore it, or set the secret again: relaygate connection update ${row.id} --secret-stdin`,
    );
  }
}

type Fields = Pick<Row, 'scopeKind' | 'scope' | 'host' | 'port' | 'tlsMode' | 'username'> & AuthFields;

interface Sealers {
  secret(secret: string): string;
  key(key: string): string;
  now: number;
}

function mergePatch(current: Row, patch: ConnectionPatch, seal: Sealers) {
  const removeAuth = patch.username === null || patch.username?.trim() === '';
  // Moving to password auth drops the OAuth settings unless new ones are given (which is refused).
  const keepOAuth = !removeAuth && patch.auth !== 'password';
  const kept = <K extends keyof AuthInput>(key: K, column: keyof AuthFields) =>
    patch[key] !== undefined ? patch[key] : keepOAuth ? (current[column] ?? undefined) : undefined;
  const fields = checkFields({
    scopeKind: patch.scopeKind ?? current.scopeKind,
    scope: patch.scope ?? current.scope,
    host: patch.host ?? current.host,
    tlsMode: patch.tlsMode ?? current.tlsMode,
    // A new TLS mode without a port moves to that mode's port only if the old one was the old mode's default.
    port: patch.port ?? (patch.tlsMode && current.port === DEFAULT_PORT[current.tlsMode] ? undefined : current.port),
    username: removeAuth ? null : (patch.username ?? current.username),
    auth: removeAuth ? undefined : (patch.auth ?? current.authKind ?? undefined),
    oauth2TokenUrl: kept('oauth2TokenUrl', 'oauth2TokenUrl'),
    oauth2ClientId: kept('oauth2ClientId', 'oauth2ClientId'),
    oauth2Scope: kept('oauth2Scope', 'oauth2Scope'),
  });
  const secret = removeAuth ? null : checkSecret(patch.secret);
  const secretSealed = removeAuth || patch.secret === null ? null : secret !== null ? seal.secret(secret) : current.secretSealed;
  const clientFields = mergeClientCert(current, patch, seal);
  checkCredentials(fields, secretSealed !== null, clientFields.clientCert !== null);
  return { fields, secretSealed, secretChanged: secretSealed !== current.secretSealed, clientFields };
}

function mergeClientCert(current: Row, patch: ConnectionPatch, seal: Sealers): Pick<Row, 'clientCert' | 'clientKeySealed'> {
  if (patch.clientCert === null) return { clientCert: null, clientKeySealed: null };
  if (patch.clientCert === undefined && patch.clientKey === undefined) return { clientCert: current.clientCert, clientKeySealed: current.clientKeySealed };
  const pair = clientPair(patch.clientCert, patch.clientKey, seal.now);
  return { clientCert: pair?.cert ?? null, clientKeySealed: pair ? seal.key(pair.key) : null };
}

/** A certificate comes with its key, always: a new certificate means a new key. */
function clientPair(cert: string | null | undefined, key: string | null | undefined, now: number): { cert: string; key: string } | null {
  if (!cert && !key) return null;
  if (!cert) throw invalid('clientCert', 'a client key needs its certificate: give both --client-cert and --client-key');
  if (!key) throw invalid('clientKey', 'a client certificate needs its private key: give both --client-cert and --client-key');
  if (cert.length > 64 * 1024 || key.length > 64 * 1024) throw invalid('clientCert', 'clientCert and clientKey must each be at most 64 KiB of PEM');
  return checkClientCert(cert, key, now);
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
  return {
    scopeKind,
    scope: scope.scope,
    host: checkHost(input.host),
    port,
    tlsMode: mode,
    username,
    ...checkAuthFields(input, username !== null),
  };
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
function checkCredentials(fields: Fields, hasSecret: boolean, hasClientCert: boolean): void {
  if (hasClientCert && fields.tlsMode === 'none')
    throw invalid('tlsMode', 'a client certificate is presented in the TLS handshake: use tlsMode starttls or implicit');
  if (fields.username !== null && !hasSecret) {
    const what = fields.authKind === null ? 'its secret' : 'the OAuth 2.0 client secret';
    throw invalid('secret', `a username needs ${what}: give --secret-stdin (CLI) or "secret" (API)`);
  }
  if (fields.username === null && hasSecret) throw invalid('username', 'a secret needs the username it belongs to');
  if (fields.username !== null && fields.tlsMode === 'none') {
    throw invalid('tlsMode', 'credentials are never sent over an unencrypted connection: use tlsMode starttls or implicit');
  }
}

/** The domain a scope belongs to: the scope itself, or an address's domain. */
const scopeDomain = (scope: string) => scope.slice(scope.lastIndexOf('@') + 1);

async function refuseTakenScope(tx: ConnectionChanges, scope: string, id: string): Promise<void> {
  const taken = await tx.scopeTakenBy(scope, id);
  if (taken) throw new DirectoryError('conflict', `connection ${taken} already serves ${scope}; update or remove it first`, 'scope');
}

/** A connection may serve a domain only while its connector is connected. */
async function refuseUnlessConnected(tx: ConnectionChanges, domain: string): Promise<void> {
  refuseUnlessConnectedState(await tx.connectorState(domain.trim().toLowerCase()), 'scope');
}

async function findRow(connections: ConnectionReads, organisationId: string, id: string): Promise<Row> {
  const row = await connections.find(organisationId, id);
  if (!row) throw new DirectoryError('not_found', `no connection ${id}; see "relaygate connection list"`);
  return row;
}

function auditDetail(row: Row, secretChanged: boolean): Record<string, unknown> {
  return {
    scopeKind: row.scopeKind,
    scope: row.scope,
    host: row.host,
    port: row.port,
    tlsMode: row.tlsMode,
    username: row.username,
    auth: row.authKind ?? 'password',
    oauth2: oauth2View(row),
    clientCert: clientCertView(row.clientCert)?.fingerprint256 ?? null,
    secretChanged,
  };
}

function toConnection(row: Row): Connection {
  return {
    id: row.id,
    scopeKind: row.scopeKind,
    scope: row.scope,
    host: row.host,
    port: row.port,
    tlsMode: row.tlsMode,
    username: row.username,
    auth: row.username === null ? 'none' : (row.authKind ?? 'password'),
    oauth2: oauth2View(row),
    hasSecret: row.secretSealed !== null,
    clientCert: clientCertView(row.clientCert),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
