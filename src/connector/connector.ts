import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Actor, DirectoryContext } from '../directory/context.js';
import type { RelayFacts } from '../inbound/webhook-payload.js';
import { newId, newQueueId } from '../lib/ids.js';
import { DirectoryError, invalid } from '../model/directory-error.js';
import type { ConnectorState, Leg, LegCheckStatus } from '../model/states.js';
import type { QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import type { ConnectorDomain, ConnectorStore, LegCheckRecord, LegCheckTrigger } from './connector-store.js';
import { LEGS } from './legs.js';
import { verificationMail } from './verification-mail.js';
import { isOwnVerificationToken, verificationKey, verificationToken } from './verification-token.js';

export { LEGS } from './legs.js';

export interface LegCheck {
  id: string;
  leg: Leg;
  trigger: LegCheckTrigger;
  status: LegCheckStatus;
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
  ctx: Pick<DirectoryContext, 'clock' | 'hashKey' | 'syncCommitted'>;
  config: Pick<Config, 'hostname' | 'verification'>;
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
export function connector(stores: { connector: ConnectorStore }, { ctx, config, spool, queue, events = {} }: ConnectorDeps) {
  const { connector: store } = stores;
  const { clock } = ctx;
  const markerKey = verificationKey(ctx.hashKey);
  let spoolReady: Promise<void> | undefined;

  async function domainRow(name: string): Promise<ConnectorDomain> {
    const found = await store.domain(name);
    if (!found) throw new DirectoryError('not_found', `no domain ${name}; claim it first with "relaygate domain add ${name}"`);
    return found;
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

  async function finish(check: LegCheckRecord, status: 'verified' | 'failed', reason: string | null, now: number): Promise<void> {
    if (!(await store.finishCheck(check.id, status, reason, now))) return;
    const domain = await store.domainName(check.domainId);
    const view = toLegCheck({ ...check, status, reason, finishedAt: now }, null);
    if (status === 'failed') events.legFailed?.(domain ?? check.domainId, view);
    else events.legVerified?.(domain ?? check.domainId, view);
  }

  /** Revokes what let the domain's mail through, once nothing is queued for it. */
  async function completeDisconnect(domainId: string, domain: string, now: number): Promise<void> {
    await store.change(async (tx) => {
      const credentials = await tx.liveInboundCredentials(domainId, now);
      await tx.revokeCredentials(credentials, now);
      const connections = await tx.removeConnectionsOf(domain);
      await tx.setConnectorState(domainId, 'disconnected', now);
      await tx.audit(
        { name: 'system:connector', ip: null },
        {
          action: 'domain.disconnected',
          targetType: 'domain',
          targetId: domain,
          detail: { revokedCredentials: credentials, removedConnections: connections },
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
    async verify(name: string, actor: Actor, trigger: LegCheckTrigger = 'setup'): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      if (domain.status !== 'verified')
        throw invalid('domain', `${domain.name} is not verified yet; publish its TXT record and run "relaygate domain verify ${domain.name}"`);
      if (domain.connectorState !== 'connected')
        throw new DirectoryError('conflict', `${domain.name} is ${domain.connectorState}; a disconnected domain is not verified`);
      const address = await store.verificationAddress(domain.id);
      if (!address)
        throw invalid('domain', `${domain.name} has no address to send the verification mails to; add its support address with "relaygate address add"`);
      const now = clock.now();
      const inboundCredentials = await store.liveInboundCredentials(domain.id, now);
      await store.failPending(domain.id, 'superseded by a newer check', now);
      for (const leg of LEGS) {
        const id = newId('chk');
        const token = verificationToken(markerKey, id);
        const unusable = leg === 'inbound' && inboundCredentials.length === 0;
        const queueId = unusable ? null : await enqueueVerification(leg, domain.name, address, token, now);
        await store.insertCheck({
          id,
          domainId: domain.id,
          leg,
          trigger,
          tokenHash: tokenHash(token),
          status: unusable ? 'failed' : 'pending',
          reason: unusable
            ? `${domain.name} has no live inbound credential; create one with "relaygate credential create --kind inbound --domain ${domain.name}"`
            : null,
          queueId,
          startedAt: now,
          deadlineAt: now + config.verification.timeout,
          finishedAt: unusable ? now : null,
        });
      }
      if (trigger === 'setup')
        await store.change((tx) =>
          tx.audit(actor, { action: 'domain.verify-connection', targetType: 'domain', targetId: domain.name, detail: { address } }, now),
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
      const check = await store.checkByTokenHash(tokenHash(token));
      if (!check) return isOwnVerificationToken(markerKey, token);
      const now = clock.now();
      if (check.leg === 'outbound') {
        await finish(check, 'verified', null, now);
        return true;
      }
      const used = relay.credentialId ? await store.credential(relay.credentialId) : undefined;
      if (!relay.authenticated)
        await finish(check, 'failed', "the inbound verification mail came back without SMTP authentication; relay with the domain's inbound credential", now);
      else if (used?.kind !== 'inbound' || used.domainId !== check.domainId)
        await finish(check, 'failed', await notOwnCredentialReason(check.domainId, relay.credentialId ?? '', used?.kind), now);
      else if (!relay.tlsVersion) await finish(check, 'failed', 'the inbound verification mail came back without TLS', now);
      else await finish(check, 'verified', null, now);
      return true;
    },

    async status(name: string): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      const changedAt = domain.connectorChangedAt;
      const legs: Record<Leg, LegCheck | null> = { outbound: null, inbound: null };
      let proven = 0;
      for (const leg of LEGS) {
        const [latest] = await store.checks(domain.id, { leg, limit: 1 });
        legs[leg] = latest ? toLegCheck(latest, changedAt) : null;
        if (await store.verifiedSince(domain.id, leg, changedAt ?? 0)) proven += 1;
      }
      const state = domain.connectorState === 'connected' && proven < LEGS.length ? 'pending' : domain.connectorState;
      return { domain: domain.name, state, changedAt, legs, queued: await store.queuedFor(domain.name) };
    },

    async history(name: string, limit: number): Promise<LegCheck[]> {
      const domain = await domainRow(name);
      const rows = await store.checks(domain.id, { limit });
      return rows.map((row) => toLegCheck(row, domain.connectorChangedAt));
    },

    /** Stops new mail for the domain now; the sweep revokes its credentials once its queue is empty. */
    async disconnect(name: string, actor: Actor): Promise<ConnectorStatus> {
      const domain = await domainRow(name);
      if (domain.connectorState !== 'connected')
        throw new DirectoryError(
          'conflict',
          domain.connectorState === 'draining'
            ? `${domain.name} is already draining; wait for the disconnect with "relaygate domain disconnect ${domain.name} --wait"`
            : `${domain.name} is already disconnected; connect it again with "relaygate domain reconnect ${domain.name}"`,
        );
      const now = clock.now();
      // Counted before the transaction: SQLite has one connection, so a query on db inside it would wait forever.
      const queued = await store.queuedFor(domain.name);
      await store.change(async (tx) => {
        await tx.setConnectorState(domain.id, 'draining', now);
        await tx.failPending(domain.id, 'the domain is being disconnected', now);
        await tx.audit(actor, { action: 'domain.disconnect', targetType: 'domain', targetId: domain.name, detail: { queued } }, now);
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
      if (domain.connectorState === 'connected') throw new DirectoryError('conflict', `${domain.name} is connected; there is nothing to reconnect`);
      if (domain.connectorState === 'draining')
        throw new DirectoryError(
          'conflict',
          `${domain.name} is still draining; wait until it is disconnected ("relaygate domain disconnect ${domain.name} --wait"), then reconnect it`,
        );
      const now = clock.now();
      await store.change(async (tx) => {
        if (!(await tx.reconnect(domain.id, now)))
          throw new DirectoryError('conflict', `${domain.name} changed meanwhile; see "relaygate domain connection ${domain.name}"`);
        const disconnectedAt = domain.connectorChangedAt;
        await tx.audit(actor, { action: 'domain.reconnect', targetType: 'domain', targetId: domain.name, detail: { disconnectedAt } }, now);
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
      const pending = await store.pendingChecks();
      for (const check of pending) {
        const sent = check.queueId ? await store.sentStatus(check.queueId) : undefined;
        if (sent?.status === 'bounced') await finish(check, 'failed', `the outbound connection refused the verification mail: ${sent.lastReply ?? ''}`, now);
        else if (check.deadlineAt <= now) await finish(check, 'failed', timeoutReason(check, sent, config.verification.timeout), now);
      }
      const draining = await store.drainingDomains();
      for (const domain of draining) if ((await store.queuedFor(domain.name)) === 0) await completeDisconnect(domain.id, domain.name, now);
      if (config.verification.interval > 0) await startScheduled(now);
    },
  };
  return api;

  /** The copy-paste mistake the guide lists: the mail server relays with the application's submission credential. */
  async function notOwnCredentialReason(domainId: string, credentialId: string, kind: string | undefined): Promise<string> {
    const reason = `the inbound verification mail came back authenticated as ${credentialId}, which is not an inbound credential of this domain`;
    if (kind !== 'submission') return reason;
    const domain = await store.domainName(domainId);
    return `${reason}; it is a submission credential (the application's), so your mail server relays with the wrong one: give it an inbound credential of ${domain ?? 'the domain'} ("relaygate credential create --kind inbound --domain ${domain ?? 'DOMAIN'}")`;
  }

  /** Domains that were verified once (a setup check exists) get a round trip every interval, never over one still pending. */
  async function startScheduled(now: number): Promise<void> {
    const pending = new Set((await store.pendingChecks()).map((r) => r.domainId));
    const due = await store.checkedDomains();
    for (const domain of due) {
      if (pending.has(domain.id) || domain.lastStartedAt + config.verification.interval > now) continue;
      await api.verify(domain.name, { name: 'system:schedule', ip: null }, 'scheduled').catch((err: unknown) => events.scheduleFailed?.(domain.name, err));
    }
  }
}

export type Connector = ReturnType<typeof connector>;

function timeoutReason(check: LegCheckRecord, sent: { status: string; lastReply: string | null } | undefined, timeoutMs: number): string {
  const minutes = Math.round(timeoutMs / 60_000);
  const waited = minutes >= 1 ? `${minutes} min` : `${Math.round(timeoutMs / 1000)} s`;
  if (sent && sent.status !== 'delivered')
    return `the verification mail was not delivered through the outbound connection within ${waited}${sent.lastReply ? `; last reply: ${sent.lastReply}` : ''}`;
  const path = check.leg === 'inbound' ? "the mail server's authenticated relay" : 'the inbound relay';
  return `the token did not come back through ${path} within ${waited}`;
}

function toLegCheck(row: LegCheckRecord, connectorChangedAt: number | null): LegCheck {
  return {
    id: row.id,
    leg: row.leg,
    trigger: row.trigger,
    status: row.status,
    reason: row.reason,
    queueId: row.queueId,
    startedAt: row.startedAt,
    deadlineAt: row.deadlineAt,
    finishedAt: row.finishedAt,
    beforeDisconnect: connectorChangedAt !== null && row.startedAt < connectorChangedAt,
  };
}
