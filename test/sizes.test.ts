import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSizeBytes, parseSizeBytes } from '../src/lib/sizes.js';
import { isStorageFull } from '../src/lib/storage-full.js';
import { SmtpReply } from '../src/model/smtp-reply.js';

test('sizes as operators write them', () => {
  const cases: [string, number | undefined][] = [
    ['0', 0], // 0 turns health.minFreeDisk off
    ['4096', 4096], // a bare number is bytes
    ['100MB', 100_000_000], // KB … PB count in thousands, as df -H does
    ['500 mb', 500_000_000], // unit case and a space do not matter
    ['1.5GB', 1_500_000_000],
    ['1PB', 1e15],
    ['2GiB', 2 * 2 ** 30], // KiB … PiB count in 1024s
    ['64 KiB', 65_536],
    ['lots', undefined],
    ['1e9', undefined], // no exponents: say 1GB
    ['-5MB', undefined],
    ['12XB', undefined],
    ['99999999PB', undefined], // past what a double holds exactly
  ];
  for (const [text, bytes] of cases) assert.equal(parseSizeBytes(text), bytes, text);
  assert.equal(formatSizeBytes(40_000_000), '40 MB');
  assert.equal(formatSizeBytes(41_943_040), '41.9 MB');
  assert.equal(formatSizeBytes(1e15), '1 PB');
  assert.equal(formatSizeBytes(512), '512 B');
});

test('out of space, from the filesystem, SQLite or PostgreSQL (53100 disk_full), is 452 4.3.1; a busy store (SQLITE_BUSY, 55P03) and any other local failure 451 4.3.0', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  for (const code of ['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL', '53100']) {
    assert.equal(isStorageFull(errno(code)), true, code);
    assert.equal(SmtpReply.forLocalFailure(errno(code)).toString(), '452 4.3.1 Insufficient system storage, try again later', code);
  }
  assert.equal(isStorageFull(new Error('wrapped', { cause: errno('ENOSPC') })), true, 'found in the cause chain');
  for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', '55P03']) {
    assert.equal(SmtpReply.forLocalFailure(errno(code)).toString(), '451 4.3.0 Queue storage is busy, try again later', code);
  }
  for (const code of ['EIO', 'EACCES', 'SQLITE_IOERR_WRITE', '40001']) {
    assert.equal(SmtpReply.forLocalFailure(errno(code)).toString(), '451 4.3.0 Local error in processing, try again later', code);
  }
  assert.equal(isStorageFull('ENOSPC'), false, 'only errors carry codes');
});
