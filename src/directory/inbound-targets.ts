import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import { generateWebhookSecret } from '../inbound/webhook-signature.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { WEBHOOK_SECRET_PURPOSE } from '../secure/seal-purposes.js';
import type { Db, InboundTargetKind, InboundTargetsTable } from '../store/tables.js';
import { makeWebhookWorkDue } from '../store/webhook-work-due.js';
import type { Actor, DirectoryContext } from './context.js';
import { findDomain } from './credential-queries.js';
import { checkTargetInput, type InboundTargetInput } from './inbound-target-input.js';

export type { InboundTargetInput } from './inbound-target-input.js';

/** Where inbound mail goes, as the API and CLI show it: never the secret. */
export interface InboundTarget {
  id: string;
  /** null: the organisation's default; otherwise the domain it applies to. */
  domain: string | null;
  kind: InboundTargetKind;
  url: string | null;
  forwardTo: string | null;
  /** The SMTP reply waits for the application's answer (webhooks only). */
  synchronous: boolean;
  /** While a rotated-out secret still signs alongside the new one. */
  previousSecretUntil: number | null;
  /** Since when no request is sent (the webhook answered 410 Gone); null while enabled. */
  disabledAt: number | null;
  /** The answer that disabled it. */
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A target as delivery needs it: with its signing secrets opened. */
export interface RoutableTarget extends InboundTarget {
  /** The current secret first; the previous one while it still signs. */
  secrets: string[];
}

export const SECRET_PURPOSE = WEBHOOK_SECRET_PURPOSE;
export { DEFAULT_ROTATION_OVERLAP_MS } from './rotation-overlap.js';

/**
 * Inbound targets: one for the organisation, and one per domain that needs its own. A
 * webhook's signing secret is generated here, shown once, sealed with the key-encryption key;
 * a rotation keeps the previous secret signing for an overlap so receivers switch without loss.
 */
export function inboundTargetDirectory(ctx: DirectoryContext, config: Config, organisationId: string = DEFAULT_ORGANISATION_ID) {
  const { db, clock } = ctx;
  const kek = keyEncryptionFor(config);
  const seal = (id: string, secret: string) => kek.seal(secret, { purpose: SECRET_PURPOSE, id });
  const open = (id: string, sealed: string) => kek.open(sealed, { purpose: SECRET_PURPOSE, id }).toString('utf8');

  async function scopeOf(db: Db, domain: string | undefined) {
    if (domain === undefined) return { scope: `organisation:${organisationId}`, domainId: null, domainName: null };
    const found = await findDomain(db, domain);
    if (!found || found.organisation_id !== organisationId)
      throw invalid('domain', `${domain} is not a domain of this organisation; claim it first with "relaygate domain add"`);
    return { scope: `domain:${found.id}`, domainId: found.id, domainName: found.name };
  }

  async function view(db: Db, row: InboundTargetsTable): Promise<InboundTarget> {
    const domain = row.domain_id ? await db.selectFrom('domains').select('name').where('id', '=', row.domain_id).executeTakeFirst() : undefined;
    return toTarget(row, domain?.name ?? null);
  }

  return {
    async list(): Promise<InboundTarget[]> {
      const rows = await db.selectFrom('inbound_targets').selectAll().where('organisation_id', '=', organisationId).orderBy('scope').execute();
      return Promise.all(rows.map((row) => view(db, row)));
    },

    async get(domain: string | undefined): Promise<InboundTarget> {
      const { scope } = await scopeOf(db, domain);
      const row = await db.selectFrom('inbound_targets').selectAll().where('scope', '=', scope).executeTakeFirst();
      if (!row) throw notFound('inbound target for', domain ?? 'the organisation');
      return view(db, row);
    },

    /**
     * Creates or replaces the target of a scope. A webhook that had a secret keeps it (the
     * application need not change anything for a new URL); a new webhook gets one, returned once.
     */
    async set(input: InboundTargetInput, actor: Actor): Promise<{ target: InboundTarget; secret: string | null }> {
      const fields = checkTargetInput(input, config);
      return db.transaction().execute(async (trx) => {
        const { scope, domainId, domainName } = await scopeOf(trx, input.domain);
        const current = await trx.selectFrom('inbound_targets').selectAll().where('scope', '=', scope).executeTakeFirst();
        const now = Math.max(clock.now(), Number(current?.updated_at ?? 0) + 1);
        const id = current?.id ?? newId('itg');
        const keepSecret = fields.kind === 'webhook' && current?.secret_sealed;
        const secret = fields.kind === 'webhook' && !keepSecret ? generateWebhookSecret() : null;
        const row: InboundTargetsTable = {
          id,
          organisation_id: organisationId,
          scope,
          domain_id: domainId,
          ...fields,
          secret_sealed: keepSecret ? (current?.secret_sealed ?? null) : secret && seal(id, secret),
          previous_secret_sealed: keepSecret ? (current?.previous_secret_sealed ?? null) : null,
          previous_secret_until: keepSecret ? (current?.previous_secret_until ?? null) : null,
          created_at: current ? Number(current.created_at) : now,
          updated_at: now,
          // Setting a target is the operator saying where mail goes now: a disabled one is enabled.
          disabled_at: null,
          disabled_reason: null,
        };
        if (current) await trx.updateTable('inbound_targets').set(row).where('id', '=', id).execute();
        else await trx.insertInto('inbound_targets').values(row).execute();
        const enabled = (current?.disabled_at ?? null) !== null;
        if (enabled) await makeWebhookWorkDue(trx, now);
        await appendAudit(
          trx,
          actor,
          {
            action: 'inbound-target.set',
            targetType: 'inbound-target',
            targetId: id,
            detail: { domain: domainName, ...fields, newSecret: secret !== null, ...(enabled ? { enabled: true } : {}) },
          },
          now,
        );
        return { target: toTarget(row, domainName), secret };
      });
    },

    /** A new signing secret; the old one keeps signing too until `overlapMs` has passed. */
    async rotateSecret(domain: string | undefined, overlapMs: number, actor: Actor): Promise<{ target: InboundTarget; secret: string }> {
      return db.transaction().execute(async (trx) => {
        const { scope, domainName } = await scopeOf(trx, domain);
        const row = await trx.selectFrom('inbound_targets').selectAll().where('scope', '=', scope).executeTakeFirst();
        if (!row) throw notFound('inbound target for', domain ?? 'the organisation');
        if (row.kind !== 'webhook' || !row.secret_sealed) throw new DirectoryError('conflict', 'only a webhook target has a signing secret');
        const now = clock.now();
        const secret = generateWebhookSecret();
        const changes = {
          secret_sealed: seal(row.id, secret),
          previous_secret_sealed: row.secret_sealed,
          previous_secret_until: now + overlapMs,
          updated_at: now,
        };
        await trx.updateTable('inbound_targets').set(changes).where('id', '=', row.id).execute();
        await appendAudit(
          trx,
          actor,
          {
            action: 'inbound-target.rotate-secret',
            targetType: 'inbound-target',
            targetId: row.id,
            detail: { domain: domainName, previousUntil: changes.previous_secret_until },
          },
          now,
        );
        return { target: toTarget({ ...row, ...changes }, domainName), secret };
      });
    },

    /**
     * The endpoint answered 410 Gone (RFC 9110 §15.5.11: gone for good): no more requests
     * until an administrator enables the target. Mail for it waits; see enable(). True when
     * this call disabled it, false when it was already disabled (or is gone itself).
     */
    async disable(id: string, reason: string, actor: Actor): Promise<boolean> {
      // The reason quotes the application's answer: no control characters reach a terminal or page.
      const shown = reason.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 500);
      return db.transaction().execute(async (trx) => {
        const now = clock.now();
        const changed = await trx
          .updateTable('inbound_targets')
          .set({ disabled_at: now, disabled_reason: shown })
          .where('id', '=', id)
          .where('disabled_at', 'is', null)
          .executeTakeFirst();
        if (Number(changed.numUpdatedRows) === 0) return false;
        const target = await trx
          .selectFrom('inbound_targets')
          .leftJoin('domains', 'domains.id', 'inbound_targets.domain_id')
          .select(['domains.name as domain', 'inbound_targets.url'])
          .where('inbound_targets.id', '=', id)
          .executeTakeFirst();
        const detail = { domain: target?.domain ?? null, url: target?.url ?? null, reason: shown };
        await appendAudit(trx, actor, { action: 'inbound-target.disable', targetType: 'inbound-target', targetId: id, detail }, now);
        return true;
      });
    },

    /** Sends to a disabled target again; the mail and delivery events that waited are made due at once. */
    async enable(domain: string | undefined, actor: Actor): Promise<InboundTarget> {
      return db.transaction().execute(async (trx) => {
        const { scope, domainName } = await scopeOf(trx, domain);
        const row = await trx.selectFrom('inbound_targets').selectAll().where('scope', '=', scope).executeTakeFirst();
        if (!row) throw notFound('inbound target for', domain ?? 'the organisation');
        if (row.disabled_at === null) return toTarget(row, domainName);
        const now = Math.max(clock.now(), Number(row.updated_at) + 1);
        const changes = { disabled_at: null, disabled_reason: null, updated_at: now };
        await trx.updateTable('inbound_targets').set(changes).where('id', '=', row.id).execute();
        await makeWebhookWorkDue(trx, now);
        await appendAudit(
          trx,
          actor,
          {
            action: 'inbound-target.enable',
            targetType: 'inbound-target',
            targetId: row.id,
            detail: { domain: domainName, disabledAt: Number(row.disabled_at), reason: row.disabled_reason },
          },
          now,
        );
        return toTarget({ ...row, ...changes }, domainName);
      });
    },

    async remove(domain: string | undefined, actor: Actor): Promise<InboundTarget> {
      return db.transaction().execute(async (trx) => {
        const { scope, domainName } = await scopeOf(trx, domain);
        const row = await trx.selectFrom('inbound_targets').selectAll().where('scope', '=', scope).executeTakeFirst();
        if (!row) throw notFound('inbound target for', domain ?? 'the organisation');
        await trx.deleteFrom('inbound_targets').where('id', '=', row.id).execute();
        await appendAudit(
          trx,
          actor,
          { action: 'inbound-target.remove', targetType: 'inbound-target', targetId: row.id, detail: { domain: domainName } },
          clock.now(),
        );
        return toTarget(row, domainName);
      });
    },

    /** Whether any webhook target exists: delivery events are stored only when one could receive them. */
    async anyWebhook(): Promise<boolean> {
      return (await db.selectFrom('inbound_targets').select('id').where('kind', '=', 'webhook').limit(1).executeTakeFirst()) !== undefined;
    },

    /** The target for mail to a domain: the domain's own, else its organisation's; undefined when neither is set. */
    async forDomain(domainId: string): Promise<RoutableTarget | undefined> {
      const domain = await db.selectFrom('domains').select(['name', 'organisation_id']).where('id', '=', domainId).executeTakeFirst();
      if (!domain) return undefined;
      const row = await targetRowFor(db, domainId, domain.organisation_id);
      if (!row) return undefined;
      const now = clock.now();
      const secrets = [row.secret_sealed, row.previous_secret_until !== null && Number(row.previous_secret_until) > now ? row.previous_secret_sealed : null]
        .filter((s): s is string => s !== null)
        .map((sealed) => open(row.id, sealed));
      return { ...toTarget(row, row.domain_id ? domain.name : null), secrets };
    },
  };
}

export type InboundTargetDirectory = ReturnType<typeof inboundTargetDirectory>;

/** The row of the target for mail to a domain: the domain's own, else its organisation's. */
export async function targetRowFor(db: Db, domainId: string, organisationId: string): Promise<InboundTargetsTable | undefined> {
  const rows = await db
    .selectFrom('inbound_targets')
    .selectAll()
    .where('scope', 'in', [`domain:${domainId}`, `organisation:${organisationId}`])
    .execute();
  return rows.find((r) => r.domain_id === domainId) ?? rows[0];
}

function toTarget(row: InboundTargetsTable, domain: string | null): InboundTarget {
  return {
    id: row.id,
    domain,
    kind: row.kind,
    url: row.url,
    forwardTo: row.forward_to,
    synchronous: row.synchronous === 1,
    previousSecretUntil: row.previous_secret_until === null ? null : Number(row.previous_secret_until),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    disabledReason: row.disabled_reason,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
