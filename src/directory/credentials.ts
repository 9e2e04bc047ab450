import type { PeerCertificate } from 'node:tls';
import { newId } from '../lib/ids.js';
import { DirectoryError, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { type CertificateRefusal, credentialsForCertificate } from './certificate-login.js';
import { refuseUnlessConnectedState } from './connected-domain.js';
import type { Actor, DirectoryContext, Page, PageRequest } from './context.js';
import { type CheckedCredential, checkNewCredential, type NewCredential } from './credential-input.js';
import { checkLogin, type LoginRefusal, outsideAllowedNetworks } from './credential-login.js';
import { type Credential, type CredentialKind, type StoredCredential, toCredential, type Usage } from './credential-model.js';
import type { CredentialChanges, CredentialStore } from './credential-store.js';
import type { HourlyMessageRate } from './message-rate.js';
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
   * Whether `username` names a credential with allowed networks and `clientIp` is outside
   * them: where such a client's failed AUTHs are counted, apart from those of clients that
   * could use the credential, so that guessing from elsewhere does not lock them out. False
   * for an unknown username, whose failures are all counted together.
   */
  outsideAllowedNetworks(username: string, clientIp: string): Promise<boolean>;
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

export interface CredentialStores {
  credentials: CredentialStore;
  /** The hourly message count per credential (admitMessage). */
  messageRate: HourlyMessageRate;
}

/** `syncCommitted`: a created or revoked credential must not come back changed after a power cut. */
export function credentialDirectory(
  { credentials, messageRate: rate }: CredentialStores,
  { hashKey, syncCommitted, clock }: Pick<DirectoryContext, 'hashKey' | 'syncCommitted' | 'clock'>,
): CredentialDirectory {
  const pendingUsage = new Map<string, Usage>();
  /** Limits as read at each credential's last AUTH in this process. */
  const hourlyLimits = new Map<string, number>();
  const view = (stored: StoredCredential) => toCredential(stored, clock.now(), pendingUsage.get(stored.id));

  return {
    async create(input, actor) {
      const now = clock.now();
      const checked = checkNewCredential(input, now);
      // An empty hash, which no secret's HMAC equals; checkLogin refuses such a credential first anyway.
      const secret = checked.tlsClientName === null ? generateSecret() : null;
      const created = await credentials.change(async (tx) => {
        const scope = await scopeOf(tx, input, now);
        const credential = newCredential(input.kind, checked, scope, secret === null ? '' : hashSecret(hashKey, secret), now);
        await tx.insert(credential);
        await tx.audit(actor, { action: 'credential.create', targetType: 'credential', targetId: credential.id, detail: creationDetail(credential) }, now);
        return credential;
      });
      await syncCommitted();
      return { credential: view(created), secret };
    },

    async list(filter) {
      const { items, total } = await credentials.list({ kind: filter.kind }, filter);
      return { items: items.map(view), total, limit: filter.limit, offset: filter.offset };
    },

    async get(id) {
      const stored = await credentials.byId(id);
      if (!stored) throw notFound('credential', id);
      return view(stored);
    },

    async revoke(id, actor) {
      const now = clock.now();
      const stored = await credentials.change(async (tx) => {
        if (await tx.revoke(id, now)) await tx.audit(actor, { action: 'credential.revoke', targetType: 'credential', targetId: id }, now);
        return tx.byId(id);
      });
      if (!stored) throw notFound('credential', id);
      await syncCommitted();
      return view(stored);
    },

    async retire(id, retireAt, actor) {
      const now = clock.now();
      const stored = await credentials.change(async (tx) => {
        const current = await tx.byId(id);
        if (!current) throw notFound('credential', id);
        const state = toCredential(current, now).state;
        if (state === 'revoked' || state === 'expired' || state === 'retired')
          throw new DirectoryError('conflict', `credential ${id} is already ${state}; nothing is left to retire`);
        // "now" as the caller computed it arrives a moment late; a time well in the past is a mistake.
        if (retireAt < now - PAST_TOLERANCE_MS)
          throw new DirectoryError('invalid', 'the retire-at time is in the past; to stop the credential at once, retire it "now" or revoke it', 'retireAt');
        const at = Math.max(retireAt, now);
        // The rotation began when retirement was first set: a later change of the time keeps it.
        const retirementSetAt = current.retirementSetAt ?? now;
        await tx.setRetirement(id, at, retirementSetAt);
        const detail = { retireAt: isoOrNull(at), previousRetireAt: isoOrNull(current.retireAt) };
        await tx.audit(actor, { action: 'credential.retire', targetType: 'credential', targetId: id, detail }, now);
        return { ...current, retireAt: at, retirementSetAt };
      });
      await syncCommitted();
      return view(stored);
    },

    async verify(username, secret, clientIp) {
      const stored = await credentials.byUsername(username);
      const now = clock.now();
      const check = checkLogin(stored, secret, clientIp, now, hashKey);
      if (!check.ok) return check;
      const usage = { at: now, ip: clientIp };
      const { credential: live } = check;
      pendingUsage.set(live.id, usage);
      if (live.maxMessagesPerHour === null) hourlyLimits.delete(live.id);
      else hourlyLimits.set(live.id, live.maxMessagesPerHour);
      return { ok: true, credential: toCredential(live, now, usage) };
    },

    async outsideAllowedNetworks(username, clientIp) {
      return outsideAllowedNetworks(await credentials.allowedNetworksOf(username), clientIp);
    },

    async identifyByCertificate(peer, clientIp) {
      const now = clock.now();
      const check = await credentialsForCertificate(credentials, peer, clientIp, now);
      if (!check.ok) return check;
      return { ok: true, credentials: check.credentials.map((stored) => toCredential(stored, now, pendingUsage.get(stored.id))) };
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
      await credentials.recordUsage(batch);
    },
  };
}

/** Where a new credential belongs: its organisation, and for an inbound one its domain, within the two-live limit. */
async function scopeOf(tx: CredentialChanges, input: NewCredential, now: number): Promise<Scope> {
  if (input.kind === 'submission') {
    const organisationId = input.organisationId ?? DEFAULT_ORGANISATION_ID;
    if (!(await tx.organisationExists(organisationId))) throw new DirectoryError('invalid', `no organisation ${organisationId}`, 'organisationId');
    return { organisationId, domainId: null, domainName: null };
  }
  const domain = await tx.findDomain(input.domain ?? '');
  if (!domain) throw new DirectoryError('invalid', `no claimed domain ${input.domain}: claim it first, then create its inbound credential`, 'domain');
  if (input.organisationId !== undefined && input.organisationId !== domain.organisationId)
    throw new DirectoryError('invalid', `domain ${domain.name} belongs to another organisation`, 'organisationId');
  refuseUnlessConnectedState(await tx.connectorState(domain.name.trim().toLowerCase()), 'domain');
  const live = await tx.liveInbound(domain.id, now);
  if (live.length >= MAX_LIVE_INBOUND_PER_DOMAIN)
    throw new DirectoryError(
      'limit',
      `domain ${domain.name} already has ${live.length} live inbound credentials (${live.join(', ')}), the most a rotation needs; revoke or retire one of them first`,
      'domain',
    );
  return { organisationId: domain.organisationId, domainId: domain.id, domainName: domain.name };
}

interface Scope {
  organisationId: string;
  domainId: string | null;
  domainName: string | null;
}

function newCredential(kind: CredentialKind, checked: CheckedCredential, scope: Scope, secretHash: string, now: number): StoredCredential {
  return {
    id: newId('cred'),
    kind,
    description: checked.description,
    username: newId(kind === 'submission' ? 'sub' : 'in', 8),
    secretHash,
    createdAt: now,
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    organisationId: scope.organisationId,
    domainId: scope.domainId,
    domain: scope.domainName,
    allowedSenders: checked.allowedSenders,
    allowedNetworks: checked.allowedNetworks,
    tlsClientName: checked.tlsClientName,
    expiresAt: checked.expiresAt,
    maxMessagesPerHour: checked.maxMessagesPerHour,
    retireAt: null,
    retirementSetAt: null,
  };
}

/** What the audit log keeps of a new credential: everything but its secret (and hash). */
function creationDetail(credential: StoredCredential): Record<string, unknown> {
  return {
    kind: credential.kind,
    description: credential.description,
    username: credential.username,
    organisationId: credential.organisationId,
    domain: credential.domain,
    allowedSenders: credential.allowedSenders,
    allowedNetworks: credential.allowedNetworks,
    tlsClientName: credential.tlsClientName,
    expiresAt: isoOrNull(credential.expiresAt),
    maxMessagesPerHour: credential.maxMessagesPerHour,
  };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
