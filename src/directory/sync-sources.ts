import { X509Certificate } from 'node:crypto';
import { newId } from '../lib/ids.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { KeyEncryption } from '../secure/key-encryption.js';
import { LDAP_BIND_PASSWORD_PURPOSE, LDAP_CLIENT_KEY_PURPOSE } from '../secure/seal-purposes.js';
import type { Actor } from './context.js';
import type { PullResult } from './directory-pull.js';
import type { DirectorySyncStore, StoredSyncSource } from './directory-sync-store.js';
import { DEFAULT_MAPPING, type LdapMapping } from './ldap-mapping.js';
import { LdapPullError, type LdapTarget } from './ldap-search.js';

type Row = StoredSyncSource;

/** The saved LDAP source as `directory show` tells it: never a secret, only whether there is one. */
export interface SyncSourceView {
  id: string;
  kind: 'ldap';
  url: string;
  baseDn: string;
  filter: string;
  bindDn: string | null;
  hasBindPassword: boolean;
  caCert: boolean;
  clientCert: boolean;
  mapping: LdapMapping;
  intervalMs: number;
  createdAt: number;
  updatedAt: number;
  lastRun: { at: number; status: 'ok' | 'failed' | 'refused'; error: string | null; result: PullResult | null } | null;
  nextRunAt: number;
}

export interface SyncSourceInput {
  url: string;
  baseDn: string;
  filter: string;
  bindDn: string | null;
  /** undefined keeps the saved password when the bind DN stays the same. */
  bindPassword?: string | undefined;
  caCert: string | null;
  clientCert: { cert: string; key: string } | null;
  mapping: LdapMapping;
  intervalMs: number;
}

export const MIN_INTERVAL_MS = 1000;

/**
 * The organisation's LDAP sync source. Secrets are sealed with the key-encryption key, bound
 * to the row (the AAD), and leave this module only inside an LdapTarget handed to the search.
 */
export function syncSources(store: DirectorySyncStore, kek: () => KeyEncryption, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const find = () => store.findSource(organisationId);
  return {
    async get(): Promise<SyncSourceView | undefined> {
      const row = await find();
      return row ? toView(row) : undefined;
    },

    /** The saved source with its secrets opened, for a pull. */
    async target(): Promise<{ view: SyncSourceView; target: LdapTarget } | undefined> {
      const row = await find();
      if (!row) return undefined;
      const open = (sealed: string | null, purpose: string) => (sealed === null ? null : kek().open(sealed, { purpose, id: row.id }).toString('utf8'));
      const key = open(row.clientKeySealed, LDAP_CLIENT_KEY_PURPOSE);
      return {
        view: toView(row),
        target: {
          url: row.url,
          baseDn: row.baseDn,
          filter: row.filter,
          bindDn: row.bindDn,
          bindPassword: open(row.bindPasswordSealed, LDAP_BIND_PASSWORD_PURPOSE),
          caCert: row.caCert,
          clientCert: row.clientCert !== null && key !== null ? { cert: row.clientCert, key } : null,
          mapping: mappingOf(row),
        },
      };
    },

    async save(input: SyncSourceInput, actor: Actor, now: number): Promise<SyncSourceView> {
      checkInput(input, now);
      return store.changeSources(async (tx) => {
        const current = await tx.findSource(organisationId);
        const id = current?.id ?? newId('dsrc');
        const seal = (value: string, purpose: string) => kek().seal(value, { purpose, id });
        const password =
          input.bindDn === null
            ? null
            : input.bindPassword !== undefined
              ? seal(input.bindPassword, LDAP_BIND_PASSWORD_PURPOSE)
              : current?.bindDn === input.bindDn
                ? current.bindPasswordSealed
                : null;
        if (input.bindDn !== null && password === null)
          throw new LdapPullError(`--bind-dn ${input.bindDn} needs its password: pipe it to --bind-password-stdin`, '--bind-password-stdin');
        const row: Row = {
          id,
          organisationId,
          kind: 'ldap',
          url: input.url,
          baseDn: input.baseDn,
          filter: input.filter,
          bindDn: input.bindDn,
          bindPasswordSealed: password,
          caCert: input.caCert,
          clientCert: input.clientCert?.cert ?? null,
          clientKeySealed: input.clientCert ? seal(input.clientCert.key, LDAP_CLIENT_KEY_PURPOSE) : null,
          mappingJson: JSON.stringify(input.mapping),
          intervalMs: input.intervalMs,
          createdAt: current?.createdAt ?? now,
          updatedAt: now,
          lastRunAt: current?.lastRunAt ?? null,
          lastStatus: current?.lastStatus ?? null,
          lastResultJson: current?.lastResultJson ?? null,
          lastError: current?.lastError ?? null,
        };
        await tx.replaceSource(row);
        const detail = {
          url: row.url,
          baseDn: row.baseDn,
          filter: row.filter,
          bindDn: row.bindDn,
          intervalMs: row.intervalMs,
          passwordChanged: input.bindPassword !== undefined,
        };
        await tx.audit(actor, { action: current ? 'directory_sync.update' : 'directory_sync.create', targetType: 'directory_sync', targetId: id, detail }, now);
        return toView(row);
      });
    },

    async remove(actor: Actor, now: number): Promise<boolean> {
      return store.changeSources(async (tx) => {
        const gone = await tx.removeSource(organisationId);
        if (gone !== undefined) await tx.audit(actor, { action: 'directory_sync.remove', targetType: 'directory_sync', targetId: gone }, now);
        return gone !== undefined;
      });
    },

    async recordRun(id: string, at: number, outcome: { status: 'ok' | 'failed' | 'refused'; error: string | null; result: PullResult | null }): Promise<void> {
      await store.recordRun(id, { at, status: outcome.status, error: outcome.error, resultJson: outcome.result ? JSON.stringify(outcome.result) : null });
    },
  };
}

export type SyncSources = ReturnType<typeof syncSources>;

function checkInput(input: SyncSourceInput, now: number): void {
  if (!Number.isInteger(input.intervalMs) || input.intervalMs < MIN_INTERVAL_MS)
    throw new LdapPullError('--every must be at least 1s (15m is a sensible interval)', '--every');
  if (input.baseDn.trim() === '') throw new LdapPullError('--base is required: the DN under which the users are, e.g. ou=people,dc=example,dc=com', '--base');
  if (input.filter.trim() === '') throw new LdapPullError('--filter is required, e.g. (objectClass=inetOrgPerson)', '--filter');
  for (const [pem, flag] of [
    [input.caCert, '--ca'],
    [input.clientCert?.cert ?? null, '--client-cert'],
  ] as const) {
    if (pem === null) continue;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new LdapPullError(`${flag} must be a PEM certificate file (-----BEGIN CERTIFICATE-----)`, flag);
    }
    if (Date.parse(cert.validTo) < now) throw new LdapPullError(`the certificate in ${flag} expired on ${cert.validTo}`, flag);
  }
}

function mappingOf(row: Row): LdapMapping {
  return { ...DEFAULT_MAPPING, ...(JSON.parse(row.mappingJson) as Partial<LdapMapping>) };
}

function toView(row: Row): SyncSourceView {
  const lastRunAt = row.lastRunAt;
  return {
    id: row.id,
    kind: 'ldap',
    url: row.url,
    baseDn: row.baseDn,
    filter: row.filter,
    bindDn: row.bindDn,
    hasBindPassword: row.bindPasswordSealed !== null,
    caCert: row.caCert !== null,
    clientCert: row.clientCert !== null,
    mapping: mappingOf(row),
    intervalMs: row.intervalMs,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastRun:
      lastRunAt === null || row.lastStatus === null
        ? null
        : { at: lastRunAt, status: row.lastStatus, error: row.lastError, result: row.lastResultJson ? (JSON.parse(row.lastResultJson) as PullResult) : null },
    nextRunAt: lastRunAt === null ? row.updatedAt : lastRunAt + row.intervalMs,
  };
}
