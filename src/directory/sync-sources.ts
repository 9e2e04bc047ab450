import { X509Certificate } from 'node:crypto';
import { appendAudit } from '../audit/audit-log.js';
import { newId } from '../lib/ids.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { KeyEncryption } from '../secure/key-encryption.js';
import { LDAP_BIND_PASSWORD_PURPOSE, LDAP_CLIENT_KEY_PURPOSE } from '../secure/seal-purposes.js';
import type { Db, DirectorySyncSourcesTable } from '../store/tables.js';
import type { Actor } from './context.js';
import type { PullResult } from './directory-pull.js';
import { DEFAULT_MAPPING, type LdapMapping } from './ldap-mapping.js';
import { LdapPullError, type LdapTarget } from './ldap-search.js';

type Row = DirectorySyncSourcesTable;

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
export function syncSources(db: Db, kek: () => KeyEncryption, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const find = () =>
    db.selectFrom('directory_sync_sources').selectAll().where('organisation_id', '=', organisationId).where('kind', '=', 'ldap').executeTakeFirst();
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
      const key = open(row.client_key_sealed, LDAP_CLIENT_KEY_PURPOSE);
      return {
        view: toView(row),
        target: {
          url: row.url,
          baseDn: row.base_dn,
          filter: row.filter,
          bindDn: row.bind_dn,
          bindPassword: open(row.bind_password_sealed, LDAP_BIND_PASSWORD_PURPOSE),
          caCert: row.ca_cert,
          clientCert: row.client_cert !== null && key !== null ? { cert: row.client_cert, key } : null,
          mapping: mappingOf(row),
        },
      };
    },

    async save(input: SyncSourceInput, actor: Actor, now: number): Promise<SyncSourceView> {
      checkInput(input, now);
      return db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('directory_sync_sources')
          .selectAll()
          .where('organisation_id', '=', organisationId)
          .where('kind', '=', 'ldap')
          .executeTakeFirst();
        const id = current?.id ?? newId('dsrc');
        const seal = (value: string, purpose: string) => kek().seal(value, { purpose, id });
        const password =
          input.bindDn === null
            ? null
            : input.bindPassword !== undefined
              ? seal(input.bindPassword, LDAP_BIND_PASSWORD_PURPOSE)
              : current?.bind_dn === input.bindDn
                ? current.bind_password_sealed
                : null;
        if (input.bindDn !== null && password === null)
          throw new LdapPullError(`--bind-dn ${input.bindDn} needs its password: pipe it to --bind-password-stdin`, '--bind-password-stdin');
        const row: Row = {
          id,
          organisation_id: organisationId,
          kind: 'ldap',
          url: input.url,
          base_dn: input.baseDn,
          filter: input.filter,
          bind_dn: input.bindDn,
          bind_password_sealed: password,
          ca_cert: input.caCert,
          client_cert: input.clientCert?.cert ?? null,
          client_key_sealed: input.clientCert ? seal(input.clientCert.key, LDAP_CLIENT_KEY_PURPOSE) : null,
          mapping: JSON.stringify(input.mapping),
          interval_ms: input.intervalMs,
          created_at: current?.created_at ?? now,
          updated_at: now,
          last_run_at: current?.last_run_at ?? null,
          last_status: current?.last_status ?? null,
          last_result: current?.last_result ?? null,
          last_error: current?.last_error ?? null,
        };
        if (current) await trx.deleteFrom('directory_sync_sources').where('id', '=', id).execute();
        await trx.insertInto('directory_sync_sources').values(row).execute();
        const detail = {
          url: row.url,
          baseDn: row.base_dn,
          filter: row.filter,
          bindDn: row.bind_dn,
          intervalMs: row.interval_ms,
          passwordChanged: input.bindPassword !== undefined,
        };
        await appendAudit(
          trx,
          actor,
          { action: current ? 'directory_sync.update' : 'directory_sync.create', targetType: 'directory_sync', targetId: id, detail },
          now,
        );
        return toView(row);
      });
    },

    async remove(actor: Actor, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const gone = await trx
          .deleteFrom('directory_sync_sources')
          .where('organisation_id', '=', organisationId)
          .where('kind', '=', 'ldap')
          .returning('id')
          .executeTakeFirst();
        if (gone) await appendAudit(trx, actor, { action: 'directory_sync.remove', targetType: 'directory_sync', targetId: gone.id }, now);
        return gone !== undefined;
      });
    },

    async recordRun(id: string, at: number, outcome: { status: 'ok' | 'failed' | 'refused'; error: string | null; result: PullResult | null }): Promise<void> {
      await db
        .updateTable('directory_sync_sources')
        .set({ last_run_at: at, last_status: outcome.status, last_error: outcome.error, last_result: outcome.result ? JSON.stringify(outcome.result) : null })
        .where('id', '=', id)
        .execute();
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
  return { ...DEFAULT_MAPPING, ...(JSON.parse(row.mapping) as Partial<LdapMapping>) };
}

function toView(row: Row): SyncSourceView {
  const lastRunAt = row.last_run_at === null ? null : Number(row.last_run_at);
  return {
    id: row.id,
    kind: 'ldap',
    url: row.url,
    baseDn: row.base_dn,
    filter: row.filter,
    bindDn: row.bind_dn,
    hasBindPassword: row.bind_password_sealed !== null,
    caCert: row.ca_cert !== null,
    clientCert: row.client_cert !== null,
    mapping: mappingOf(row),
    intervalMs: Number(row.interval_ms),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastRun:
      lastRunAt === null || row.last_status === null
        ? null
        : { at: lastRunAt, status: row.last_status, error: row.last_error, result: row.last_result ? (JSON.parse(row.last_result) as PullResult) : null },
    nextRunAt: lastRunAt === null ? Number(row.updated_at) : lastRunAt + Number(row.interval_ms),
  };
}
