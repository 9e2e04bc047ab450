/**
 * The body checks of delivery (src/queue/body-check.ts): a body whose size no longer matches
 * its queue row is found before anything is sent, and one torn while it is read aborts the
 * transfer before the final dot.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { spoolFor } from '../src/app/open-spool.js';
import { secureStores } from '../src/app/secure-stores.js';
import { smarthostCourier } from '../src/delivery/smarthost.js';
import { checkBody, verifiedBody } from '../src/queue/body-check.js';
import { buildDsn } from '../src/queue/dsn.js';
import { keyEncryptionFor } from '../src/secure/master-key.js';
import { sealingSpool } from '../src/secure/sealing-spool.js';
import { startTestGateway } from './support/gateway.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { damageStoredBody } from './support/stored-bodies.js';

const BODY = Buffer.from(`Subject: torn\r\n\r\n${'a line of the body\r\n'.repeat(200)}`);

test('checkBody: the same size passes; another size is torn, none is missing, each with its reason', async () => {
  const sizes: Record<string, number | undefined> = { SAME: 100, SHORT: 91, LONG: 130 };
  const stored = async (id: string) => sizes[id];
  assert.equal(await checkBody(stored, 'SAME', 100), undefined);
  assert.deepEqual(await checkBody(stored, 'SHORT', 100), { reason: 'body-torn', reply: 'body torn: 91 bytes on disk, 100 queued' });
  assert.deepEqual(await checkBody(stored, 'LONG', 100), { reason: 'body-torn', reply: 'body torn: 130 bytes on disk, 100 queued' });
  assert.deepEqual(await checkBody(stored, 'GONE', 100), { reason: 'body-missing', reply: 'body missing from the spool' });
});

test('verifiedBody passes a body of the queued size through and fails, instead of ending, on one shorter or longer', async () => {
  const read = (body: Buffer, queued: number) => verifiedBody(Readable.from([body.subarray(0, 100), body.subarray(100)]), 'Q1', queued).toArray();
  assert.ok(Buffer.concat(await read(BODY, BODY.length)).equals(BODY));
  await assert.rejects(read(BODY.subarray(0, BODY.length - 9), BODY.length), /body of Q1 torn: \d+ bytes read, \d+ queued/);
  await assert.rejects(read(Buffer.concat([BODY, Buffer.from('more')]), BODY.length), /body of Q1 torn: more than the \d+ bytes queued/);
});

const TIMEOUTS = { connectMs: 30_000, greetingMs: 300_000, commandMs: 300_000, dataMs: 600_000 };

test('a body torn while it is sent never completes its transfer: the smarthost receives no message and the recipient is deferred', async () => {
  const sink = await startSmtpSink({ tls: 'none' });
  const courier = smarthostCourier({
    target: { host: '127.0.0.1', port: sink.port, tls: 'none' },
    heloName: 'gateway.test',
    maxConnections: 1,
    timeouts: TIMEOUTS,
  });
  try {
    for (const body of [BODY.subarray(0, BODY.length - 9), Buffer.concat([BODY, Buffer.from('appended\r\n')])]) {
      const outcomes = await courier.deliver({
        id: 'Q2',
        direction: 'outbound',
        mailFrom: 'app@example.com',
        recipients: ['rcpt@example.net'],
        receivedAt: Date.now(),
        sizeBytes: BODY.length,
        openBody: () => verifiedBody(Readable.from([body]), 'Q2', BODY.length),
      });
      assert.equal(outcomes.get('rcpt@example.net')?.kind, 'deferred', JSON.stringify([...outcomes]));
    }
    assert.equal(sink.messages.length, 0, 'no transfer completed');
  } finally {
    await courier.close();
    await sink.stop();
  }
});

test('a DSN without the header section of a body it could not read has no third part', () => {
  const dsn = buildDsn({
    reportingMta: 'gateway.test',
    queueId: 'Q3',
    originalSender: 'app@example.com',
    arrivalDate: 0,
    failed: [{ address: 'rcpt@example.net', status: '5.3.0', reply: 'body missing from the spool' }],
    now: 0,
  }).toString();
  assert.match(dsn, /header section is not included/);
  assert.doesNotMatch(dsn, /text\/rfc822-headers/);
  assert.equal(dsn.match(/--rg-dsn-[0-9a-f]+--\r\n$/)?.length, 1, 'the multipart ends');
});

test('the sealing spool counts a sealed body as its writer did, without its marker, so a sealed body passes the check until it is torn', async () => {
  const gw = await startTestGateway();
  try {
    await gw.db(async (db) => {
      const spool = () => sealingSpool(spoolFor(db, gw.dataDir), { bodies: secureStores(db).bodies, kek: () => keyEncryptionFor(gw.config), now: Date.now });
      const sealed = await spool().createSealed('SEALED1', null);
      sealed.stream.end(BODY);
      const sealedBytes = await sealed.finish();
      const plain = await spool().create('PLAIN1');
      plain.stream.end(BODY);
      const plainBytes = await plain.finish();
      await spool().syncDirectory();
      assert.equal(sealedBytes, BODY.length);
      // A fresh spool holds no copy in memory: it asks the disk (or the rows).
      assert.equal(await spool().storedBytes('SEALED1'), sealedBytes);
      assert.equal(await spool().storedBytes('PLAIN1'), plainBytes);
      await damageStoredBody(gw.config, 'SEALED1', { truncate: 5 });
      assert.deepEqual(await checkBody((id) => spool().storedBytes(id), 'SEALED1', sealedBytes), {
        reason: 'body-torn',
        reply: `body torn: ${sealedBytes - 5} bytes on disk, ${sealedBytes} queued`,
      });
    });
  } finally {
    await gw.stop();
  }
});

test('readHead of a sealed body gives its header section or its first maxBytes, keeping no more, and fails on a torn body (its tag is still checked)', async () => {
  const gw = await startTestGateway();
  try {
    await gw.db(async (db) => {
      const spool = () => sealingSpool(spoolFor(db, gw.dataDir), { bodies: secureStores(db).bodies, kek: () => keyEncryptionFor(gw.config), now: Date.now });
      const header = 'Subject: sealed\r\nX-A: 1\r\n';
      const sealed = await spool().createSealed('SEALEDHEAD', null);
      sealed.stream.end(Buffer.concat([Buffer.from(`${header}\r\n`), Buffer.alloc(3 * 1024 * 1024, 'x')]));
      await sealed.finish();
      await spool().syncDirectory();
      assert.equal((await spool().readHead('SEALEDHEAD', 64 * 1024)).toString(), header);
      // The empty line ends exactly at maxBytes, then one byte past it.
      assert.equal((await spool().readHead('SEALEDHEAD', header.length)).toString(), header);
      assert.equal((await spool().readHead('SEALEDHEAD', header.length - 1)).toString(), header.slice(0, -1));
      await damageStoredBody(gw.config, 'SEALEDHEAD', { truncate: 5 });
      await assert.rejects(spool().readHead('SEALEDHEAD', 64 * 1024));
    });
  } finally {
    await gw.stop();
  }
});
