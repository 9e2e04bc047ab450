import type { PeerCertificate } from 'node:tls';
import type { Kysely, SelectQueryBuilder } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Clock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { Database, Db } from '../store/tables.js';
import { type CertificateRefusal, credentialsForCertificate } from './certificate-login.js';
import type { Actor, Page, PageRequest } from './context.js';
import { type CheckedCredential, checkNewCredential, type NewCredential } from './credential-input.js';
import { checkLogin, type LoginRefusal } from './credential-login.js';
import { type Credential, type CredentialKind, type CredentialRow, parseList, toCredential, type Usage } from './credential-model.js';
import { findDomain, findOrganisation, liveInboundCredentials } from './credential-queries.js';
import { refuseUnlessConnected } from './domains.js';
import { messageRate } from './message-rate.js';
import { generateSecret, hashSecret } from './secret-hash.js';

export type { NewCredential } from './credential-input.js';
export type { Credential, CredentialKind, CredentialState } from './credential-model.js';

/** Two let a rotation overlap (create the new, switch the mail server, revoke the old); a third is never needed. */
export const MAX_LIVE_INBOUND_PER_DOMAIN = 2;

const PAST_TOLERANCE_MS = 60_000;

export type LoginOutcome = { ok: true; credential: Credential } | { ok: false; reason: LoginRefusal; detail: string };

export type CertificateOutcome = { ok: true; credentials: Credential[] } | { ok: false; reason: CertificateRefusal; detail: string };

export interface CredentialFilter extends PageRequest {
  kind?: CredentialKind | undefined;
}

export interface CredentialDirectory {
  /**
   * The secret is returned here once and never again; only its keyed hash is stored. A
   * credential with a tlsClientName has none (null): the client certificate is its proof.
   */
  create(input: NewCredential, actor: Actor): Promise<{ credential: Credential; secret: string | null }>;
  list(filter: CredentialFilter): Promise<Page<Credential>>;
  get(id: string): Promise<Credential>;
  /** Takes effect for the next AUTH: verification always reads the store. */
  revoke(id: string, actor: Actor): Promise<Credential>;
  /** Rotation: the credential keeps working until `retireAt`, and a use after now shows as use after rotation. */
  retire(id: string, retireAt: number, actor: Actor): Promise<Credential>;
  /** Decides an AUTH; the refusal reason is for the log, never for the client. */
  verify(username: string, secret: string, clientIp: string): Promise<LoginOutcome>;
  /**
   * The live inbound credentials a client certificate, already trusted by the TLS layer,
   * stands for (certificate-login.ts); reads the store every time, so a revocation applies to
   * the next transaction.
   */
  identifyByCertificate(peer: PeerCertificate, clientIp: string): Promise<CertificateOutcome>;
  /** Records a use that no AUTH recorded: the credential a certificate session relayed with. */
  recordUse(credentialId: string, clientIp: string): void;
  /**
   * Counts a message against the credential's hourly limit, across every instance on the
   * store; not ok when it is over (see message-rate.ts). Rejects when the count cannot be
   * kept (the store failed): the caller refuses for now rather than admit without a limit.
   */
  admitMessage(credentialId: string): Promise<{ ok: true } | { ok: false; limitPerHour: number }>;
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
  const pendingUsage = new Map<string, Usage>();
  /** Limits as read at each credential's last AUTH in this process. */
  const hourlyLimits = new Map<string, number>();
  const rate = messageRate(db, clock);
  const view = (row: CredentialRow) => toCredential(row, clock.now(), pendingUsage.get(row.id));

  return {
    async create(input, actor) {
      const now = clock.now();
      const checked = checkNewCredential(input, now);
      // An empty hash, which no secret's HMAC equals; checkLogin refuses such a credential first anyway.
      const secret = checked.tlsClientName === null ? generateSecret() : null;
      const row = await db.transaction().execute(async (trx) => {
        const scope = await scopeOf(trx, input, now);
        const created = newRow(input.kind, checked, scope, secret === null ? '' : hashSecret(hashKey, secret), now);
        const { domain_name: _name, ...values } = created;
        await trx.insertInto('credentials').values(values).execute();
        await appendAudit(trx, actor, { action: 'credential.create', targetType: 'credential', targetId: created.id, detail: creationDetail(created) }, now);
        return created;
      });
      await syncCommitted();
      return { credential: view(row), secret };
    },

    async list(filter) {
      let query = db.selectFrom('credentials');
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      const total = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      const rows = await withDomainName(query).orderBy('credentials.created_at').orderBy('credentials.id').limit(filter.limit).offset(filter.offset).execute();
      return { items: rows.map(view), total: Number(total?.n ?? 0), limit: filter.limit, offset: filter.offset };
    },

    async get(id) {
      const row = await rowById(db, id);
      if (!row) throw notFound('credential', id);
      return view(row);
    },

    async revoke(id, actor) {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const updated = await trx.updateTable('credentials').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
        if (Number(updated.numUpdatedRows) > 0) await appendAudit(trx, actor, { action: 'credential.revoke', targetType: 'credential', targetId: id }, now);
        return rowById(trx, id);
      });
      if (!row) throw notFound('credential', id);
      await syncCommitted();
      return view(row);
    },

    async retire(id, retireAt, actor) {
      const now = clock.now();
      const row = await db.transaction().execute(async (trx) => {
        const current = await rowById(trx, id);
        if (!current) throw notFound('credential', id);
        const state = toCredential(current, now).state;
        if (state === 'revoked' || state === 'expired' || state === 'retired')
          throw new DirectoryError('conflict', `credential ${id} is already ${state}; nothing is left to retire`);
        // "now" as the caller computed it arrives a moment late; a time well in the past is a mistake.
        if (retireAt < now - PAST_TOLERANCE_MS)
          throw new DirectoryError('invalid', 'the retire-at time is in the past; to stop the credential at once, retire it "now" or revoke it', 'retireAt');
        const at = Math.max(retireAt, now);
        // The rotation began when retirement was first set: a later change of the time keeps it.
        const retirementSetAt = current.retirement_set_at ?? now;
        await trx.updateTable('credentials').set({ retire_at: at, retirement_set_at: retirementSetAt }).where('id', '=', id).execute();
        const detail = { retireAt: isoOrNull(at), previousRetireAt: isoOrNull(current.retire_at) };
        await appendAudit(trx, actor, { action: 'credential.retire', targetType: 'credential', targetId: id, detail }, now);
        return { ...current, retire_at: at, retirement_set_at: retirementSetAt };
      });
      await syncCommitted();
      return view(row);
    },

    async verify(username, secret, clientIp) {
      const row = await withDomainName(db.selectFrom('credentials')).where('credentials.username', '=', username).executeTakeFirst();
      const now = clock.now();
      const check = checkLogin(row, secret, clientIp, now, hashKey);
      if (!check.ok) return check;
      const usage = { at: now, ip: clientIp };
      const { row: live } = check;
      pendingUsage.set(live.id, usage);
      if (live.max_messages_per_hour === null) hourlyLimits.delete(live.id);
      else hourlyLimits.set(live.id, Number(live.max_messages_per_hour));
      return { ok: true, credential: toCredential(live, now, usage) };
    },

    async identifyByCertificate(peer, clientIp) {
      const now = clock.now();
      const check = await credentialsForCertificate(db, peer, clientIp, now);
      if (!check.ok) return check;
      return { ok: true, credentials: check.rows.map((row) => toCredential(row, now, pendingUsage.get(row.id))) };
    },

    recordUse(credentialId, clientIp) {
      pendingUsage.set(credentialId, { at: clock.now(), ip: clientIp });
    },

    async admitMessage(credentialId) {
      const limit = hourlyLimits.get(credentialId);
      if (limit === undefined || (await rate.tryAdmit(credentialId, limit))) return { ok: true };
      return { ok: false, limitPerHour: limit };
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

/** Where a new credential belongs: its organisation, and for an inbound one its domain, within the two-live limit. */
async function scopeOf(trx: Kysely<Database>, input: NewCredential, now: number): Promise<Scope> {
  if (input.kind === 'submission') {
    const organisationId = input.organisationId ?? DEFAULT_ORGANISATION_ID;
    if (!(await findOrganisation(trx, organisationId))) throw new DirectoryError('invalid', `no organisation ${organisationId}`, 'organisationId');
    return { organisationId, domainId: null, domainName: null };
  }
  const domain = await findDomain(trx, input.domain ?? '');
  if (!domain) throw new DirectoryError('invalid', `no claimed domain ${input.domain}: claim it first, then create its inbound credential`, 'domain');
  if (input.organisationId !== undefined && input.organisationId !== domain.organisation_id)
    throw new DirectoryError('invalid', `domain ${domain.name} belongs to another organisation`, 'organisationId');
  await refuseUnlessConnected(trx, domain.name, 'domain');
  const live = await liveInboundCredentials(trx, domain.id, now);
  if (live.length >= MAX_LIVE_INBOUND_PER_DOMAIN)
    throw new DirectoryError(
      'limit',
      `domain ${domain.name} already has ${live.length} live inbound credentials (${live.join(', ')}), the most a rotation needs; revoke or retire one of them first`,
      'domain',
    );
  return { organisationId: domain.organisation_id, domainId: domain.id, domainName: domain.name };
}

interface Scope {
  organisationId: string;
  domainId: string | null;
  domainName: string | null;
}

function newRow(kind: CredentialKind, checked: CheckedCredential, scope: Scope, secretHash: string, now: number): CredentialRow {
  const list = (items: string[] | null) => (items ? JSON.stringify(items) : null);
  return {
    id: newId('cred'),
    kind,
    description: checked.description,
    username: newId(kind === 'submission' ? 'sub' : 'in', 8),
    secret_hash: secretHash,
    created_at: now,
    last_used_at: null,
    last_used_ip: null,
    revoked_at: null,
    organisation_id: scope.organisationId,
    domain_id: scope.domainId,
    domain_name: scope.domainName,
    allowed_senders: list(checked.allowedSenders),
    allowed_networks: list(checked.allowedNetworks),
    tls_client_name: checked.tlsClientName,
    expires_at: checked.expiresAt,
    max_messages_per_hour: checked.maxMessagesPerHour,
    retire_at: null,
    retirement_set_at: null,
  };
}

/** What the audit log keeps of a new credential: everything but its secret (and hash). */
function creationDetail(row: CredentialRow): Record<string, unknown> {
  return {
    kind: row.kind,
    description: row.description,
    username: row.username,
    organisationId: row.organisation_id,
    domain: row.domain_name,
    allowedSenders: parseList(row.allowed_senders),
    allowedNetworks: parseList(row.allowed_networks),
    tlsClientName: row.tls_client_name,
    expiresAt: isoOrNull(row.expires_at),
    maxMessagesPerHour: row.max_messages_per_hour,
  };
}

/** Every credential read carries its domain's name, for lists and `show`. */
function withDomainName(query: SelectQueryBuilder<Database, 'credentials', object>) {
  return query.leftJoin('domains', 'domains.id', 'credentials.domain_id').selectAll('credentials').select('domains.name as domain_name');
}

function rowById(db: Kysely<Database>, id: string): Promise<CredentialRow | undefined> {
  return withDomainName(db.selectFrom('credentials')).where('credentials.id', '=', id).executeTakeFirst();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(Number(ms)).toISOString();
}
