import type { Config } from '../config/schema.js';
import { generateWebhookSecret } from '../inbound/webhook-signature.js';
import { newId } from '../lib/ids.js';
import { DirectoryError, invalid, notFound } from '../model/directory-error.js';
import { DEFAULT_ORGANISATION_ID } from '../model/organisation.js';
import type { InboundTargetKind } from '../model/states.js';
import type { KeyConfig } from '../secure/master-key.js';
import { keyEncryptionFor } from '../secure/master-key.js';
import { WEBHOOK_SECRET_PURPOSE } from '../secure/seal-purposes.js';
import type { Actor, DirectoryContext } from './context.js';
import { checkTargetInput, type InboundTargetInput, type TargetFields } from './inbound-target-input.js';
import type { InboundTargetReads, InboundTargetStore, StoredInboundTarget } from './inbound-target-store.js';

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
export function inboundTargetDirectory(
  stores: { inboundTargets: InboundTargetStore },
  deps: Pick<DirectoryContext, 'clock'>,
  config: Pick<Config, 'inbound'> & KeyConfig,
  organisationId: string = DEFAULT_ORGANISATION_ID,
) {
  const { inboundTargets: targets } = stores;
  const { clock } = deps;
  const kek = keyEncryptionFor(config);
  const seal = (id: string, secret: string) => kek.seal(secret, { purpose: SECRET_PURPOSE, id });
  const open = (id: string, sealed: string) => kek.open(sealed, { purpose: SECRET_PURPOSE, id }).toString('utf8');

  async function scopeOf(reads: InboundTargetReads, domain: string | undefined) {
    if (domain === undefined) return { scope: `organisation:${organisationId}`, domainId: null, domainName: null };
    const found = await reads.findDomain(domain);
    if (!found || found.organisationId !== organisationId)
      throw invalid('domain', `${domain} is not a domain of this organisation; claim it first with "relaygate domain add"`);
    return { scope: `domain:${found.id}`, domainId: found.id, domainName: found.name };
  }

  return {
    async list(): Promise<InboundTarget[]> {
      return (await targets.list(organisationId)).map((stored) => toTarget(stored, stored.domain));
    },

    async get(domain: string | undefined): Promise<InboundTarget> {
      const { scope } = await scopeOf(targets, domain);
      const stored = await targets.byScope(scope);
      if (!stored) throw notFound('inbound target for', domain ?? 'the organisation');
      return toTarget(stored, stored.domain);
    },

    /**
     * Creates or replaces the target of a scope. A webhook that had a secret keeps it (the
     * application need not change anything for a new URL); a new webhook gets one, returned once.
     */
    async set(input: InboundTargetInput, actor: Actor): Promise<{ target: InboundTarget; secret: string | null }> {
      const fields = checkTargetInput(input, config);
      return targets.change(async (tx) => {
        const { scope, domainId, domainName } = await scopeOf(tx, input.domain);
        const current = await tx.byScope(scope);
        const now = Math.max(clock.now(), (current?.updatedAt ?? 0) + 1);
        const id = current?.id ?? newId('itg');
        const keepSecret = fields.kind === 'webhook' && current?.secretSealed;
        const secret = fields.kind === 'webhook' && !keepSecret ? generateWebhookSecret() : null;
        const stored: StoredInboundTarget = {
          id,
          organisationId,
          scope,
          domainId,
          domain: domainName,
          ...fields,
          secretSealed: keepSecret ? (current?.secretSealed ?? null) : secret && seal(id, secret),
          previousSecretSealed: keepSecret ? (current?.previousSecretSealed ?? null) : null,
          previousSecretUntil: keepSecret ? (current?.previousSecretUntil ?? null) : null,
          createdAt: current ? current.createdAt : now,
          updatedAt: now,
          // Setting a target is the operator saying where mail goes now: a disabled one is enabled.
          disabledAt: null,
          disabledReason: null,
        };
        if (current) await tx.update(stored);
        else await tx.insert(stored);
        const enabled = (current?.disabledAt ?? null) !== null;
        if (enabled) await tx.makeWebhookWorkDue(now);
        await tx.audit(
          actor,
          {
            action: 'inbound-target.set',
            targetType: 'inbound-target',
            targetId: id,
            detail: { domain: domainName, ...auditedFields(fields), newSecret: secret !== null, ...(enabled ? { enabled: true } : {}) },
          },
          now,
        );
        return { target: toTarget(stored, domainName), secret };
      });
    },

    /** A new signing secret; the old one keeps signing too until `overlapMs` has passed. */
    async rotateSecret(domain: string | undefined, overlapMs: number, actor: Actor): Promise<{ target: InboundTarget; secret: string }> {
      return targets.change(async (tx) => {
        const { scope, domainName } = await scopeOf(tx, domain);
        const stored = await tx.byScope(scope);
        if (!stored) throw notFound('inbound target for', domain ?? 'the organisation');
        if (stored.kind !== 'webhook' || !stored.secretSealed) throw new DirectoryError('conflict', 'only a webhook target has a signing secret');
        const now = clock.now();
        const secret = generateWebhookSecret();
        const rotated = {
          ...stored,
          secretSealed: seal(stored.id, secret),
          previousSecretSealed: stored.secretSealed,
          previousSecretUntil: now + overlapMs,
          updatedAt: now,
        };
        await tx.update(rotated);
        await tx.audit(
          actor,
          {
            action: 'inbound-target.rotate-secret',
            targetType: 'inbound-target',
            targetId: stored.id,
            detail: { domain: domainName, previousUntil: rotated.previousSecretUntil },
          },
          now,
        );
        return { target: toTarget(rotated, domainName), secret };
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
      return targets.change(async (tx) => {
        const now = clock.now();
        if (!(await tx.disable(id, now, shown))) return false;
        const target = await tx.byId(id);
        const detail = { domain: target?.domain ?? null, url: target?.url ?? null, reason: shown };
        await tx.audit(actor, { action: 'inbound-target.disable', targetType: 'inbound-target', targetId: id, detail }, now);
        return true;
      });
    },

    /** Sends to a disabled target again; the mail and delivery events that waited are made due at once. */
    async enable(domain: string | undefined, actor: Actor): Promise<InboundTarget> {
      return targets.change(async (tx) => {
        const { scope, domainName } = await scopeOf(tx, domain);
        const stored = await tx.byScope(scope);
        if (!stored) throw notFound('inbound target for', domain ?? 'the organisation');
        if (stored.disabledAt === null) return toTarget(stored, domainName);
        const now = Math.max(clock.now(), stored.updatedAt + 1);
        const enabled = { ...stored, disabledAt: null, disabledReason: null, updatedAt: now };
        await tx.update(enabled);
        await tx.makeWebhookWorkDue(now);
        await tx.audit(
          actor,
          {
            action: 'inbound-target.enable',
            targetType: 'inbound-target',
            targetId: stored.id,
            detail: { domain: domainName, disabledAt: stored.disabledAt, reason: stored.disabledReason },
          },
          now,
        );
        return toTarget(enabled, domainName);
      });
    },

    async remove(domain: string | undefined, actor: Actor): Promise<InboundTarget> {
      return targets.change(async (tx) => {
        const { scope, domainName } = await scopeOf(tx, domain);
        const stored = await tx.byScope(scope);
        if (!stored) throw notFound('inbound target for', domain ?? 'the organisation');
        await tx.remove(stored.id);
        await tx.audit(
          actor,
          { action: 'inbound-target.remove', targetType: 'inbound-target', targetId: stored.id, detail: { domain: domainName } },
          clock.now(),
        );
        return toTarget(stored, domainName);
      });
    },

    /** Whether any webhook target exists: delivery events are stored only when one could receive them. */
    async anyWebhook(): Promise<boolean> {
      return targets.anyWebhook();
    },

    /** The target for mail to a domain: the domain's own, else its organisation's; undefined when neither is set. */
    async forDomain(domainId: string): Promise<RoutableTarget | undefined> {
      const stored = await targets.forDomain(domainId);
      if (!stored) return undefined;
      const now = clock.now();
      const secrets = [stored.secretSealed, stored.previousSecretUntil !== null && stored.previousSecretUntil > now ? stored.previousSecretSealed : null]
        .filter((s): s is string => s !== null)
        .map((sealed) => open(stored.id, sealed));
      return { ...toTarget(stored, stored.domain), secrets };
    },
  };
}

export type InboundTargetDirectory = ReturnType<typeof inboundTargetDirectory>;

/** The input's fields as the audit log has always recorded them: with the columns' names and values. */
function auditedFields(fields: TargetFields): Record<string, unknown> {
  return { kind: fields.kind, url: fields.url, forward_to: fields.forwardTo, synchronous: fields.synchronous ? 1 : 0 };
}

function toTarget(stored: StoredInboundTarget, domain: string | null): InboundTarget {
  return {
    id: stored.id,
    domain,
    kind: stored.kind,
    url: stored.url,
    forwardTo: stored.forwardTo,
    synchronous: stored.synchronous,
    previousSecretUntil: stored.previousSecretUntil,
    disabledAt: stored.disabledAt,
    disabledReason: stored.disabledReason,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
