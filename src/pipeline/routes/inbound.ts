import { createHash } from 'node:crypto';
import { PassThrough, type Readable, Transform } from 'node:stream';
import type { RoutableTarget } from '../../directory/inbound-targets.js';
import type { AuthVerdict, SmtpAuthFact } from '../../inbound/authentication-results.js';
import type { Envelope } from '../../model/envelope.js';
import type { InboundRecord } from '../../queue/queue-store.js';
import type { SealingSpool } from '../../queue/spool.js';
import type { SecureReplies } from '../../secure/secure-replies.js';
import type { RouteKind } from '../accept.js';
import { ForgedResultsFilter } from '../forged-results-filter.js';
import { subjectOf } from '../header-subject.js';

/** An inbound message handed to the application while the client waits (synchronous mode). */
export interface SynchronousHandoff {
  /** The synchronous webhook all these recipients go to, if they share one. */
  targetFor(recipients: string[]): Promise<RoutableTarget | undefined>;
  /** Calls it; resolves to the delivery reply for the record, or throws the SmtpReply to answer instead. */
  deliver(target: RoutableTarget, message: InboundHandoff): Promise<string>;
}

export interface InboundHandoff {
  queueId: string;
  receivedAt: number;
  envelope: Envelope;
  record: InboundRecord;
}

/** What SPF, DKIM and DMARC checking is told of a message; the resolver is the implementation's (src/inbound/authentication-results.ts). */
export interface AuthenticationInput {
  /** The message as the client sent it, read to its end at the reader's own pace. */
  body: Readable;
  clientIp: string;
  helo: string;
  /** The MAIL FROM address, '' for the null reverse-path. */
  mailFrom: string;
  /** Names this gateway in the header (RFC 8601 §2.5). */
  authservId: string;
  smtpAuth: SmtpAuthFact | null;
}

export interface InboundDeps {
  spool: SealingSpool;
  hostname: string;
  /** Tells replies to secure mail, which are stored sealed and shredded with the message they answer. */
  secureReplies: SecureReplies;
  /** Evaluates SPF, DKIM and DMARC; rejects only when the body itself fails. */
  authenticate(input: AuthenticationInput): Promise<AuthVerdict>;
  synchronous: SynchronousHandoff;
}

/**
 * Inbound mail from the organisation's server, for the application: drop forged results →
 * evaluate SPF/DKIM/DMARC while spooling (sealed, when it answers secure mail) → hand over
 * now (synchronous webhook) or commit for the worker. `smtpAuth`: the inbound credential of
 * the session, if any.
 */
export function inboundRoute(deps: InboundDeps, smtpAuth: SmtpAuthFact | null): RouteKind {
  return {
    async open(id, now, draft) {
      const recipients = draft.envelope.recipients.map((r) => r.address);
      const sealed = (await deps.secureReplies.sealsFor(recipients)) ? await deps.spool.createSealed(id, null) : undefined;
      const writer = sealed ?? (await deps.spool.create(id));
      const evaluated = new PassThrough();
      const verdict = deps.authenticate({
        body: evaluated,
        clientIp: draft.session.clientIp,
        helo: draft.session.heloName,
        mailFrom: draft.envelope.mailFrom,
        authservId: deps.hostname,
        smtpAuth,
      });
      const hash = createHash('sha256').update(envelopeKey(draft.envelope));
      let record: InboundRecord | undefined;
      let target: RoutableTarget | undefined;
      return {
        writer,
        asSent: [new ForgedResultsFilter(deps.hostname), tap(hash, evaluated)],
        asStored: [],
        async bodyRead() {
          const { header, facts } = await verdict;
          record = {
            relay: JSON.stringify(draft.relay),
            authenticationResults: header,
            authentication: JSON.stringify(facts),
            contentHash: hash.digest('hex'),
          };
        },
        async checkHeaders(headers) {
          target = await deps.synchronous.targetFor(recipients);
          sealed?.answers(await deps.secureReplies.answeredMessage(headers));
        },
        async record(headers) {
          if (!record) throw new Error('the inbound record is known only once the body was read');
          const inbound = record;
          // Synchronous: the application answers before we do, so the organisation's server keeps
          // the message until it is taken and nothing is ever bounced later. A message it took is
          // recorded as delivered (its body stays for the download links); one it did not is not kept.
          const deliveredWith =
            target === undefined
              ? undefined
              : await deps.synchronous.deliver(target, { queueId: id, receivedAt: now, envelope: draft.envelope, record: inbound });
          return {
            // The message log shows no subject of a sealed reply: it would repeat the secure message's.
            row: { direction: 'inbound', inbound, deliveredWith, subject: sealed ? null : subjectOf(headers) },
            delivered: deliveredWith,
          };
        },
        abandon() {
          // The evaluation may be waiting for the rest of the message, which will not come: never wait for it.
          evaluated.destroy(new Error('message not accepted'));
          verdict.catch(() => undefined);
        },
        close: () => undefined,
      };
    },
  };
}

/** The envelope goes into the idempotency key: the same bytes to other recipients are another delivery. */
function envelopeKey(envelope: Envelope): string {
  return `${envelope.mailFrom}\n${envelope.recipients.map((r) => r.address.toLowerCase()).join(',')}\n`;
}

/** Hashes what passes and copies it to the authentication check, which reads at its own pace. */
function tap(hash: ReturnType<typeof createHash>, copy: PassThrough): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      copy.write(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      copy.end();
      callback();
    },
  });
}
