import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SealedSpoolWriter, SealingSpool, Spool } from '../queue/spool.js';
import type { KeyEncryption } from './key-encryption.js';
import { BodyEncryptor, decryptChunks, newDataKey } from './message-cipher.js';
import { SEALED_BODY_KEY_PURPOSE } from './seal-purposes.js';
import type { SealedBodyStore } from './sealed-body-store.js';

export { SEALED_BODY_KEY_PURPOSE };

/**
 * What a sealed body starts with at rest. No message does (the gateway's own Received field
 * comes first in every body it stores), so a read needs no query to tell the two apart.
 */
export const SEALED_BODY_MAGIC = Buffer.from('\0relaygate sealed body v1\n', 'latin1');

/** The body's data key is gone: it was removed, or shredded with the secure message it answers. */
export class SealedBodyGone extends Error {
  constructor(id: string) {
    super(`the body of message ${id} can no longer be opened: its data key was shredded (with the secure message it answers, or when it was removed)`);
    this.name = 'SealedBodyGone';
  }
}

export interface SealingSpoolDeps {
  bodies: SealedBodyStore;
  /** Asked only when a body is sealed or opened, so the spool can exist before the key is loaded. */
  kek: () => KeyEncryption;
  now: () => number;
}

/**
 * A spool whose sealed bodies reach the disk (or PostgreSQL) only as AES-256-GCM ciphertext,
 * each under a data key of its own, bound to its queue id; the key is stored only sealed by
 * the key-encryption key, in sealed_bodies, written once the body is complete and before the
 * queue row commits. Reads decrypt on the fly, so the plaintext exists only in memory while
 * it is delivered. Plain bodies pass through unchanged.
 */
export function sealingSpool(inner: Spool, deps: SealingSpoolDeps): SealingSpool {
  const plain = new PlainBodies();
  const deleteKey = (id: string) => (plain.has(id) ? Promise.resolve() : deps.bodies.remove([id]));

  async function openKey(id: string) {
    const row = await deps.bodies.find(id);
    if (!row) throw new SealedBodyGone(id);
    return { key: deps.kek().open(row.dataKeySealed, { purpose: SEALED_BODY_KEY_PURPOSE, id }), seal: { iv: row.bodyIv, tag: row.bodyTag } };
  }

  async function* plaintext(id: string): AsyncGenerator<Buffer> {
    const chunks = inner.read(id)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => chunks };
    try {
      let head: Buffer = Buffer.alloc(0);
      while (head.length < SEALED_BODY_MAGIC.length) {
        const next = await chunks.next();
        if (next.done) {
          if (head.length > 0) yield head;
          return;
        }
        head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
      }
      if (!head.subarray(0, SEALED_BODY_MAGIC.length).equals(SEALED_BODY_MAGIC)) {
        yield head;
        yield* rest;
        return;
      }
      const { key, seal } = await openKey(id);
      try {
        yield* decryptChunks(key, id, seal, prepend(head.subarray(SEALED_BODY_MAGIC.length), rest));
      } finally {
        key.fill(0);
      }
    } finally {
      await chunks.return?.();
    }
  }

  const spool: SealingSpool = {
    init: () => inner.init(),
    async create(id) {
      const writer = await inner.create(id);
      plain.add(id);
      return { ...writer, discard: () => writer.discard().finally(() => plain.delete(id)) };
    },

    async createSealed(id, answers): Promise<SealedSpoolWriter> {
      const key = newDataKey();
      const encryptor = new BodyEncryptor(key, id);
      const writer = await inner.create(id);
      writer.stream.write(SEALED_BODY_MAGIC);
      const piped = pipeline(encryptor, writer.stream);
      piped.catch(() => undefined);
      let secureMessageId = answers;
      return {
        stream: encryptor,
        answers(idOf) {
          secureMessageId = idOf;
        },
        async finish() {
          try {
            await piped;
            const size = await writer.finish();
            const seal = encryptor.seal();
            await deps.bodies.insert({
              messageId: id,
              secureMessageId,
              dataKeySealed: deps.kek().seal(key, { purpose: SEALED_BODY_KEY_PURPOSE, id }),
              bodyIv: seal.iv,
              bodyTag: seal.tag,
              createdAt: deps.now(),
            });
            return size - SEALED_BODY_MAGIC.length;
          } finally {
            key.fill(0);
          }
        },
        async discard() {
          key.fill(0);
          encryptor.destroy();
          await writer.discard();
          await deleteKey(id);
        },
      };
    },

    read: (id) => Readable.from(plaintext(id), { objectMode: false }),

    async readHead(id, maxBytes) {
      // Enough bytes to tell a sealed body, whatever maxBytes.
      const head = await inner.readHead(id, Math.max(maxBytes, SEALED_BODY_MAGIC.length));
      if (!head.subarray(0, SEALED_BODY_MAGIC.length).equals(SEALED_BODY_MAGIC)) {
        return maxBytes >= SEALED_BODY_MAGIC.length ? head : inner.readHead(id, maxBytes);
      }
      // Decrypted to the end, so that its tag is checked, but only the first bytes are kept:
      // a sealed body may be 25 MiB. Two more than asked for find an empty line ending at maxBytes.
      const first = await firstBytes(plaintext(id), maxBytes + 2);
      const end = first.indexOf('\r\n\r\n');
      return first.subarray(0, Math.min(maxBytes, end === -1 ? first.length : end + 2));
    },

    async readAll(id) {
      return Buffer.concat(await spool.read(id).toArray());
    },

    /** The bytes its writer counted: a sealed body (one with a key row) carries the marker in front of them. */
    async storedBytes(id) {
      const bytes = await inner.storedBytes(id);
      if (bytes === undefined || bytes < SEALED_BODY_MAGIC.length) return bytes;
      if (plain.has(id)) return bytes;
      return (await deps.bodies.has(id)) ? bytes - SEALED_BODY_MAGIC.length : bytes;
    },

    /** The key first: once it is gone, no copy of the ciphertext opens again. */
    async remove(id) {
      await deleteKey(id);
      await inner.remove(id);
      plain.delete(id);
    },

    forget: (id) => inner.forget(id),
    keep: (id, body) => inner.keep(id, body),
    list: () => inner.list(),
    syncDirectory: () => inner.syncDirectory(),
  };
  return spool;
}

/**
 * The ids this process wrote plain: for them no key row can exist, so delivery's size check
 * and the removal skip their sealed_bodies query (two store round trips per message). A body
 * from before a restart, or past the bound, is asked about as before.
 */
class PlainBodies {
  private static readonly MAX = 100_000;
  private readonly ids = new Set<string>();

  add(id: string): void {
    if (this.ids.size < PlainBodies.MAX) this.ids.add(id);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}

async function* prepend(first: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  yield* rest;
}

/** The first `limit` bytes of a stream read to its end. */
async function firstBytes(chunks: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const kept: Buffer[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    if (length >= limit) continue;
    const part = chunk.subarray(0, limit - length);
    kept.push(Buffer.from(part));
    length += part.length;
  }
  return Buffer.concat(kept, length);
}
