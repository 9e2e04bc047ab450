import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/audit-log.js';
import type { Config } from '../config/schema.js';
import type { Actor, DirectoryContext } from '../directory/context.js';
import { findDomain, liveInboundCredentials } from '../directory/credential-queries.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { newId, newQueueId } from '../lib/ids.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import type { QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import type { ConnectorState, Database, Leg, LegChecksTable } from '../store/tables.js';
import { LEGS } from './legs.js';
import { verificationMail } from './verification-mail.js';
import { isOwnVerificationToken, verificationKey, verificationToken } from './verification-token.js';

export { LEGS } from './legs.js';

export interface LegCheck {
  id: string;
  leg: Leg;
  trigger: LegChecksTable['trigger'];
  status: LegChecksTable['status'];
  reason: string | null;
  queueId: string | null;
  startedAt: number;
  deadlineAt: number;
  finishedAt: number | null;
  /** Started before the domain's last disconnect (or reconnect): it says nothing of the connection now. */
  beforeDisconnect: boolean;
}

/**
 * The stored state, except that a connected domain whose two legs were not both verified since
 * it was (re)connected is `pending`: "connected" is only shown once the round trip was proven.
 */
export type ConnectorSummary = 'pending' | ConnectorState;

export interface ConnectorStatus {
  domain: string;
  state: ConnectorSummary;
  changedAt: number | null;
  /** The latest check of each leg, null when never checked. */
  legs: Record<Leg, LegCheck | null>;
  /** Mail still queued for or from the domain (what a disconnect waits for). */
  queued: number;
}

export interface ConnectorEvents {
  /** A leg check ended failed: for the log and the metrics. */
  legFailed?(domain: string, check: LegCheck): void;
  legVerified?(domain: string, check: LegCheck): void;
  /** A scheduled round trip could not start (e.g. the domain lost its last address). */
  scheduleFailed?(domain: string, err: unknown): void;
}

export interface ConnectorDeps {
  ctx: DirectoryContext;
  config: Config;
  spool: Spool;
  queue: Pick<QueueStore, 'commit'>;
  events?: ConnectorEvents;
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The connector of a domain: its two legs verified by round-trip mails (at setup, on demand
 * and on a schedule), and its disconnect. State lives in the store, so the CLI can start a
 * check or a disconnect and the running gateway's sweep finishes it.
 */
export function connector({ ctx, config, spool, queue, events = {} }: ConnectorDeps) {
  const { db, clock } = ctx;
  const markerKey = verificationKey(ctx.hashKey);
  let spoolReady: Promise<void> | undefined;

  async function domainRow(name: string) {
    const found = await findDomain(db, name);
    if (!found) throw new DirectoryError('not_found', `no domain ${name}; claim it first with "relaygate domain add ${name}"`);
    return db.selectFrom('domains').selectAll().where('id', '=', found.id).executeTakeFirstOrThrow();
  }

  async function enqueueVerification(leg: Leg, domain: string, address: string, token: string, now: number): Promise<string> {
    spoolReady ??= spool.init();
    await spoolReady;
    const id = newQueueId(now);
    const writer = await spool.create(id);
    writer.stream.end(verificationMail({ leg, domain, address, token, hostname: config.hostname, now }));
    const sizeBytes = await writer.finish();
    await spool.syncDirectory();
    await queue.commit([
      {
        id,
        // NOTIFY=NEVER: a failed verification is reported by the check, not by a bounce to the support address.
        envelope: { mailFrom: address, recipients: [{ address, notify: ['NEVER'] }] },
        sizeBytes,
        receivedAt: now,
        expiresAt: now + config.verification.timeout,
        credentialId: null,
        clientIp: '127.0.0.1',
        isDsn: false,
      },
    ]);
    return id;
  }

  async function finish(check: LegChecksTable, status: 'verified' | 'failed', reason: string | null, now: number): Promise<void> {
    const updated = await db
      .updateTable('leg_checks')
      .set({ status, reason, finished_at: now })
      .where('id', '=', check.id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return;
    const domain = await db.selectFrom('domains').select('name').where('id', '=', check.domain_id).executeTakeFirst();
    const view = toLegCheck({ ...check, status, reason, finished_at: now }, null);
    if (status === 'failed') events.legFailed?.(domain?.name ?? check.domain_id, view);
    else events.legVerified?.(domain?.name ?? check.domain_id, view);
  }

  async function queuedFor(domain: string): Promise<number> {
    const suffix = `%@${domain}`;
    const row = await db
      .selectFrom('recipients')
      .innerJoin('messages', 'messages.id', 'recipients.message_id')
      .select((eb) => eb.fn.count<number>('messages.id').distinct().as('n'))
      .where('recipients.status', 'in', ['queued', 'deferred'])
      // Envelope addresses keep the case they arrived in; LIKE ignores it on SQLite but not on PostgreSQL.
      .where((eb) =>
        eb.or([eb(eb.fn<string>('lower', ['recipients.address']), 'like', suffix), eb(eb.fn<string>('lower', ['messages.mail_from']), 'like', suffix)]),
      )
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Revokes what let the domain's mail through, once nothing is queued for it. */
  async function completeDisconnect(domainId: string, domain: string, now: number): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const credentials = await liveInboundCredentials(trx, domainId, now);
      if (credentials.length > 0) await trx.updateTable('credentials').set({ revoked_at: now }).where('id', 'in', credentials).execute();
      const connections = await trx
        .deleteFrom('connections')
        .where((eb) => eb.or([eb('scope', '=', domain), eb('scope', 'like', `%@${domain}`)]))
        .returning('id')
        .execute();
      await trx.updateTable('domains').set({ connector_state: 'disconnected', connector_changed_at: now }).where('id', '=', domainId).execute();
      await appendAudit(
        trx,
        { name: 'system:connector', ip: null },
        {
          action: 'domain.disconnected',
          targetType: 'domain',
          targetId: domain,
          detail: { revokedCredentials: credentials, removedConnections: connections.map((c) => c.id) },
        },
        now,
      );
    });
    await ctx.syncCommitted();
  }

  const api = {
    /**
     * Sends both verification mails. A leg that cannot work as configured (no support address
     * to send to, no inbound credential to come back with) fails at once with the fix.
     */
    async verify(name: string, actor: Actor, trigger: LegChecksTable['trigger'] = 'setup'): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      if (domain.status !== 'verified')
        throw invalid('domain', `${domain.name} is not verified yet; publish its TXT record and run "relaygate domain verify ${domain.name}"`);
      if (domain.connector_state !== 'connected')
        throw new DirectoryError('conflict', `${domain.name} is ${domain.connector_state}; a disconnected domain is not verified`);
      const address = await db
        .selectFrom('addresses')
        .select('address')
        .where('domain_id', '=', domain.id)
        .orderBy((eb) => eb.case().when('kind', '=', 'support').then(0).else(1).end())
        .orderBy('created_at')
        .executeTakeFirst();
      if (!address)
        throw invalid('domain', `${domain.name} has no address to send the verification mails to; add its support address with "relaygate address add"`);
      const now = clock.now();
      const inboundCredentials = await liveInboundCredentials(db, domain.id, now);
      await failPending(db, domain.id, 'superseded by a newer check', now);
      for (const leg of LEGS) {
        const id = newId('chk');
        const token = verificationToken(markerKey, id);
        const unusable = leg === 'inbound' && inboundCredentials.length === 0;
        const queueId = unusable ? null : await enqueueVerification(leg, domain.name, address.address, token, now);
        await db
          .insertInto('leg_checks')
          .values({
            id,
            domain_id: domain.id,
            leg,
            trigger,
            token_hash: tokenHash(token),
            status: unusable ? 'failed' : 'pending',
            reason: unusable
              ? `${domain.name} has no live inbound credential; create one with "relaygate credential create --kind inbound --domain ${domain.name}"`
              : null,
            queue_id: queueId,
            started_at: now,
            deadline_at: now + config.verification.timeout,
            finished_at: unusable ? now : null,
          })
          .execute();
      }
      if (trigger === 'setup')
        await db
          .transaction()
          .execute((trx) =>
            appendAudit(
              trx,
              actor,
              { action: 'domain.verify-connection', targetType: 'domain', targetId: domain.name, detail: { address: address.address } },
              now,
            ),
          );
      return api.status(domain.name);
    },

    /**
     * A token came back. The outbound leg is proven by its return at all; the inbound leg only
     * by a return through an authenticated, encrypted session of the domain's own credential.
     * True when the token was ours (the mail is consumed), whatever the check's state, and
     * even when the check is gone: our own mail is never relayed round again.
     */
    async arrived(token: string, relay: RelayFacts): Promise<boolean> {
      const check = await db.selectFrom('leg_checks').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
      if (!check) return isOwnVerificationToken(markerKey, token);
      const now = clock.now();
      if (check.leg === 'outbound') {
        await finish(check, 'verified', null, now);
        return true;
      }
      const used = relay.credentialId
        ? await db.selectFrom('credentials').select(['kind', 'domain_id']).where('id', '=', relay.credentialId).executeTakeFirst()
        : undefined;
      if (!relay.authenticated)
        await finish(check, 'failed', "the inbound verification mail came back without SMTP authentication; relay with the domain's inbound credential", now);
      else if (used?.kind !== 'inbound' || used.domain_id !== check.domain_id)
        await finish(check, 'failed', await notOwnCredentialReason(check.domain_id, relay.credentialId ?? '', used?.kind), now);
      else if (!relay.tlsVersion) await finish(check, 'failed', 'the inbound verification mail came back without TLS', now);
      else await finish(check, 'verified', null, now);
      return true;
    },

    async status(name: string): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      const changedAt = domain.connector_changed_at === null ? null : Number(domain.connector_changed_at);
      const legs: Record<Leg, LegCheck | null> = { outbound: null, inbound: null };
      let proven = 0;
      for (const leg of LEGS) {
        const latest = await db
          .selectFrom('leg_checks')
          .selectAll()
          .where('domain_id', '=', domain.id)
          .where('leg', '=', leg)
          .orderBy('started_at', 'desc')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        legs[leg] = latest ? toLegCheck(latest, changedAt) : null;
        const verified = await db
          .selectFrom('leg_checks')
          .select('id')
          .where('domain_id', '=', domain.id)
          .where('leg', '=', leg)
          .where('status', '=', 'verified')
          .where('started_at', '>=', changedAt ?? 0)
          .limit(1)
          .executeTakeFirst();
        if (verified) proven += 1;
      }
      const state = domain.connector_state === 'connected' && proven < LEGS.length ? 'pending' : domain.connector_state;
      return { domain: domain.name, state, changedAt, legs, queued: await queuedFor(domain.name) };
    },

    async history(name: string, limit: number): Promise<LegCheck[]> {
      const domain = await domainRow(name);
      const rows = await db
        .selectFrom('leg_checks')
        .selectAll()
        .where('domain_id', '=', domain.id)
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      const changedAt = domain.connector_changed_at === null ? null : Number(domain.connector_changed_at);
      return rows.map((row) => toLegCheck(row, changedAt));
    },

    /** Stops new mail for the domain now; the sweep revokes its credentials once its queue is empty. */
    async disconnect(name: string, actor: Actor): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      if (domain.connector_state !== 'connected')
        throw new DirectoryError(
          'conflict',
          domain.connector_state === 'draining'
            ? `${domain.name} is already draining; wait for the disconnect with "relaygate domain disconnect ${domain.name} --wait"`
            : `${domain.name} is already disconnected; connect it again with "relaygate domain reconnect ${domain.name}"`,
        );
      const now = clock.now();
      // Counted before the transaction: SQLite has one connection, so a query on db inside it would wait forever.
      const queued = await queuedFor(domain.name);
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('domains').set({ connector_state: 'draining', connector_changed_at: now }).where('id', '=', domain.id).execute();
        await failPending(trx, domain.id, 'the domain is being disconnected', now);
        await appendAudit(trx, actor, { action: 'domain.disconnect', targetType: 'domain', targetId: domain.name, detail: { queued } }, now);
      });
      await ctx.syncCommitted();
      return api.status(domain.name);
    },

    /**
     * Takes a disconnected domain back: its DKIM keys, addresses and inbound target were never
     * touched by the disconnect, so they serve again. Its inbound credentials and outbound
     * connection were revoked and removed; new ones are needed, then a connection check.
     */
    async reconnect(name: string, actor: Actor): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      if (domain.connector_state === 'connected') throw new DirectoryError('conflict', `${domain.name} is connected; there is nothing to reconnect`);
      if (domain.connector_state === 'draining')
        throw new DirectoryError(
          'conflict',
          `${domain.name} is still draining; wait until it is disconnected ("relaygate domain disconnect ${domain.name} --wait"), then reconnect it`,
        );
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('domains')
          .set({ connector_state: 'connected', connector_changed_at: now })
          .where('id', '=', domain.id)
          .where('connector_state', '=', 'disconnected')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0)
          throw new DirectoryError('conflict', `${domain.name} changed meanwhile; see "relaygate domain connection ${domain.name}"`);
        const disconnectedAt = domain.connector_changed_at === null ? null : Number(domain.connector_changed_at);
        await appendAudit(trx, actor, { action: 'domain.reconnect', targetType: 'domain', targetId: domain.name, detail: { disconnectedAt } }, now);
      });
      await ctx.syncCommitted();
      return api.status(domain.name);
    },

    /**
     * The gateway runs this every few seconds: ends checks whose mail bounced or whose time is
     * up, completes disconnects whose queue has drained, and starts the scheduled round trips.
     */
    async sweep(): Promise<void> {
      const now = clock.now();
      const pending = await db.selectFrom('leg_checks').selectAll().where('status', '=', 'pending').execute();
      for (const check of pending) {
        const sent = check.queue_id
          ? await db.selectFrom('recipients').select(['status', 'last_reply']).where('message_id', '=', check.queue_id).executeTakeFirst()
          : undefined;
        if (sent?.status === 'bounced') await finish(check, 'failed', `the outbound connection refused the verification mail: ${sent.last_reply ?? ''}`, now);
        else if (Number(check.deadline_at) <= now) await finish(check, 'failed', timeoutReason(check, sent, config.verification.timeout), now);
      }
      const draining = await db.selectFrom('domains').select(['id', 'name']).where('connector_state', '=', 'draining').execute();
      for (const domain of draining) if ((await queuedFor(domain.name)) === 0) await completeDisconnect(domain.id, domain.name, now);
      if (config.verification.interval > 0) await startScheduled(now);
    },
  };
  return api;

  /** The copy-paste mistake the guide lists: the mail server relays with the application's submission credential. */
  async function notOwnCredentialReason(domainId: string, credentialId: string, kind: string | undefined): Promise<string> {
    const reason = `the inbound verification mail came back authenticated as ${credentialId}, which is not an inbound credential of this domain`;
    if (kind !== 'submission') return reason;
    const domain = await db.selectFrom('domains').select('name').where('id', '=', domainId).executeTakeFirst();
    return `${reason}; it is a submission credential (the application's), so your mail server relays with the wrong one: give it an inbound credential of ${domain?.name ?? 'the domain'} ("relaygate credential create --kind inbound --domain ${domain?.name ?? 'DOMAIN'}")`;
  }

  /** Domains that were verified once (a setup check exists) get a round trip every interval, never over one still pending. */
  async function startScheduled(now: number): Promise<void> {
    const pending = new Set((await db.selectFrom('leg_checks').select('domain_id').where('status', '=', 'pending').execute()).map((r) => r.domain_id));
    const due = await db
      .selectFrom('domains')
      .innerJoin('leg_checks', 'leg_checks.domain_id', 'domains.id')
      .select(['domains.id', 'domains.name', (eb) => eb.fn.max('leg_checks.started_at').as('last')])
      .where('domains.connector_state', '=', 'connected')
      .where('domains.status', '=', 'verified')
      .groupBy(['domains.id', 'domains.name'])
      .execute();
    for (const domain of due) {
      if (pending.has(domain.id) || Number(domain.last) + config.verification.interval > now) continue;
      await api.verify(domain.name, { name: 'system:schedule', ip: null }, 'scheduled').catch((err: unknown) => events.scheduleFailed?.(domain.name, err));
    }
  }
}

export type Connector = ReturnType<typeof connector>;

function failPending(db: Kysely<Database>, domainId: string, reason: string, now: number) {
  return db
    .updateTable('leg_checks')
    .set({ status: 'failed', reason, finished_at: now })
    .where('domain_id', '=', domainId)
    .where('status', '=', 'pending')
    .execute();
}

function timeoutReason(check: LegChecksTable, sent: { status: string; last_reply: string | null } | undefined, timeoutMs: number): string {
  const minutes = Math.round(timeoutMs / 60_000);
  const waited = minutes >= 1 ? `${minutes} min` : `${Math.round(timeoutMs / 1000)} s`;
  if (sent && sent.status !== 'delivered')
    return `the verification mail was not delivered through the outbound connection within ${waited}${sent.last_reply ? `; last reply: ${sent.last_reply}` : ''}`;
  const path = check.leg === 'inbound' ? "the mail server's authenticated relay" : 'the inbound relay';
  return `the token did not come back through ${path} within ${waited}`;
}

function toLegCheck(row: LegChecksTable, connectorChangedAt: number | null): LegCheck {
  return {
    id: row.id,
    leg: row.leg,
    trigger: row.trigger,
    status: row.status,
    reason: row.reason,
    queueId: row.queue_id,
    startedAt: Number(row.started_at),
    deadlineAt: Number(row.deadline_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    beforeDisconnect: connectorChangedAt !== null && Number(row.started_at) < connectorChangedAt,
  };
}
