import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { adminAccounts } from '../src/console/admin-accounts.js';
import { systemClock } from '../src/lib/clock.js';
import { sqlAdminStore } from '../src/store/console/index.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, consoleScreenshot, consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';

interface Answer {
  status: number;
  location: string | null;
  cookie: string | null;
  headers: Headers;
  text: string;
}

/** One request without following redirects, as a browser's first hop. */
async function request(url: string, init: { method?: string; cookie?: string; form?: Record<string, string>; origin?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (init.origin) headers.origin = init.origin;
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(url, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    headers,
    body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    redirect: 'manual',
  });
  const setCookie = response.headers.get('set-cookie');
  return {
    status: response.status,
    location: response.headers.get('location'),
    cookie: setCookie ? (setCookie.split(';')[0] ?? null) : null,
    headers: response.headers,
    text: await response.text(),
  };
}

const csrfIn = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

describe('console: sign-in, sessions, lockout, CSRF', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
  });
  after(() => gw?.stop());

  async function signIn(email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<Answer> {
    const form = await request(consoleUrl(gw, '/sign-in'));
    return request(consoleUrl(gw, '/sign-in'), { form: { csrf: csrfIn(form.text), email, password, next: '/console' } });
  }

  test('an unsigned request is sent to sign-in; a sign-in sets an HttpOnly, Secure, SameSite=Strict cookie scoped to /console', async () => {
    const unsigned = await request(consoleUrl(gw, '/password?from=mail'));
    assert.equal(unsigned.status, 303);
    assert.equal(unsigned.location, '/console/sign-in?next=%2Fconsole%2Fpassword%3Ffrom%3Dmail');
    const page = await request(consoleUrl(gw, '/sign-in'));
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const response = await fetch(consoleUrl(gw, '/sign-in'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfIn(page.text), email: ADMIN_EMAIL, password: ADMIN_PASSWORD, next: '/console/audit' }).toString(),
      redirect: 'manual',
    });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/console/audit');
    assert.match(response.headers.get('set-cookie') ?? '', /^relaygate_console=[A-Za-z0-9_-]{43}; HttpOnly; Secure; SameSite=Strict; Path=\/console$/);
  });

  test('a next= outside the console is not followed (no open redirect)', async () => {
    const form = await request(consoleUrl(gw, '/sign-in'));
    const answer = await request(consoleUrl(gw, '/sign-in'), {
      form: { csrf: csrfIn(form.text), email: ADMIN_EMAIL, password: ADMIN_PASSWORD, next: '//evil.example/x' },
    });
    assert.equal(answer.location, '/console');
  });

  test('sign-out ends the session on the server: the old cookie no longer opens anything', async () => {
    const signed = await signIn();
    assert.ok(signed.cookie);
    const dashboard = await request(consoleUrl(gw), { cookie: signed.cookie });
    assert.equal(dashboard.status, 200);
    const out = await request(consoleUrl(gw, '/sign-out'), { cookie: signed.cookie, form: { csrf: csrfIn(dashboard.text) } });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await request(consoleUrl(gw), { cookie: signed.cookie })).status, 303);
  });

  test("CSRF: a POST without the token, with another session's token, or from another origin is refused with 403 and changes nothing", async () => {
    const a = await signIn();
    const b = await signIn();
    const pageOfB = await request(consoleUrl(gw), { cookie: b.cookie ?? '' });
    const withoutToken = await request(consoleUrl(gw, '/sign-out'), { cookie: a.cookie ?? '', form: {} });
    assert.equal(withoutToken.status, 403);
    const othersToken = await request(consoleUrl(gw, '/sign-out'), { cookie: a.cookie ?? '', form: { csrf: csrfIn(pageOfB.text) } });
    assert.equal(othersToken.status, 403);
    const pageOfA = await request(consoleUrl(gw), { cookie: a.cookie ?? '' });
    const foreign = await request(consoleUrl(gw, '/sign-out'), { cookie: a.cookie ?? '', form: { csrf: csrfIn(pageOfA.text) }, origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal((await request(consoleUrl(gw), { cookie: a.cookie ?? '' })).status, 200, 'the session survived every refused sign-out');
  });

  test('five wrong passwords lock this address out of the account: then even the right one is refused, with the same words as for unknown accounts; a reset unlocks', async () => {
    await createAdmin(gw, 'locked@example.com');
    for (let i = 0; i < 4; i++) {
      const wrong = await signIn('locked@example.com', 'not the password at all');
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /The email or the password is not right/);
    }
    assert.match((await signIn('nobody@example.com', 'whatever it is')).text, /The email or the password is not right/);
    const fifth = await signIn('locked@example.com', 'not the password at all');
    assert.equal(fifth.status, 401);
    assert.match(fifth.text, /The email or the password is not right/);
    const right = await signIn('locked@example.com', ADMIN_PASSWORD);
    assert.equal(right.status, 401);
    assert.equal(right.cookie, null);
    const lockout = await gw.db((db) => db.selectFrom('audit_log').select(['action', 'target_id']).where('action', '=', 'admin.lockout').execute());
    assert.deepEqual(lockout, [{ action: 'admin.lockout', target_id: 'locked@example.com' }]);
    const oneTime = await gw.db((db) =>
      adminAccounts({ admins: sqlAdminStore(db) }, { clock: systemClock }).resetPassword('locked@example.com', HARNESS_ACTOR),
    );
    const afterReset = await signIn('locked@example.com', oneTime);
    assert.equal(afterReset.location, '/console/password', 'a one-time password must be changed first');
  });

  test('`relaygate admin create` prints a one-time password once; the account must change it before anything else', async () => {
    const created = await runCli(['admin', 'create', 'new@example.com', '--json'], gatewayEnv(gw.dataDir));
    assert.equal(created.code, 0, created.stderr);
    const { oneTimePassword, mustChangePassword } = JSON.parse(created.stdout) as { oneTimePassword: string; mustChangePassword: boolean };
    assert.match(oneTimePassword, /^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/);
    assert.equal(mustChangePassword, true);
    const stored = await gw.db((db) => db.selectFrom('admins').select('password_hash').where('email', '=', 'new@example.com').executeTakeFirstOrThrow());
    assert.match(stored.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!stored.password_hash.includes(oneTimePassword));
    const signed = await signIn('new@example.com', oneTimePassword);
    assert.equal(signed.location, '/console/password', signed.text);
    const elsewhere = await request(consoleUrl(gw), { cookie: signed.cookie ?? '' });
    assert.equal(elsewhere.location, '/console/password');
    const form = await request(consoleUrl(gw, '/password'), { cookie: signed.cookie ?? '' });
    const short = await request(consoleUrl(gw, '/password'), {
      cookie: signed.cookie ?? '',
      form: { csrf: csrfIn(form.text), current: oneTimePassword, password: 'short' },
    });
    assert.equal(short.status, 400);
    assert.match(short.text, /at least 12 characters/);
    const changed = await request(consoleUrl(gw, '/password'), {
      cookie: signed.cookie ?? '',
      form: { csrf: csrfIn(form.text), current: oneTimePassword, password: 'a long new passphrase' },
    });
    assert.equal(changed.location, '/console');
    assert.equal((await request(consoleUrl(gw), { cookie: signed.cookie ?? '' })).status, 303, 'the password change ended the old session');
    assert.equal((await request(consoleUrl(gw), { cookie: changed.cookie ?? '' })).status, 200);
  });
});

describe('console in a real browser: sign-in and a cross-site form', needsPeer(browserUnavailable()), () => {
  let gw: TestGateway;
  let evil: Server;
  let evilUrl = '';
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
    // Another site whose page posts a form to the console as soon as it loads.
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<form id="f" method="post" action="${consoleUrl(gw, '/sign-out')}"><input name="csrf" value="guess"></form><script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://localhost:${(evil.address() as { port: number }).port}/`;
  });
  after(async () => {
    await gw?.stop();
    await new Promise<void>((resolve) => evil?.close(() => resolve()));
  });

  test('sign in, see the dashboard, and a forged form from another site is refused without signing out', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(consoleUrl(gw));
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await consoleScreenshot(page, 'sign-in');
      await signInConsole(page, gw);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current'), 'page');
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === 'relaygate_console');
      assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(session));

      const response = await page.goto(evilUrl);
      assert.ok(response);
      await page.waitForURL(/\/console\/sign-out$/);
      assert.match(await page.content(), /Form not accepted/);
      await page.goto(consoleUrl(gw));
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    } finally {
      await browser.close();
    }
  });
});
