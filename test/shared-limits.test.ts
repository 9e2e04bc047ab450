/**
 * Rate limits and AUTH throttling across instances (issue 8): on PostgreSQL the counts live
 * in the store (rate_counters), so two instances, here two independent connections to one
 * schema as two processes would hold, meet one limit together; on SQLite the one instance
 * counts in memory and an AUTH costs no write. Clocks are controlled, so windows expire
 * without waiting.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { SMTPServerAuthentication, SMTPServerSession } from 'smtp-server';
import type { Clock } from '../src/lib/clock.js';
import type { SmtpReply } from '../src/model/smtp-reply.js';
import { authThrottle, FailureThrottle, SharedFailureThrottle } from '../src/smtp/auth-throttle.js';
import { type AuthAttempt, userLock } from '../src/smtp/auth-user-lock.js';
import { type SessionDeps, sessionHandlers } from '../src/smtp/session-handlers.js';
import { MessageRate, sqlMessageRate as messageRate, SharedMessageRate } from '../src/store/message-rate/index.js';
import { openPostgres, type PostgresStore } from '../src/store/postgres/open.js';
import { addToCounter, pruneCounters, SharedWindow, sharedCounters, sumCounter } from '../src/store/shared-counters.js';
import { openSqlite } from '../src/store/sqlite/open.js';
import type { Db } from '../src/store/tables.js';
import { needsPeer } from './support/peers.js';
import { tempDir } from './support/temp-dir.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-03-01T10:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
  };
}

async function rowCount(db: Db, scope: string): Promise<number> {
  const row = await db
    .selectFrom('rate_counters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('scope', '=', scope)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

// --- the counters themselves, on whichever engine ---------------------------------------

/** The portable SQL of shared-counters.ts, run on each engine by the describes below. */
function counterTests(storeOf: () => Db): void {
  test('add is one upsert that returns the bucket total; sum counts buckets from a start; prune drops older ones', async () => {
    const db = storeOf();
    assert.equal(await addToCounter(db, 'unit', 'k', 1000), 1);
    assert.equal(await addToCounter(db, 'unit', 'k', 1000, 4), 5);
    assert.equal(await addToCounter(db, 'unit', 'k', 2000), 1);
    assert.equal(await addToCounter(db, 'unit', 'other', 2000), 1, 'per key');
    assert.equal(await addToCounter(db, 'unit-b', 'k', 2000), 1, 'per scope');
    assert.equal(await sumCounter(db, 'unit', 'k', 1000), 6);
    assert.equal(await sumCounter(db, 'unit', 'k', 1001), 1);
    assert.equal(await sumCounter(db, 'unit', 'nobody', 0), 0);
    assert.equal(await addToCounter(db, 'unit', 'k', 1000, -1), 4, 'a negative add takes back');
    await pruneCounters(db, 'unit', 2000);
    assert.equal(await sumCounter(db, 'unit', 'k', 0), 1);
    assert.equal(await sumCounter(db, 'unit-b', 'k', 0), 1, 'pruning stays in its scope');
  });

  test('a long client-chosen key is stored as its hash and still counted apart from others', async () => {
    const db = storeOf();
    const long = 'u'.repeat(5000);
    await addToCounter(db, 'long', long, 0);
    await addToCounter(db, 'long', `${long}x`, 0, 2);
    assert.equal(await sumCounter(db, 'long', long, 0), 1);
    assert.equal(await sumCounter(db, 'long', `${long}x`, 0), 2);
  });

  test('a window slides a bucket at a time, and buckets that left it are pruned from the add path', async () => {
    const db = storeOf();
    const clock = manualClock();
    const window = new SharedWindow(db, { scope: 'slide', bucketMs: MINUTE, buckets: 3 }, clock);
    await window.add('k');
    clock.advance(MINUTE);
    await window.add('k', 2);
    clock.advance(MINUTE);
    assert.equal(await window.count('k'), 3);
    clock.advance(MINUTE);
    assert.equal(await window.count('k'), 2, 'the first minute has left a three-minute window');
    assert.equal(await window.addWithin('k', 3), true);
    assert.equal(await window.addWithin('k', 3), false);
    assert.equal(await window.count('k'), 3, 'a refusal counts nothing');
    // The add prunes without making its caller wait.
    await waitFor(async () => (await rowCount(db, 'slide')) === 2, { what: 'the bucket outside the window pruned' });
  });

  test('a full window says how long until it has room again: until enough of its oldest buckets have left it', async () => {
    const db = storeOf();
    const clock = manualClock();
    const window = new SharedWindow(db, { scope: 'room', bucketMs: MINUTE, buckets: 3 }, clock);
    await window.add('k', 2);
    clock.advance(MINUTE);
    await window.add('k', 2);
    clock.advance(MINUTE / 2);
    assert.equal(await window.msUntilBelow('k', 5), 0, 'a window below its limit has room now');
    // Below 4 once the first bucket leaves (3 minutes after it began); below 2 only once the second does too.
    assert.equal(await window.msUntilBelow('k', 4), 3 * MINUTE - 1.5 * MINUTE);
    assert.equal(await window.msUntilBelow('k', 2), 4 * MINUTE - 1.5 * MINUTE);
    assert.equal(await window.msUntilBelow('other', 1), 0);
  });
}

/**
 * The per-user-name AUTH lock (auth-user-lock.ts). `one` and `two` are two instances on one
 * store; on SQLite `two` is the same store after a restart, which forgets the failure counts
 * (memory) but not the known sources (the store).
 */
function userLockTests(one: () => Db, two: () => Db): void {
  const options = { failuresPerUser: 3, failureWindowMs: 15 * MINUTE, knownSourceWindowMs: 24 * HOUR };
  const attempt = (username: string, ip: string, outsideAllowedNetworks = false): AuthAttempt => ({ username, ip, outsideAllowedNetworks });
  const unique = `${process.pid}_${Date.now()}`;

  test('the user-name lock spares an address that authenticated as it, at every instance, for the known-source window', async () => {
    const clock = manualClock();
    const username = `sub_known_${unique}`;
    await userLock(sharedCounters(one()), options, clock).recordSuccess(attempt(username, '192.0.2.10'));
    const atTwo = userLock(sharedCounters(two()), options, clock);
    for (let i = 0; i < 3; i++) await atTwo.recordFailure(attempt(username, '203.0.113.66'));
    assert.equal(await atTwo.isLocked(attempt(username, '203.0.113.66')), true, 'the guesser');
    assert.equal(await atTwo.isLocked(attempt(username, '192.0.2.11')), true, 'an address that never authenticated');
    assert.equal(await atTwo.isLocked(attempt(username, '192.0.2.10')), false, 'the known source');
    clock.advance(24 * HOUR);
    for (let i = 0; i < 3; i++) await atTwo.recordFailure(attempt(username, '203.0.113.66'));
    assert.equal(await atTwo.isLocked(attempt(username, '192.0.2.10')), true, 'a day on, the source is no longer known');
  });

  test('a known source is written once per hour, not at every AUTH', async () => {
    const clock = manualClock();
    const lock = userLock(sharedCounters(one()), options, clock);
    const before = await rowCount(one(), 'smtp-auth-known-source');
    for (let i = 0; i < 5; i++) await lock.recordSuccess(attempt(`sub_once_${unique}`, '192.0.2.20'));
    assert.equal(await rowCount(one(), 'smtp-auth-known-source'), before + 1);
  });

  test('failures from outside the allowed networks lock only clients outside them', async () => {
    const clock = manualClock();
    const username = `sub_zone_${unique}`;
    const lock = userLock(sharedCounters(two()), options, clock);
    for (let i = 0; i < 3; i++) await lock.recordFailure(attempt(username, '203.0.113.66', true));
    assert.equal(await lock.isLocked(attempt(username, '203.0.113.67', true)), true, 'another address outside');
    assert.equal(await lock.isLocked(attempt(username, '192.0.2.10')), false, 'an address inside, never authenticated');
  });
}

describe('shared counters on SQLite', () => {
  let close: () => Promise<void>;
  let db: Db;
  before(async () => {
    const dir = await tempDir();
    const store = await openSqlite(join(dir.path, 'relaygate.db'));
    db = store.db;
    close = async () => {
      await store.close();
      await dir.cleanup();
    };
  });
  after(() => close());

  counterTests(() => db);
  userLockTests(
    () => db,
    () => db,
  );

  test('one instance owns the store: throttle and message rate stay in memory, with no write per AUTH', async () => {
    const clock = manualClock();
    const throttle = authThrottle(sharedCounters(db), 'smtp-auth-ip', 2, 15 * MINUTE, clock);
    const rate = messageRate(db, clock);
    assert.ok(throttle instanceof FailureThrottle);
    assert.ok(rate instanceof MessageRate);
    await throttle.recordFailure('192.0.2.1');
    await throttle.recordFailure('192.0.2.1');
    assert.equal(await throttle.isBlocked('192.0.2.1'), true);
    assert.equal(await rate.tryAdmit('cred_a', 1), true);
    assert.equal(await rate.tryAdmit('cred_a', 1), false);
    assert.equal(await rowCount(db, 'smtp-auth-ip'), 0);
    assert.equal(await rowCount(db, 'messages-per-credential'), 0);
    clock.advance(15 * MINUTE);
    assert.equal(await throttle.isBlocked('192.0.2.1'), false, 'the window passed');
  });
});

describe('shared limits on PostgreSQL, two instances', needsPeer(postgresUnavailable()), () => {
  let one: PostgresStore;
  let two: PostgresStore;
  before(async () => {
    // Two pools on one schema: what two gateway processes on one database hold.
    const url = schemaUrl(`shared-limits-${process.pid}-${Date.now()}`);
    one = await openPostgres(url);
    two = await openPostgres(url);
  });
  after(async () => {
    await one?.close();
    await two?.close();
  });

  counterTests(() => one.db);
  userLockTests(
    () => one.db,
    () => two.db,
  );

  test('failed AUTHs recorded at one instance count at the other, and the window lets them go', async () => {
    const clock = manualClock();
    const window = 15 * MINUTE;
    const atOne = authThrottle(sharedCounters(one.db), 'smtp-auth-ip', 3, window, clock);
    const atTwo = authThrottle(sharedCounters(two.db), 'smtp-auth-ip', 3, window, clock);
    assert.ok(atOne instanceof SharedFailureThrottle);
    await atOne.recordFailure('198.51.100.7');
    await atTwo.recordFailure('198.51.100.7');
    assert.equal(await atOne.isBlocked('198.51.100.7'), false);
    assert.equal(await atTwo.isBlocked('198.51.100.7'), false);
    await atOne.recordFailure('198.51.100.7');
    assert.equal(await atTwo.isBlocked('198.51.100.7'), true, 'the third failure, made at the other instance, blocks here');
    assert.equal(await atOne.isBlocked('198.51.100.8'), false, 'per key');
    const byUser = authThrottle(sharedCounters(two.db), 'smtp-auth-user', 3, window, clock);
    assert.equal(await byUser.isBlocked('198.51.100.7'), false, 'per scope: the user name throttle counts apart');
    clock.advance(window - 2 * MINUTE);
    assert.equal(await atOne.isBlocked('198.51.100.7'), true, 'still inside the window');
    clock.advance(2 * MINUTE);
    assert.equal(await atOne.isBlocked('198.51.100.7'), false, 'a window after the failures, they no longer count');
    assert.equal(await atTwo.isBlocked('198.51.100.7'), false);
  });

  test('the window slides: failures are forgotten one by one as they age', async () => {
    const clock = manualClock();
    const atOne = authThrottle(sharedCounters(one.db), 'smtp-auth-user', 2, 10 * MINUTE, clock);
    const atTwo = authThrottle(sharedCounters(two.db), 'smtp-auth-user', 2, 10 * MINUTE, clock);
    await atOne.recordFailure('sub_slide');
    clock.advance(5 * MINUTE);
    await atTwo.recordFailure('sub_slide');
    assert.equal(await atOne.isBlocked('sub_slide'), true);
    clock.advance(5 * MINUTE);
    assert.equal(await atOne.isBlocked('sub_slide'), false, 'the first failure is ten minutes old');
    await atOne.recordFailure('sub_slide');
    assert.equal(await atTwo.isBlocked('sub_slide'), true, 'the second failure still counts with a new one');
  });

  test('the hourly message limit admits exactly N across both instances, even all at once', async () => {
    const clock = manualClock();
    const rates = [messageRate(one.db, clock), messageRate(two.db, clock)];
    assert.ok(rates[0] instanceof SharedMessageRate);
    const limit = 7;
    const attempts = () => Promise.all(Array.from({ length: 40 }, (_, i) => (rates[i % 2] as SharedMessageRate).tryAdmit('cred_burst', limit)));
    const first = await attempts();
    assert.equal(first.filter(Boolean).length, limit, 'exactly the limit, from both instances together');
    clock.advance(30 * MINUTE);
    assert.equal((await attempts()).filter(Boolean).length, 0, 'still inside the hour');
    assert.equal(await (rates[1] as SharedMessageRate).tryAdmit('cred_other', limit), true, 'per credential');
    clock.advance(30 * MINUTE);
    assert.equal((await attempts()).filter(Boolean).length, limit, 'an hour on, the allowance is back');
  });

  test('the message count slides minute by minute, as in memory', async () => {
    const clock = manualClock(Date.parse('2026-01-01T00:00:30Z'));
    const [atOne, atTwo] = [messageRate(one.db, clock), messageRate(two.db, clock)];
    assert.equal(await atOne.tryAdmit('cred_slide', 2), true);
    clock.advance(30 * MINUTE);
    assert.equal(await atTwo.tryAdmit('cred_slide', 2), true);
    assert.equal(await atOne.tryAdmit('cred_slide', 2), false);
    clock.advance(30 * MINUTE);
    assert.equal(await atOne.tryAdmit('cred_slide', 2), true, 'the first message is an hour old');
    assert.equal(await atTwo.tryAdmit('cred_slide', 2), false);
  });

  test('old buckets are pruned, whichever instance adds', async () => {
    // Later than the other tests' clocks, so that all their rows are old here too.
    const clock = manualClock(Date.parse('2026-06-01T00:00:00Z'));
    const keys = async () =>
      (await one.db.selectFrom('rate_counters').select('key').where('scope', '=', 'messages-per-credential').execute()).map((r) => r.key);
    await messageRate(two.db, clock).tryAdmit('cred_prune_a', 10);
    assert.ok((await keys()).includes('cred_prune_a'));
    clock.advance(HOUR + MINUTE);
    await messageRate(one.db, clock).tryAdmit('cred_prune_b', 10);
    await waitFor(async () => (await keys()).join() === 'cred_prune_b', { what: 'only the new bucket left' });
  });
});

// --- the SMTP handlers when the counts cannot be kept --------------------------------------

describe('SMTP handlers when the store behind the limits fails', () => {
  const storeDown = () => Promise.reject(new Error('connection terminated'));
  const session = (user: unknown) => ({ id: 'sess1', remoteAddress: '192.0.2.9', secure: true, user }) as unknown as SMTPServerSession;
  const auth = { method: 'PLAIN', username: 'sub_x', password: 'secret' } as SMTPServerAuthentication;
  function handlers(overrides: Partial<SessionDeps>): ReturnType<typeof sessionHandlers> {
    const never = { isBlocked: async () => false, recordFailure: async () => undefined };
    const unlocked = { isLocked: async () => false, recordFailure: async () => undefined, recordSuccess: async () => undefined };
    const deps = {
      log: pino({ level: 'silent' }),
      throttleByIp: never,
      userLock: unlocked,
      storageShortage: async () => undefined,
      storeNotDurable: () => undefined,
      senderPolicy: { checkMailFrom: async () => undefined },
      routes: { organisationOf: async () => '', tableOf: async () => ({ rules: [], defaultAction: 'relay' }) },
      ...overrides,
    } as unknown as SessionDeps;
    return sessionHandlers(deps);
  }
  const replyOf = (run: (done: (err?: Error | null) => void) => void) =>
    new Promise<string>((resolve) => run((err) => resolve(err ? (err as SmtpReply).toString() : 'ok')));

  test('AUTH fails closed with 454 4.7.0 when failed attempts cannot be read, without checking the secret', async () => {
    let verified = false;
    const credentials = {
      // The credential's allowed networks are read first: a store with no such user name.
      outsideAllowedNetworks: async () => false,
      verify: async () => {
        verified = true;
        return { ok: false, reason: 'unknown-user', detail: '' };
      },
    };
    const down = { isLocked: storeDown, recordFailure: storeDown, recordSuccess: storeDown };
    const onAuth = handlers({ userLock: down, credentials } as unknown as Partial<SessionDeps>).onAuth;
    const reply = await replyOf((done) => onAuth(auth, session(false), done));
    assert.match(reply, /^454 4\.7\.0 /);
    assert.equal(verified, false);
  });

  test('a failed AUTH is still answered 535 when its count cannot be written', async () => {
    const credentials = { outsideAllowedNetworks: async () => false, verify: async () => ({ ok: false, reason: 'bad-secret', detail: '' }) };
    const onAuth = handlers({
      throttleByIp: { isBlocked: async () => false, recordFailure: storeDown },
      credentials,
    } as unknown as Partial<SessionDeps>).onAuth;
    assert.match(await replyOf((done) => onAuth(auth, session(false), done)), /^535 5\.7\.8 /);
  });

  test('MAIL FROM gets 451 4.3.0 when the message count cannot be kept, not a pass without a limit', async () => {
    const credentials = { admitMessage: storeDown };
    const onMailFrom = handlers({ credentials } as unknown as Partial<SessionDeps>).onMailFrom;
    const user = { credentialId: 'cred_x', kind: 'submission', domainId: null, domain: null };
    const reply = await replyOf((done) => onMailFrom({ address: 'app@example.com', args: false }, session(user), done));
    assert.match(reply, /^451 4\.3\.0 /);
  });
});
