import { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import type { Courier, OutboundMessage } from '../delivery/courier.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { DeliveryOutcome } from '../model/outcome.js';
import { headerFieldsOf, type RawField, RelaxedBodyHash } from './canonicalize.js';
import { type SigningKey, signatureField } from './signature.js';

/** The keys that sign for a domain now (its active ones); none when it has no DKIM keys. */
export type SigningKeySource = (domain: string) => Promise<SigningKey[]>;

/**
 * A stored header section is at most 64 KiB plus our Received field (HeaderCapture);
 * this bound only keeps a malformed message from being read whole into memory.
 */
const MAX_HEADER_BYTES = 1024 * 1024;
const END_OF_HEADERS = Buffer.from('\r\n\r\n');

/**
 * The DKIM-Signature fields for a stored message, CRLF-terminated, to go on top of it; empty
 * when no author domain has active keys. Signs for each domain of the header From (RFC
 * 5322 §3.6.2) that has keys: DMARC aligns DKIM with the From domain (RFC 7489 §3.1.1), so a
 * signature for any other domain (the envelope sender's, or ours for a DSN) adds nothing
 * there, and a null-sender message gets its signature from its From like any other. A
 * subdomain signs only with keys of its own, as it is claimed on its own.
 *
 * One pass over the body: the header section is read first, and when nothing signs the
 * stream is closed there; otherwise the body is hashed as it streams by, in bounded memory.
 */
export async function dkimSignatures(body: Readable, keysFor: SigningKeySource, signedAtMs: number): Promise<string> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    const head = await readHeaderSection(chunks);
    if (head === undefined) return '';
    const fields = headerFieldsOf(head.section.toString('latin1'));
    const keys = (await Promise.all(fromDomains(fields).map((domain) => keysFor(domain)))).flat();
    if (keys.length === 0) return '';
    const hash = new RelaxedBodyHash();
    hash.update(head.bodyStart);
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) hash.update(next.value);
    const bodyHash = hash.digest();
    return keys.map((key) => signatureField(key, fields, bodyHash, signedAtMs)).join('');
  } finally {
    body.destroy();
  }
}

/** The header section without the empty line that ends it, and what followed it in the last chunk read. */
async function readHeaderSection(chunks: AsyncIterator<Buffer>): Promise<{ section: Buffer; bodyStart: Buffer } | undefined> {
  let pending = Buffer.alloc(0);
  for (;;) {
    const searchFrom = Math.max(0, pending.length - (END_OF_HEADERS.length - 1));
    const next = await chunks.next();
    if (next.done) return { section: pending, bodyStart: Buffer.alloc(0) };
    pending = Buffer.concat([pending, next.value]);
    const end = pending.indexOf(END_OF_HEADERS, searchFrom);
    if (end !== -1) return { section: pending.subarray(0, end), bodyStart: pending.subarray(end + END_OF_HEADERS.length) };
    if (pending.length > MAX_HEADER_BYTES) return undefined;
  }
}

/** The distinct A-label domains of the From mailboxes. */
export function fromDomains(fields: RawField[]): string[] {
  const domains = new Set<string>();
  for (const field of fields.filter((f) => f.key === 'from')) {
    const value = Buffer.from(field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n/g, ''), 'latin1').toString('utf8');
    for (const { address } of addressparser(value, { flatten: true })) {
      const at = address.lastIndexOf('@');
      const domain = at === -1 ? '' : domainToASCII(address.slice(at + 1).toLowerCase());
      if (domain) domains.add(domain);
    }
  }
  return [...domains];
}

/**
 * Wraps the outbound courier so that outbound mail leaves with our DKIM signatures on
 * top and the stored message unchanged beneath them: a signature the application made
 * itself stays valid. Signing happens at each delivery attempt, so a rotation applies to
 * mail already queued, and no signature outlives a retried message's key. Inbound mail
 * (forwards to the application) passes through unsigned.
 *
 * The stored message is read twice, hash then send, rather than held in memory. Measured
 * with a 50 MiB message: this signer peaked at +7 MiB RSS and 110–170 ms; mailauth's
 * DkimSignStream buffers the whole message before it emits a byte (+153 MiB, 870 ms),
 * which at `queue.concurrency` deliveries of that size would not fit. mailauth's dkimSign
 * cannot oversign (its h= lists only the fields present), hence our own signer
 * (signature.ts); mailauth and dkimpy verify its output in the tests. A small message
 * costs about 0.6 ms for both signatures.
 */
export function dkimSigningCourier(inner: Courier, keysFor: SigningKeySource, clock: Clock = systemClock): Courier {
  return {
    remote: inner.remote,

    async deliver(message) {
      if (message.direction !== 'outbound') return inner.deliver(message);
      let head: Buffer;
      try {
        head = Buffer.from(await dkimSignatures(message.openBody(), keysFor, clock.now()), 'latin1');
      } catch (err) {
        // A key that does not open (another key-encryption key) or an unreadable body: without the
        // signature DMARC may reject the mail, so it waits and says why instead of leaving unsigned.
        return deferAll(message, `DKIM signing failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (head.length === 0) return inner.deliver(message);
      return inner.deliver(signed(message, head));
    },

    close: () => inner.close(),
  };
}

function signed(message: OutboundMessage, head: Buffer): OutboundMessage {
  return {
    ...message,
    sizeBytes: message.sizeBytes + head.length,
    // Opened only when read, so a delivery that fails before DATA never opens the stored file.
    openBody: () => Readable.from(withHead(head, message.openBody), { objectMode: false }),
  };
}

async function* withHead(head: Buffer, open: () => Readable): AsyncGenerator<Buffer> {
  yield head;
  yield* open() as AsyncIterable<Buffer>;
}

function deferAll(message: OutboundMessage, reply: string): Map<string, DeliveryOutcome> {
  const outcome: DeliveryOutcome = { kind: 'deferred', reason: 'config', reply };
  return new Map(message.recipients.map((address) => [address, outcome]));
}
