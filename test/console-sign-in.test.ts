import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { adminAccounts } from '../src/console/admin-accounts.js';
import { FAILURES_PER_ACCOUNT_AND_IP, signInLocks } from '../src/console/sign-in-locks.js';
import { systemClock } from '../src/lib/clock.js';
import { authThrottle } from '../src/smtp/auth-throttle.js';
import { sqlAdminStore } from '../src/store/console/index.js';
import { openPostgres } from '../src/store/postgres/open.js';
import { sharedCounters } from '../src/store/shared-counters.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, consoleScreenshot, createAdmin } from './support/console.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { needsPeer } from './support/peers.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

interface Answer {
  status: number;
  location: string | undefined;
  cookie: string | undefined;
  text: string;
}

/**
 * One HTTP/1.1 request over a real socket, from a chosen loopback source address (the whole
 * of 127/8 is loopback on Linux) and with a chosen Host header, neither of which fetch allows.
 */
function send(
  gw: TestGateway,
  path: string,
  init: { method?: string; from?: string; host?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: gw.gateway.ports.http,
        path,
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        localAddress: init.from ?? '127.0.0.1',
        headers: { ...(init.host ? { host: init.host } : {}), ...init.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const csrfIn = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const flashIn = (page: string) => /<p class="flash error" role="alert">([^<]*)<\/p>/.exec(page)?.[1];

describe('console sign-in: one answer for every failure, locks per address, strict form, audited', () => {
  let gw: TestGateway;
  let csrf: string;
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
    csrf = csrfIn((await send(gw, '/console/sign-in')).text);
  });
  after(() => gw?.stop());

  const signIn = (email: string, password: string, from = '127.0.0.1') =>
    send(gw, '/console/sign-in', { from, headers: FORM, body: new URLSearchParams({ csrf, email, password, next: '/console' }).toString() });
  const audit = (action: string) => gw.db((db) => db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute());

  test('unknown, wrong password, locked and disabled accounts get the same status and words', async () => {
    await createAdmin(gw, 'locked@example.com');
    await createAdmin(gw, 'disabled@example.com');
    await gw.db((db) => adminAccounts({ admins: sqlAdminStore(db) }, { clock: systemClock }).disable('disabled@example.com', HARNESS_ACTOR));
    for (let i = 0; i < FAILURES_PER_ACCOUNT_AND_IP; i++) assert.equal((await signIn('locked@example.com', 'wrong wrong wrong', '127.0.0.3')).status, 401);
    const answers = {
      unknown: await signIn('nobody@example.com', ADMIN_PASSWORD, '127.0.0.3'),
      wrong: await signIn(ADMIN_EMAIL, 'not the password at all', '127.0.0.3'),
      locked: await signIn('locked@example.com', ADMIN_PASSWORD, '127.0.0.3'),
      disabled: await signIn('disabled@example.com', ADMIN_PASSWORD, '127.0.0.3'),
    };
    for (const [kind, answer] of Object.entries(answers)) {
      assert.equal(answer.status, 401, kind);
      assert.equal(answer.cookie, undefined, kind);
      assert.equal(flashIn(answer.text), flashIn(answers.unknown.text), `${kind} reads like an unknown account`);
    }
    assert.match(flashIn(answers.unknown.text) ?? '', /The email or the password is not right/);
  });

  test('failures from one address lock that address out of the account, not the administrator at another address', async () => {
    await createAdmin(gw, 'target@example.com');
    for (let i = 0; i < FAILURES_PER_ACCOUNT_AND_IP; i++) await signIn('target@example.com', 'a guess that is wrong', '127.0.0.5');
    const attacker = await signIn('target@example.com', ADMIN_PASSWORD, '127.0.0.5');
    assert.equal(attacker.status, 401, 'even the right password is refused from the guessing address');
    const admin = await signIn('target@example.com', ADMIN_PASSWORD, '127.0.0.6');
    assert.equal(admin.status, 303, 'the administrator signs in from elsewhere');
    assert.match(admin.cookie ?? '', /^relaygate_console=/);
    const lockout = await audit('admin.lockout');
    assert.ok(lockout.some((r) => r.target_id === 'target@example.com' && r.actor_ip === '127.0.0.5' && JSON.parse(r.detail).lock === 'address'));
  });

  test('malformed forms answer 400 naming the problem, never 500', async () => {
    const good = { csrf, email: ADMIN_EMAIL, password: ADMIN_PASSWORD };
    const cases: Array<[string, Record<string, string>, string | Buffer, RegExp, number?]> = [
      ['a duplicated field', FORM, `${new URLSearchParams(good)}&email=other@example.com`, /The email field was sent more than once/],
      ['an array field', FORM, `csrf=${csrf}&email[]=a&email[]=b&password=x`, /The email field is missing/],
      ['a missing field', FORM, new URLSearchParams({ csrf, email: ADMIN_EMAIL }).toString(), /The password field is missing/],
      ['JSON', { 'content-type': 'application/json' }, JSON.stringify({ ...good, email: [ADMIN_EMAIL] }), /must be sent as application\/x-www-form-urlencoded/],
      ['plain text', { 'content-type': 'text/plain' }, 'hello', /must be sent as application\/x-www-form-urlencoded/],
      ['an unknown type', { 'content-type': 'application/xml' }, '<a/>', /must be sent as application\/x-www-form-urlencoded/],
      ['no body', {}, '', /must be sent as application\/x-www-form-urlencoded/],
      ['an overlong field', FORM, new URLSearchParams({ ...good, email: `${'a'.repeat(400)}@example.com` }).toString(), /longer than 320 characters/],
      ['an oversized body', FORM, Buffer.alloc(70 * 1024, 'a'), /larger than the console accepts \(64 KiB\)/, 413],
    ];
    for (const [name, headers, body, message, status = 400] of cases) {
      const answer = await send(gw, '/console/sign-in', { method: 'POST', headers, body });
      assert.equal(answer.status, status, `${name}: ${answer.text.slice(0, 300)}`);
      assert.match(answer.text, message, name);
    }
  });

  test('sign-ins, failures, API 401s and refused forms of console and portal are audited with actor, address and reason, never a secret', async () => {
    const token = 'rg_this-is-not-a-real-token-value';
    assert.equal((await signIn(ADMIN_EMAIL, ADMIN_PASSWORD, '127.0.0.7')).status, 303);
    assert.equal((await signIn(ADMIN_EMAIL, 'the wrong secret passphrase', '127.0.0.7')).status, 401);
    assert.equal((await send(gw, '/api/v1/tokens', { from: '127.0.0.7', headers: { authorization: `Bearer ${token}` } })).status, 401);
    const foreignConsole = await send(gw, '/console/sign-in', {
      from: '127.0.0.7',
      headers: { ...FORM, origin: 'http://evil.example' },
      body: new URLSearchParams({ csrf, email: ADMIN_EMAIL, password: ADMIN_PASSWORD }).toString(),
    });
    assert.equal(foreignConsole.status, 403);
    const foreignPortal = await send(gw, '/m/secret-link-token-value/code', {
      from: '127.0.0.7',
      headers: { ...FORM, origin: 'http://evil.example' },
      body: 'code=123456',
    });
    assert.equal(foreignPortal.status, 403);

    const rows = await waitFor(async () => {
      const all = await gw.db((db) => db.selectFrom('audit_log').selectAll().where('actor_ip', '=', '127.0.0.7').orderBy('seq').execute());
      return all.length >= 5 ? all : undefined;
    });
    // Refusals are written without holding up the answer, so their order among themselves may vary.
    const seen = rows.map((r) => [r.action, r.actor, r.target_id, JSON.parse(r.detail).reason ?? null, JSON.parse(r.detail).surface ?? null]).sort();
    assert.deepEqual(seen, [
      ['admin.sign-in', `admin:${ADMIN_EMAIL}`, ADMIN_EMAIL, null, null],
      ['admin.sign-in-failed', 'anonymous', ADMIN_EMAIL, 'wrong-password', null],
      ['api.unauthorized', 'anonymous', null, 'bearer token not valid or revoked', null],
      ['form.refused', 'anonymous', null, 'form posted from another site', 'console'],
      ['form.refused', 'anonymous', null, 'form posted from another site', 'portal'],
    ]);
    const text = JSON.stringify(rows);
    for (const secret of ['the wrong secret passphrase', ADMIN_PASSWORD, token, 'secret-link-token-value', csrf])
      assert.ok(!text.includes(secret), `no ${secret} in the log`);
    const newest = Math.max(...rows.map((r) => Number(r.seq)));
    await waitFor(() => gw.logs.some((line) => line.includes('"event":"audit.head"') && line.includes(`"seq":${newest}`)), {
      what: 'the head of the log in the log stream',
    });
    const portal = rows.find((r) => JSON.parse(r.detail).surface === 'portal');
    assert.equal(JSON.parse(portal?.detail ?? '{}').route, '/m/:token/code');
  });

  test('a flood of identical denials from one address adds one record a minute, bounded per address', async () => {
    const before = (await audit('api.unauthorized')).length;
    for (let i = 0; i < 60; i++) assert.equal((await send(gw, '/api/v1/domains', { from: '127.0.0.8' })).status, 401);
    for (let i = 0; i < 30; i++)
      assert.equal((await send(gw, '/api/v1/domains', { from: '127.0.0.8', headers: { authorization: `Bearer guess-${i}` } })).status, 401);
    const rows = await waitFor(async () => {
      const all = (await audit('api.unauthorized')).filter((r) => r.actor_ip === '127.0.0.8');
      return all.length >= 2 ? all : undefined;
    });
    // Within one minute: one record per distinct denial; across a minute boundary, at most one more of each.
    assert.ok(rows.length <= 4, `${rows.length} records for 90 refused requests`);
    assert.ok((await audit('api.unauthorized')).length - before <= 4);
  });
});

describe('console sign-in over plain HTTP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw?.stop());

  test('reached at a non-loopback name over http://, the page explains why sign-in cannot work and what to do', async () => {
    const plain = await send(gw, '/console/sign-in', { host: 'gateway.example.org:8025' });
    assert.equal(plain.status, 200);
    assert.match(plain.text, /Sign-in cannot work over plain HTTP here/);
    assert.match(plain.text, /http:\/\/gateway\.example\.org/);
    assert.match(plain.text, /RELAYGATE_HTTP_PUBLIC_URL/);
    for (const [name, init] of [
      ['loopback', {}],
      ['localhost', { host: 'localhost:8025' }],
      ['a TLS proxy in front', { host: 'gateway.example.org', headers: { 'x-forwarded-proto': 'https' } }],
    ] as const)
      assert.doesNotMatch((await send(gw, '/console/sign-in', init)).text, /plain HTTP/, name);
  });

  test('in a real browser at a non-loopback http:// name, signing in comes back to the page, which says why', needsPeer(browserUnavailable()), async () => {
    await createAdmin(gw);
    const browser = await launchBrowser(['--host-resolver-rules=MAP console.gateway.example 127.0.0.1']);
    try {
      const page = await browser.newPage();
      await page.goto(`http://console.gateway.example:${gw.gateway.ports.http}/console/sign-in`);
      await page.getByLabel('Email').fill(ADMIN_EMAIL);
      await page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await Promise.all([page.waitForURL(/\/console\/sign-in\?next=/), page.getByRole('button', { name: 'Sign in' }).click()]);
      assert.deepEqual(await page.context().cookies(), [], 'the browser did not keep the Secure cookie over plain http');
      assert.ok(await page.locator('#plain-http').isVisible());
      assert.match((await page.locator('#plain-http').textContent()) ?? '', /Sign-in cannot work over plain HTTP here[\s\S]*RELAYGATE_HTTP_PUBLIC_URL/);
      await consoleScreenshot(page, 'sign-in-plain-http');
    } finally {
      await browser.close();
    }
  });
});

describe('console sign-in locks on PostgreSQL, two instances', needsPeer(postgresUnavailable()), () => {
  test('failures counted at one instance lock the address at the other, and only that address', async () => {
    const url = schemaUrl(`sign-in-locks-${process.pid}-${Date.now()}`);
    const [one, two] = [await openPostgres(url), await openPostgres(url)];
    try {
      const throttleAt = (db: typeof one.db) => (scope: string, limit: number, windowMs: number) =>
        authThrottle(sharedCounters(db), scope, limit, windowMs, systemClock);
      const [atOne, atTwo] = [signInLocks(throttleAt(one.db)), signInLocks(throttleAt(two.db))];
      const target = { id: 'adm_shared', passwordHash: '$argon2id$stand-in', lastSignInIp: '198.51.100.1' };
      for (let i = 0; i < FAILURES_PER_ACCOUNT_AND_IP - 1; i++) await (i % 2 ? atTwo : atOne).failed(target, '203.0.113.9');
      assert.equal(await atTwo.lockOf(target, '203.0.113.9'), undefined);
      assert.equal(await atOne.failed(target, '203.0.113.9'), 'address', 'the fifth failure locks the address');
      assert.equal(await atTwo.lockOf(target, '203.0.113.9'), 'address', 'at the other instance too');
      assert.equal(await atTwo.lockOf(target, '203.0.113.10'), undefined, 'another address still signs in');
      assert.equal(await atTwo.lockOf({ ...target, passwordHash: '$argon2id$after-a-reset' }, '203.0.113.9'), undefined, 'a new password starts afresh');
    } finally {
      await one.close();
      await two.close();
    }
  });
});
