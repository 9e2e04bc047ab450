import type { Logger } from 'pino';
import type { Courier } from '../delivery/courier.js';
import { gatewayRecord } from '../inbound/gateway-record.js';
import type { Clock } from '../lib/clock.js';
import { newQueueId } from '../lib/ids.js';
import { retryWithBackoff } from '../lib/retry.js';
import { type DeliveryOutcome, enhancedStatusOf } from '../model/outcome.js';
import { type BodyFault, checkBody, verifiedBody } from './body-check.js';
import { buildDsn, type FailedRecipient } from './dsn.js';
import { outcomeRecorder, RECORD_RETRIES } from './outcome-recorder.js';
import type { DueMessage, DueRecipient, NewDeliveryEvent, NewMessage, QueueStore, RecipientUpdate } from './queue-store.js';
import { nextAttemptAt, type RetryPolicy } from './retry-schedule.js';
import type { SealingSpool } from './spool.js';

export interface WorkerOptions {
  store: QueueStore;
  spool: SealingSpool;
  courier: Courier;
  clock: Clock;
  log: Logger;
  retry: RetryPolicy;
  expireAfterMs: number;
  /** Messages in flight at once. */
  concurrency: number;
  leaseMs: number;
  /** Our host name, for DSNs. */
  hostname: string;
  /** Unique per process: whose leases these are. */
  owner: string;
  /** Longest the worker sleeps without looking at the store (the CLI may change it). */
  pollMs?: number;
  /** The header section of a stored message, for DSNs; the spool's own by default (secure bodies must be decrypted). */
  readHead?: (message: DueMessage, maxBytes: number) => Promise<Buffer>;
  /** Delivery events for the application's webhook, recorded with the outcomes they report. */
  deliveryEvents?: (message: DueMessage, updates: RecipientUpdate[], now: number) => Promise<NewDeliveryEvent[]>;
  /** Told each recipient outcome once it is recorded, for the metrics. */
  observe?: (message: DueMessage, update: RecipientUpdate, now: number) => void;
}

export interface QueueWorker {
  /** New work was committed: look now instead of at the next timer. */
  wake(): void;
  /** Stops claiming, waits for deliveries in flight, releases what it still holds. */
  stop(): Promise<void>;
}

const DSN_HEADER_LIMIT_BYTES = 64 * 1024;

export function startQueueWorker(o: WorkerOptions): QueueWorker {
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  const pollMs = o.pollMs ?? 2000;
  // Under load a completion frees one slot at a time; claiming for each would cost a
  // statement and a commit per message. Claims wait for a quarter of the slots (or idleness).
  const claimBatch = Math.max(1, Math.ceil(o.concurrency / 4));
  // A delivery may outlast its lease (a slow remote, a large body): while it runs, the lease
  // is extended, so another instance takes a message only from a worker that stopped.
  const held = new Set<string>();
  const renewal = setInterval(
    () => {
      if (held.size === 0) return;
      o.store
        .renewLeases(o.owner, [...held], o.clock.now() + o.leaseMs)
        .catch((err: unknown) => o.log.warn({ err }, 'extending delivery leases failed; retrying'));
    },
    Math.max(100, Math.floor(o.leaseMs / 3)),
  );
  renewal.unref();
  const recorder = outcomeRecorder(o.store, o.clock, (err) =>
    o.log.error({ err }, 'recording delivery outcomes failed; the leases run out and the attempts repeat'),
  );

  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        const free = o.concurrency - inFlight.size;
        if (stopping || free <= 0 || (free < claimBatch && inFlight.size > 0)) break;
        const claimed = await o.store.claimDue(o.owner, o.clock.now(), free, o.leaseMs);
        for (const message of claimed) {
          held.add(message.id);
          track(deliverOne(message).finally(() => held.delete(message.id)));
        }
        if (claimed.length === free) again = true;
      } while (again && !stopping);
    } catch (err) {
      o.log.error({ err }, 'queue claim failed; retrying shortly');
    } finally {
      pumping = false;
    }
    // Each completion pumps again; only a worker with nothing in flight needs a timer.
    if (inFlight.size === 0) await scheduleNext();
  }

  function track(delivery: Promise<void>): void {
    // Whatever a delivery could not finish (the store gone mid-way) is retried once its lease runs out; it must not end the process.
    const work = delivery.catch((err: unknown) => o.log.error({ err }, 'delivery attempt not finished: local error; the lease runs out and it is tried again'));
    inFlight.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      if (!stopping) void pump();
    });
  }

  async function scheduleNext(): Promise<void> {
    if (stopping) return;
    clearTimeout(timer);
    const next = await o.store.nextDueAt().catch(() => undefined);
    const wait = next === undefined ? pollMs : Math.max(10, Math.min(pollMs, next - o.clock.now()));
    timer = setTimeout(() => void pump(), wait);
    timer.unref();
  }

  async function deliverOne(message: DueMessage): Promise<void> {
    const started = o.clock.now();
    // Checked before anything is sent: a torn body would reach the recipient looking complete,
    // and a missing one cannot be delivered by any retry. Either is parked for an operator at once.
    const fault = await checkBody((id) => o.spool.storedBytes(id), message.id, message.sizeBytes).catch((err: unknown) => {
      o.log.warn({ err, queueId: message.id }, 'could not check the stored body; delivering with the body verified as it is read');
      return undefined;
    });
    if (fault) return park(message, fault, started);
    const outcomes = await o.courier
      .deliver({
        id: message.id,
        direction: message.direction,
        receivedAt: message.receivedAt,
        mailFrom: message.mailFrom,
        recipients: message.recipients.map((r) => r.address),
        sizeBytes: message.sizeBytes,
        tlsRequired: message.tlsRequired,
        openBody: () => verifiedBody(o.spool.read(message.id), message.id, message.sizeBytes),
      })
      .catch((err: unknown): Map<string, DeliveryOutcome> => {
        const outcome: DeliveryOutcome = { kind: 'deferred', reason: 'unknown', reply: String(err) };
        return new Map(message.recipients.map((r) => [r.address, outcome]));
      });
    const now = o.clock.now();
    const updates = message.recipients.map((r) => toUpdate(message, r, outcomes.get(r.address), now));
    await record(message, updates, now, started);
  }

  /** Every recipient `failed` with the fault as its reply: kept and shown in `queue list`, made due again by `queue retry`. */
  async function park(message: DueMessage, fault: BodyFault, started: number): Promise<void> {
    const now = o.clock.now();
    o.log.error({ event: 'queue.parked', queueId: message.id, reason: fault.reason }, `queue entry ${message.id} parked: ${fault.reply}`);
    const updates: RecipientUpdate[] = message.recipients.map((r) => ({
      id: r.id,
      address: r.address,
      status: 'failed',
      reason: fault.reason,
      reply: fault.reply,
      nextAttemptAt: now,
    }));
    await record(message, updates, now, started, fault);
  }

  async function record(message: DueMessage, updates: RecipientUpdate[], now: number, started: number, fault?: BodyFault): Promise<void> {
    const dsn = await prepareDsn(message, updates, now, fault).catch((err: unknown) => {
      o.log.error({ err, queueId: message.id }, 'could not write the DSN; the bounce is reported at the next attempt');
      return null;
    });
    // Without its DSN on disk, a bounce is not recorded: the lease expires and it is tried again.
    if (dsn === null) return;
    const { deliveryEvents } = o;
    const events = deliveryEvents ? await retryWithBackoff(() => deliveryEvents(message, updates, now), RECORD_RETRIES) : undefined;
    const completed = await recorder.record({ messageId: message.id, updates, dsn, events });
    if (completed === undefined) return;
    // The whole evidence (policy, DNSSEC states, MX, TLS, peer authentication, SPKI hash, reply) goes to the log too.
    for (const u of updates) {
      const { address: rcpt, status, reason, reply, evidence } = u;
      o.log.info(
        { event: 'delivery.attempt', queueId: message.id, direction: message.direction, rcpt, status, reason, reply, ms: now - started, evidence },
        'delivery attempt',
      );
      o.observe?.(message, u, now);
    }
    if (dsn) {
      o.log.info({ queueId: dsn.id, about: message.id }, 'dsn queued');
      wakeSoon();
    }
    // An inbound body stays for its download links until the retention sweep (inbound/body-retention.ts).
    if (completed && message.direction === 'outbound') await o.spool.remove(message.id);
    else if (completed) o.spool.forget(message.id);
  }

  function toUpdate(message: DueMessage, r: DueRecipient, outcome: DeliveryOutcome | undefined, now: number): RecipientUpdate {
    const result = outcome ?? { kind: 'deferred', reason: 'unknown', reply: 'no outcome' };
    const base = { id: r.id, address: r.address, reply: result.reply, nextAttemptAt: now };
    if (result.kind === 'delivered') return { ...base, status: 'delivered', evidence: result.evidence };
    // Inbound mail was accepted from the organisation's server with a 250: a bounce now would
    // be backscatter. What the application cannot take is parked, kept and shown, never dropped.
    const final = message.direction === 'inbound' ? 'failed' : 'bounced';
    if (result.kind === 'bounced') return { ...base, status: final, reason: result.reason };
    if (now >= message.expiresAt) return { ...base, status: final, reason: 'expired' };
    return { ...base, status: 'deferred', reason: result.reason, nextAttemptAt: nextAttemptAt(o.retry, r.attempts + 1, now, message.expiresAt) };
  }

  async function prepareDsn(message: DueMessage, updates: RecipientUpdate[], now: number, fault?: BodyFault): Promise<NewMessage | undefined> {
    // RFC 3461 §4.1 / RFC 5321 §4.5.5: never for the null sender (no bounce loops), NOTIFY=NEVER opts out.
    if (message.mailFrom === '' || message.isDsn) return undefined;
    // A missing body never comes back: its sender learns of it like of a bounce (inbound mail
    // excepted, as for bounces: backscatter). A torn one waits for an operator, who may restore it.
    const missing = fault?.reason === 'body-missing' && message.direction !== 'inbound';
    const failed: FailedRecipient[] = updates
      .filter((u) => u.status === 'bounced' || (missing && u.status === 'failed'))
      .map((u) => ({ u, r: message.recipients.find((r) => r.id === u.id) }))
      .filter(({ r }) => !r?.notify || (r.notify.includes('FAILURE') && !r.notify.includes('NEVER')))
      .map(({ u, r }) => ({
        address: u.address,
        orcpt: r?.orcpt,
        status: u.reason === 'expired' ? '4.4.7' : missing ? '5.3.0' : enhancedStatusOf(u.reply, '5.0.0'),
        reply: u.reason === 'expired' ? `delivery time expired; last reply: ${u.reply}` : u.reply,
        remoteMta: u.reason === 'expired' || u.reason === 'remote-reply' ? o.courier.remote : undefined,
      }));
    if (failed.length === 0) return undefined;
    const id = newQueueId(now);
    const body = buildDsn({
      reportingMta: o.hostname,
      queueId: message.id,
      originalSender: message.mailFrom,
      arrivalDate: message.receivedAt,
      envId: message.envId,
      failed,
      // Without its body, the report carries the envelope alone.
      originalHeaders: missing ? undefined : await headerSection(message),
      now,
    });
    // A secure message's sender is an address in its secure subdomain, which the application
    // reads through the inbound leg: its non-delivery reports go there, like its replies,
    // sealed like them, as they quote the message's header section.
    const toApplication = message.direction === 'secure';
    const writer = toApplication ? await o.spool.createSealed(id, message.id) : await o.spool.create(id);
    writer.stream.end(body);
    const sizeBytes = await writer.finish();
    await o.spool.syncDirectory();
    const envelope = { mailFrom: '', recipients: [{ address: message.mailFrom }] };
    return {
      id,
      envelope,
      sizeBytes,
      receivedAt: now,
      expiresAt: now + o.expireAfterMs,
      credentialId: null,
      clientIp: '127.0.0.1',
      isDsn: true,
      ...(toApplication
        ? {
            direction: 'inbound' as const,
            inbound: gatewayRecord({
              kind: 'non-delivery-report',
              hostname: o.hostname,
              envelope: { mailFrom: '', recipients: [message.mailFrom] },
              body,
            }),
          }
        : {}),
    };
  }

  /** A header section that cannot be read does not hold the report back: retried, it would fail the same way at every lease. */
  async function headerSection(message: DueMessage): Promise<Buffer | undefined> {
    try {
      return await (o.readHead ?? ((m, max) => o.spool.readHead(m.id, max)))(message, DSN_HEADER_LIMIT_BYTES);
    } catch (err) {
      o.log.warn({ err, queueId: message.id }, 'could not read the header section for the DSN; it is sent without it');
      return undefined;
    }
  }

  function wakeSoon(): void {
    setImmediate(() => void pump());
  }

  void pump();

  return {
    wake: wakeSoon,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      clearInterval(renewal);
      await o.store.releaseLeases(o.owner);
    },
  };
}
