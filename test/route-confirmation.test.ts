import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { RouteAction } from '../src/policy/route-match.js';
import { type RouteRules, type SecureLoss, secureLosses } from '../src/policy/route-weakening.js';
import { browserUnavailable, launchBrowser } from './support/browser.js';
import { consoleUrl, createAdmin, signInConsole } from './support/console.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { runCliAtTerminal } from './support/terminal.js';

type Json = Record<string, unknown>;

const table = (defaultAction: RouteAction, ...rules: [string, RouteAction][]): RouteRules => ({
  defaultAction,
  rules: rules.map(([match, action], i) => ({ position: i + 1, match, action })),
});

describe('which changes take mail out of secure (pure)', () => {
  // [what changes, before, after, the senders that lose secure and what they get]
  const cases: [string, RouteRules, RouteRules, SecureLoss[]][] = [
    ['removing a secure route', table('relay', ['secure.example.com', 'secure']), table('relay'), [{ senders: 'secure.example.com', becomes: 'relay' }]],
    // The default still makes them secure: nothing is lost.
    ['removing a secure route under a secure default', table('secure', ['secure.example.com', 'secure']), table('secure'), []],
    [
      'secure → relay',
      table('relay', ['secure.example.com', 'secure']),
      table('relay', ['secure.example.com', 'relay']),
      [{ senders: 'secure.example.com', becomes: 'relay' }],
    ],
    [
      'secure → reject',
      table('relay', ['secure.example.com', 'secure']),
      table('relay', ['secure.example.com', 'reject']),
      [{ senders: 'secure.example.com', becomes: 'reject' }],
    ],
    ['relay → secure gains, loses nothing', table('relay', ['example.com', 'relay']), table('relay', ['example.com', 'secure']), []],
    // A narrower match: the names below example.com other than secure.example.com leave secure.
    [
      '*.example.com → secure.example.com',
      table('relay', ['*.example.com', 'secure']),
      table('relay', ['secure.example.com', 'secure']),
      [{ senders: '*.example.com', becomes: 'relay' }],
    ],
    // A "wider" one that drops a name: *.example.com does not cover example.com itself.
    [
      'example.com → *.example.com',
      table('relay', ['example.com', 'secure']),
      table('relay', ['*.example.com', 'secure']),
      [{ senders: 'example.com', becomes: 'relay' }],
    ],
    [
      'a match moved to another domain',
      table('relay', ['a.example', 'secure']),
      table('relay', ['b.example', 'secure']),
      [{ senders: 'a.example', becomes: 'relay' }],
    ],
    // Reordering: a relay wildcard now tried before the secure rule takes its senders.
    [
      'a secure rule moved below a relay wildcard',
      table('relay', ['secure.example.com', 'secure'], ['*.example.com', 'relay']),
      table('relay', ['*.example.com', 'relay'], ['secure.example.com', 'secure']),
      [{ senders: 'secure.example.com', becomes: 'relay' }],
    ],
    // Reordering rules that match disjoint senders changes nothing.
    [
      'moving disjoint rules',
      table('relay', ['a.example', 'secure'], ['b.example', 'relay']),
      table('relay', ['b.example', 'relay'], ['a.example', 'secure']),
      [],
    ],
    // A new rule tried first takes a part of a secure wildcard; at the end it never applies.
    [
      'a relay rule added before a secure wildcard',
      table('relay', ['*.example.com', 'secure']),
      table('relay', ['billing.example.com', 'relay'], ['*.example.com', 'secure']),
      [{ senders: 'billing.example.com', becomes: 'relay' }],
    ],
    // …and so do the names below billing.example.com, which the wildcard also covered.
    [
      'a relay wildcard added before a secure wildcard above it',
      table('relay', ['*.example.com', 'secure']),
      table('relay', ['*.eu.example.com', 'relay'], ['*.example.com', 'secure']),
      [{ senders: '*.eu.example.com', becomes: 'relay' }],
    ],
    [
      'a relay rule added after a secure wildcard',
      table('relay', ['*.example.com', 'secure']),
      table('relay', ['*.example.com', 'secure'], ['billing.example.com', 'relay']),
      [],
    ],
    // The default: the senders no rule matches (the null sender among them).
    ['the default secure → relay', table('secure', ['example.com', 'relay']), table('relay', ['example.com', 'relay']), [{ senders: null, becomes: 'relay' }]],
    ['the default relay → reject', table('relay', ['example.com', 'secure']), table('reject', ['example.com', 'secure']), []],
    // Said once: the names below crm.example.com are among *.example.com.
    [
      '*.example.com → crm.example.com',
      table('relay', ['*.example.com', 'secure']),
      table('relay', ['crm.example.com', 'secure']),
      [{ senders: '*.example.com', becomes: 'relay' }],
    ],
    // example.com is one of the senders no rule matches, before and after: not named apart.
    [
      'the default secure → relay beside a wildcard',
      table('secure', ['*.example.com', 'secure']),
      table('relay', ['*.example.com', 'secure']),
      [{ senders: null, becomes: 'relay' }],
    ],
    // …but a sender a secure rule named, now left to a relay default, is.
    [
      'a secure rule removed under a default changed to relay',
      table('secure', ['example.com', 'secure']),
      table('relay'),
      [
        { senders: null, becomes: 'relay' },
        { senders: 'example.com', becomes: 'relay' },
      ],
    ],
    // Under a secure default, a new relay rule takes its senders out of secure.
    ['a relay rule under a secure default', table('secure'), table('secure', ['*.example.org', 'relay']), [{ senders: '*.example.org', becomes: 'relay' }]],
  ];
  for (const [name, before, after, expected] of cases) {
    test(name, () => assert.deepEqual(secureLosses(before, after), expected));
  }
});

describe('a change that takes mail out of secure asks first', () => {
  let gw: TestGateway;
  let token: string;
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token, ...(body === undefined ? {} : { body }) });
  const routesNow = async () => ((await api('/api/v1/routes')).body as { items: Json[] }).items.map((r) => `${r.match} ${r.action}`);
  const lastAudit = async (action: string) => ((await api(`/api/v1/audit?action=${action}&limit=1`)).body as { items: Json[] }).items[0] ?? {};
  before(async () => {
    gw = await startTestGateway();
    token = await gw.createApiToken('confirm');
  });
  after(() => gw?.stop());

  test('API: removing, weakening, shadowing or moving a secure route and the secure default answer 409 naming query.confirm; nothing changes', async () => {
    const secure = (await api('/api/v1/routes', 'POST', { match: '*.example.com', action: 'secure' })).body as Json;
    const plain = 'mail from *.example.com will then leave as plain mail, not as secure messages; repeat the request with ?confirm=true to go ahead';
    const refused = await api(`/api/v1/routes/${secure.id as string}`, 'DELETE');
    assert.equal(refused.status, 409);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(refused.body, {
      type: 'about:blank',
      title: 'Confirmation required',
      status: 409,
      detail: plain,
      errors: [{ field: 'query.confirm', problem: plain }],
    });

    const answers = [
      await api(`/api/v1/routes/${secure.id as string}`, 'PATCH', { action: 'relay' }),
      await api(`/api/v1/routes/${secure.id as string}?confirm=false`, 'PATCH', { action: 'reject' }),
      await api(`/api/v1/routes/${secure.id as string}`, 'PATCH', { match: 'crm.example.com' }),
      await api('/api/v1/routes', 'POST', { match: 'billing.example.com', action: 'relay', position: 1 }),
    ];
    assert.deepEqual(
      answers.map((a) => [a.status, (a.body as Json).detail]),
      [
        [409, plain],
        [409, 'mail from *.example.com will then be refused at MAIL FROM; repeat the request with ?confirm=true to go ahead'],
        [409, plain],
        [409, 'mail from billing.example.com will then leave as plain mail, not as secure messages; repeat the request with ?confirm=true to go ahead'],
      ],
    );
    // A rule after it, tried later, is harmless; moved before it, it takes precedence.
    const later = await api('/api/v1/routes', 'POST', { match: 'billing.example.com', action: 'relay' });
    assert.equal(later.status, 201, later.text);
    const moved = await api(`/api/v1/routes/${(later.body as Json).id as string}`, 'PATCH', { position: 1 });
    assert.equal(moved.status, 409);
    assert.match((moved.body as Json).detail as string, /^mail from billing\.example\.com will then leave as plain mail/);
    assert.deepEqual(await routesNow(), ['*.example.com secure', 'billing.example.com relay']);

    // A change that keeps every sender secure needs nothing.
    assert.equal((await api(`/api/v1/routes/${secure.id as string}`, 'PATCH', { description: 'customer mail' })).status, 200);

    const removed = await api(`/api/v1/routes/${secure.id as string}?confirm=true`, 'DELETE');
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await routesNow(), ['billing.example.com relay']);
    const audit = await lastAudit('route.remove');
    assert.deepEqual(audit.detail, {
      match: '*.example.com',
      action: 'secure',
      confirmed: true,
      secureLost: 'mail from *.example.com will then leave as plain mail, not as secure messages',
    });
    await api(`/api/v1/routes/${(later.body as Json).id as string}`, 'DELETE');

    // The default: from secure to relay asks, naming the senders no route matches.
    assert.equal((await api('/api/v1/routes/default', 'PUT', { action: 'secure' })).status, 200);
    const byDefault = await api('/api/v1/routes/default', 'PUT', { action: 'relay' });
    assert.equal(byDefault.status, 409);
    assert.match((byDefault.body as Json).detail as string, /^mail from senders no route matches will then leave as plain mail/);
    assert.deepEqual((await api('/api/v1/routes/default')).body, { action: 'secure' });
    assert.equal((await api('/api/v1/routes/default?confirm=true', 'PUT', { action: 'relay' })).status, 200);
    assert.equal(((await lastAudit('route.default')).detail as Json).confirmed, true);
    assert.equal(((await api('/api/v1/audit/verify')).body as Json).ok, true);
  });

  test('CLI: without a terminal the change is refused unless --yes; at a terminal it asks y/N and only "y" goes ahead', { timeout: 240_000 }, async () => {
    const env = gatewayEnv(gw.dataDir);
    const add = async (match: string) => gw.services((s) => s.routes.add({ match, action: 'secure' }, { name: 'test', ip: null }));
    const a = await add('a.example.com');
    const b = await add('b.example.com');
    const plain = (domain: string) => `Mail from ${domain} will then leave as plain mail, not as secure messages.`;

    const piped = await runCli(['route', 'remove', a.id], env);
    assert.equal(piped.code, 1);
    assert.equal(piped.stderr, `relaygate: ${plain('a.example.com')} Nothing changed; add --yes to go ahead.\n`);

    const declined = await runCliAtTerminal(['route', 'update', a.id, '--action', 'relay'], env, { prompt: '[y/N] ', text: 'n' });
    assert.equal(declined.code, 1, declined.stdout);
    assert.equal(declined.stdout, `${plain('a.example.com')}\nGo ahead? [y/N] n\nrelaygate: Nothing changed.\n`);
    assert.deepEqual(await routesNow(), ['a.example.com secure', 'b.example.com secure']);

    const accepted = await runCliAtTerminal(['route', 'remove', a.id], env, { prompt: '[y/N] ', text: 'y' });
    assert.equal(accepted.code, 0, accepted.stdout);
    assert.equal(accepted.stdout, `${plain('a.example.com')}\nGo ahead? [y/N] y\nRemoved ${a.id} (a.example.com → secure)\n`);
    assert.equal(((await lastAudit('route.remove')).detail as Json).confirmed, true);

    const yes = await runCli(['route', 'update', b.id, '--action', 'relay', '--yes'], env);
    assert.equal(yes.code, 0, yes.stderr);
    assert.deepEqual(await routesNow(), ['b.example.com relay']);
    const update = await lastAudit('route.update');
    assert.deepEqual([update.actor, (update.detail as Json).confirmed], [`cli:${(await import('node:os')).userInfo().username}`, true]);
    await api(`/api/v1/routes/${b.id}`, 'DELETE');
  });
});

describe('console: a change that takes mail out of secure shows a confirmation page first', needsPeer(browserUnavailable()), () => {
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  const press = (name: string) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name, exact: true }).click()]);
  const routesNow = async () => (await gw.services((s) => s.routes.list({ limit: 50, offset: 0 }))).items.map((r) => `${r.match} ${r.action}`);
  before(async () => {
    gw = await startTestGateway();
    await createAdmin(gw);
    browser = await launchBrowser();
    page = await browser.newPage();
    await signInConsole(page, gw);
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
  });

  test('Remove on a secure route: the page states the consequence; Cancel keeps it, Confirm removes it and the audit says confirmed', async () => {
    await gw.services((s) => s.routes.add({ match: 'secure.example.com', action: 'secure' }, { name: 'test', ip: null }));
    await page.goto(consoleUrl(gw, '/routes'));
    await press('Remove the route for secure.example.com');
    assert.equal(await page.title(), 'Confirm the change · Relaygate');
    assert.equal(await page.locator('#consequence').textContent(), 'Mail from secure.example.com will then leave as plain mail, not as secure messages.');
    assert.deepEqual(await routesNow(), ['secure.example.com secure']);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Cancel' }).click()]);
    assert.equal(new URL(page.url()).pathname, '/console/routes');
    assert.deepEqual(await routesNow(), ['secure.example.com secure']);

    await press('Remove the route for secure.example.com');
    await press('Remove the route');
    await page.getByText('The route was removed; the ones after it moved up.').waitFor();
    assert.deepEqual(await routesNow(), []);
    const audit = await gw.services((s) => s.audit.list({ limit: 1, offset: 0, action: 'route.remove' }));
    assert.equal(audit.items[0]?.detail?.confirmed, true);
  });

  test('adding a relay rule before a secure one and the default leaving secure ask too; the confirmation form is CSRF-protected', async () => {
    await gw.services((s) => s.routes.add({ match: '*.example.com', action: 'secure' }, { name: 'test', ip: null }));
    await page.goto(consoleUrl(gw, '/routes'));
    await page.getByLabel('Sender domain').fill('billing.example.com');
    await page.getByLabel('Action', { exact: true }).selectOption('relay');
    await page.getByLabel('Position (optional)').fill('1');
    await press('Add the route');
    assert.equal(await page.locator('#consequence').textContent(), 'Mail from billing.example.com will then leave as plain mail, not as secure messages.');
    await press('Add the route');
    await page.getByText('The route was added.').waitFor();
    assert.deepEqual(await routesNow(), ['billing.example.com relay', '*.example.com secure']);

    await gw.services((s) => s.routes.setDefault('secure', { name: 'test', ip: null }));
    await page.goto(consoleUrl(gw, '/routes'));
    await page.getByLabel('When no rule matches').selectOption('relay');
    await press('Set the default');
    assert.equal(await page.locator('#consequence').textContent(), 'Mail from senders no route matches will then leave as plain mail, not as secure messages.');
    // The confirmation posted without the session's CSRF token changes nothing.
    const forged = await page.evaluate(async () => {
      const response = await fetch('/console/routes/default', { method: 'POST', body: new URLSearchParams({ action: 'relay', confirm: 'yes' }) });
      return response.status;
    });
    assert.equal(forged, 403);
    assert.equal(await gw.services((s) => s.routes.defaultAction()), 'secure');
    await press('Set the default');
    await page.getByText('The default action was changed.').waitFor();
    assert.equal(await gw.services((s) => s.routes.defaultAction()), 'relay');
  });
});
