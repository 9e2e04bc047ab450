/**
 * Message bodies as rows of PostgreSQL (src/store/postgres/body-store.ts), for instances
 * that share no disk: streamed in chunks, read back byte for byte, discarded whole.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { loadConfig } from '../src/config/index.js';
import { DatabaseSpool } from '../src/store/postgres/body-store.js';
import type { Db } from '../src/store/tables.js';
import { needsPeer } from './support/peers.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';

const NEEDS_POSTGRES = needsPeer(postgresUnavailable());

async function withSpool(
  work: (spool: DatabaseSpool, rows: (id: string) => Promise<number[]>, clock: { now: number }, db: Db) => Promise<void>,
): Promise<void> {
  const store = await openStore(loadConfig({ env: { RELAYGATE_DATABASE_URL: schemaUrl(`bodies-${randomBytes(6).toString('hex')}`) } }));
  const clock = { now: Date.now() };
  try {
    const rows = async (id: string) =>
      (await store.db.selectFrom('message_bodies').select('chunk').where('message_id', '=', id).orderBy('seq').execute()).map((r) => r.chunk.length);
    await work(new DatabaseSpool(store.db, () => clock.now), rows, clock, store.db);
  } finally {
    await store.close();
  }
}

async function write(spool: DatabaseSpool, id: string, parts: Buffer[]): Promise<number> {
  const writer = await spool.create(id);
  for (const part of parts) if (!writer.stream.write(part)) await new Promise((resolve) => writer.stream.once('drain', resolve));
  writer.stream.end();
  return writer.finish();
}

test('a body written in odd pieces is stored in 256 KiB rows and read back byte for byte, also by another reader', NEEDS_POSTGRES, async () => {
  await withSpool(async (spool, rows, _clock, db) => {
    const body = Buffer.concat([Buffer.from('Subject: big\r\nX-A: 1\r\n\r\n'), randomBytes(600 * 1024)]);
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += 65_537) parts.push(body.subarray(at, at + 65_537));
    assert.equal(await write(spool, 'BIG1', parts), body.length);
    assert.deepEqual(await rows('BIG1'), [256 * 1024, 256 * 1024, body.length - 512 * 1024]);
    assert.ok((await spool.readAll('BIG1')).equals(body), 'read back as written');
    assert.equal((await spool.readHead('BIG1', 64 * 1024)).toString(), 'Subject: big\r\nX-A: 1\r\n');
    // Another instance has no in-memory copy: it reads the rows.
    const other = new DatabaseSpool(db);
    assert.ok((await other.readAll('BIG1')).equals(body));
  });
});

test('an empty body exists and reads as empty; a missing one fails to read; a discarded one leaves no row', NEEDS_POSTGRES, async () => {
  await withSpool(async (spool, rows, _clock, db) => {
    assert.equal(await write(spool, 'EMPTY1', []), 0);
    assert.deepEqual(await rows('EMPTY1'), [0]);
    assert.equal((await new DatabaseSpool(db).readAll('EMPTY1')).length, 0);
    await assert.rejects(spool.readAll('NOSUCH'), /no stored body for message NOSUCH/);

    const writer = await spool.create('CUT1');
    writer.stream.write(randomBytes(300 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    await writer.discard();
    assert.deepEqual(await rows('CUT1'), [], 'the rows of a cut transfer are gone, the chunk written meanwhile too');
  });
});

test('only bodies older than an hour are offered as orphans, since another instance may still be writing a newer one', NEEDS_POSTGRES, async () => {
  await withSpool(async (spool, _rows, clock) => {
    await write(spool, 'OLD1', [Buffer.from('old')]);
    clock.now += 61 * 60_000;
    await write(spool, 'NEW1', [Buffer.from('new')]);
    assert.deepEqual(await spool.list(), ['OLD1']);
    await spool.remove('OLD1');
    assert.deepEqual(await spool.list(), []);
  });
});

test('storedBytes sums every row of a body, counts an empty body as 0 and a missing one as none, for another reader too', NEEDS_POSTGRES, async () => {
  await withSpool(async (spool, _rows, _clock, db) => {
    const body = randomBytes(600 * 1024);
    await write(spool, 'SIZED1', [body]);
    await write(spool, 'SIZED0', []);
    const other = new DatabaseSpool(db);
    assert.equal(await other.storedBytes('SIZED1'), body.length);
    assert.equal(await spool.storedBytes('SIZED1'), body.length);
    assert.equal(await other.storedBytes('SIZED0'), 0);
    assert.equal(await other.storedBytes('NOSUCH'), undefined);
  });
});
