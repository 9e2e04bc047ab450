import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { DEFAULT_ORGANISATION_ID } from '../src/model/organisation.js';
import { decideRoute, normaliseRouteMatch, type RouteAction, type RouteRule } from '../src/policy/route-match.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';

type Json = Record<string, unknown>;

const rule = (position: number, match: string, action: RouteAction): RouteRule => ({ id: `rte_${position}`, position, match, action });

describe('route matching (pure)', () => {
  const rules = [
    rule(1, 'secure.example.com', 'secure'),
    rule(2, '*.example.com', 'reject'),
    rule(3, 'example.com', 'relay'),
    rule(4, '*.example.org', 'secure'),
  ];
  // [sender, default action, expected action, the rule that decides (undefined: the default)]
  const cases: [string, RouteAction, RouteAction, string | undefined][] = [
    // An exact rule before a wildcard that also matches: first match wins.
    ['support@secure.example.com', 'relay', 'secure', 'rte_1'],
    // Domains are case-insensitive (RFC 5321 §2.4); a trailing root dot is the same name.
    ['Support@SECURE.Example.COM', 'relay', 'secure', 'rte_1'],
    ['support@secure.example.com.', 'relay', 'secure', 'rte_1'],
    // The wildcard covers every name below example.com, at any depth…
    ['a@billing.example.com', 'relay', 'reject', 'rte_2'],
    ['a@eu.billing.example.com', 'relay', 'reject', 'rte_2'],
    // …but not example.com itself, which its own rule names.
    ['a@example.com', 'reject', 'relay', 'rte_3'],
    // A name that merely ends in the same letters is not below example.com.
    ['a@badexample.com', 'relay', 'relay', undefined],
    ['a@badexample.com', 'reject', 'reject', undefined],
    // A wildcard alone does not cover its apex.
    ['a@example.org', 'relay', 'relay', undefined],
    ['a@x.example.org', 'relay', 'secure', 'rte_4'],
    // The null sender has no domain: the default applies.
    ['', 'relay', 'relay', undefined],
    ['', 'reject', 'reject', undefined],
    // An address literal names no domain a route could match.
    ['a@[192.0.2.1]', 'secure', 'secure', undefined],
    // The local part never matters, even when it looks like a domain.
    ['secure.example.com@example.net', 'relay', 'relay', undefined],
  ];
  for (const [sender, defaultAction, expected, ruleId] of cases) {
    test(`${sender || '<>'} with default ${defaultAction} → ${expected} (${ruleId ?? 'default'})`, () => {
      const decision = decideRoute(rules, defaultAction, sender);
      assert.equal(decision.action, expected);
      assert.equal(decision.source === 'rule' ? decision.rule.id : undefined, ruleId);
    });
  }

  test('rules are tried by position, not by the order they are given in', () => {
    const shuffled = [rule(2, 'secure.example.com', 'relay'), rule(1, '*.example.com', 'reject')];
    assert.equal(decideRoute(shuffled, 'relay', 'a@secure.example.com').action, 'reject');
  });

  // [input, stored match, or undefined when refused]
  const matches: [string, string | undefined][] = [
    ['secure.example.com', 'secure.example.com'],
    ['  Secure.Example.COM. ', 'secure.example.com'],
    ['*.Example.com', '*.example.com'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['*', undefined],
    ['*.', undefined],
    ['a.*.example.com', undefined],
    ['*example.com', undefined],
    ['**.example.com', undefined],
    ['support@example.com', undefined],
    ['-bad.example.com', undefined],
    ['bad-.example.com', undefined],
    ['a..example.com', undefined],
    [`${'a'.repeat(64)}.example.com`, undefined],
    ['', undefined],
  ];
  for (const [input, expected] of matches) {
    test(`match ${JSON.stringify(input)} → ${expected ?? 'refused'}`, () => {
      const parsed = normaliseRouteMatch(input);
      assert.deepEqual(
        parsed,
        expected === undefined ? { problem: `"${input}" is not a domain (secure.example.com) or a subdomain wildcard (*.example.com)` } : { match: expected },
      );
    });
  }
});

describe('routes through the admin API and the CLI', () => {
  let gw: TestGateway;
  let token: string;
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token, ...(body === undefined ? {} : { body }) });
  before(async () => {
    gw = await startTestGateway();
    token = await gw.createApiToken('routes');
  });
  after(() => gw.stop());

  test('add at the end and at a position, list in order with the default, move, update, remove; positions stay 1…n', async () => {
    const a = await api('/api/v1/routes', 'POST', { match: 'secure.example.com', action: 'secure', description: 'helpdesk' });
    assert.equal(a.status, 201, a.text);
    assert.deepEqual(
      { ...(a.body as Json), id: undefined, createdAt: undefined },
      {
        id: undefined,
        position: 1,
        match: 'secure.example.com',
        action: 'secure',
        description: 'helpdesk',
        createdAt: undefined,
      },
    );
    const b = (await api('/api/v1/routes', 'POST', { match: '*.Example.com', action: 'reject' })).body as Json;
    const c = (await api('/api/v1/routes', 'POST', { match: 'example.org', action: 'relay', position: 1 })).body as Json;
    const order = async () => ((await api('/api/v1/routes')).body as { items: Json[] }).items.map((r) => [r.position, r.match]);
    assert.deepEqual(await order(), [
      [1, 'example.org'],
      [2, 'secure.example.com'],
      [3, '*.example.com'],
    ]);
    const page = (await api('/api/v1/routes?limit=1&offset=1')).body as Json;
    assert.deepEqual(
      { ...page, items: (page.items as Json[]).map((r) => r.match) },
      { items: ['secure.example.com'], total: 3, limit: 1, offset: 1, defaultAction: 'relay' },
    );

    const moved = await api(`/api/v1/routes/${c.id as string}`, 'PATCH', { position: 3 });
    assert.equal((moved.body as Json).position, 3);
    assert.deepEqual(await order(), [
      [1, 'secure.example.com'],
      [2, '*.example.com'],
      [3, 'example.org'],
    ]);
    const updated = await api(`/api/v1/routes/${b.id as string}`, 'PATCH', { action: 'relay', description: 'subsidiaries' });
    assert.deepEqual([(updated.body as Json).action, (updated.body as Json).description, (updated.body as Json).position], ['relay', 'subsidiaries', 2]);
    // Removing the secure route takes secure.example.com out of secure: confirmed (test/route-confirmation.test.ts).
    const removed = await api(`/api/v1/routes/${(a.body as Json).id as string}?confirm=true`, 'DELETE');
    assert.equal(removed.status, 200);
    assert.deepEqual(await order(), [
      [1, '*.example.com'],
      [2, 'example.org'],
    ]);
    for (const r of [b, c]) assert.equal((await api(`/api/v1/routes/${r.id as string}`, 'DELETE')).status, 200);
  });

  test('refusals name the field: a bad match, a duplicate, a position past the end, an unknown id', async () => {
    const bad = await api('/api/v1/routes', 'POST', { match: 'a.*.example.com', action: 'reject' });
    assert.equal(bad.status, 422);
    assert.deepEqual((bad.body as Json).errors, [
      { field: 'match', problem: '"a.*.example.com" is not a domain (secure.example.com) or a subdomain wildcard (*.example.com)' },
    ]);
    const badAction = await api('/api/v1/routes', 'POST', { match: 'example.org', action: 'encrypt' });
    assert.equal(badAction.status, 400);
    assert.equal(((badAction.body as Json).errors as Json[])[0]?.field, 'action');

    const first = (await api('/api/v1/routes', 'POST', { match: 'dup.example.com', action: 'relay' })).body as Json;
    const duplicate = await api('/api/v1/routes', 'POST', { match: 'DUP.example.com', action: 'reject' });
    assert.equal(duplicate.status, 409);
    assert.equal((duplicate.body as Json).detail, `route ${first.id as string} (position 1) already matches dup.example.com; update it instead`);
    const far = await api('/api/v1/routes', 'POST', { match: 'far.example.com', action: 'relay', position: 3 });
    assert.equal(far.status, 422);
    assert.deepEqual((far.body as Json).errors, [{ field: 'position', problem: 'position must be a whole number from 1 to 2' }]);
    const unknown = await api('/api/v1/routes/rte_nope', 'PATCH', { action: 'relay' });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Json).detail, 'no route rte_nope; see "relaygate route list"');
    await api(`/api/v1/routes/${first.id as string}`, 'DELETE');
  });

  test('the default action, and test?sender= names the rule that applies or the default', async () => {
    const r = (await api('/api/v1/routes', 'POST', { match: '*.example.com', action: 'secure' })).body as Json;
    assert.deepEqual((await api('/api/v1/routes/default')).body, { action: 'relay' });
    assert.deepEqual((await api('/api/v1/routes/default', 'PUT', { action: 'reject' })).body, { action: 'reject' });

    const byRule = (await api('/api/v1/routes/test?sender=support%40secure.example.com')).body as Json;
    assert.deepEqual(
      { ...byRule, rule: { ...(byRule.rule as Json), createdAt: undefined } },
      {
        sender: 'support@secure.example.com',
        domain: 'secure.example.com',
        action: 'secure',
        source: 'rule',
        rule: { id: r.id, position: 1, match: '*.example.com', action: 'secure', description: '', createdAt: undefined },
      },
    );
    assert.deepEqual((await api('/api/v1/routes/test?sender=support%40example.com')).body, {
      sender: 'support@example.com',
      domain: 'example.com',
      action: 'reject',
      source: 'default',
      rule: null,
    });
    assert.deepEqual(((await api('/api/v1/routes/test?sender=%3C%3E')).body as Json).source, 'default');
    assert.equal((await api('/api/v1/routes/test')).status, 400);

    await api('/api/v1/routes/default', 'PUT', { action: 'relay' });
    await api(`/api/v1/routes/${r.id as string}?confirm=true`, 'DELETE');
  });

  test('every change is in the audit log, with who made it', async () => {
    const r = (await api('/api/v1/routes', 'POST', { match: 'audit.example.com', action: 'reject' })).body as Json;
    await api(`/api/v1/routes/${r.id as string}`, 'PATCH', { action: 'relay' });
    await api('/api/v1/routes/default', 'PUT', { action: 'relay' });
    await api(`/api/v1/routes/${r.id as string}`, 'DELETE');
    const audit = (await api(`/api/v1/audit?targetId=${r.id as string}`)).body as { items: Json[] };
    assert.deepEqual(
      audit.items.map((a) => a.action),
      ['route.remove', 'route.update', 'route.add'],
    );
    assert.deepEqual(audit.items[2]?.detail, { match: 'audit.example.com', action: 'reject', position: 1, description: '' });
    assert.match(audit.items[0]?.actor as string, /^token:tok_\w+ \(routes\)$/);
    const defaults = (await api('/api/v1/audit?action=route.default&limit=1')).body as { items: Json[] };
    assert.equal(defaults.items[0]?.targetId, DEFAULT_ORGANISATION_ID);
    assert.equal(((await api('/api/v1/audit/verify')).body as Json).ok, true);
  });

  test('CLI: route add, list, test SENDER and default, beside the running gateway', async () => {
    const env = gatewayEnv(gw.dataDir);
    const cli = (...args: string[]) => runCli(args, env);
    const added = await cli('route', 'add', '*.example.com', 'reject', '--description', 'cli', '--json');
    assert.equal(added.code, 0, added.stderr);
    const created = JSON.parse(added.stdout) as Json;
    assert.equal(created.match, '*.example.com');

    const tested = await cli('route', 'test', 'support@eu.example.com');
    assert.equal(tested.code, 0, tested.stderr);
    assert.equal(tested.stdout, `support@eu.example.com → reject (route ${created.id as string} (*.example.com), position 1)\n`);
    const byDefault = await cli('route', 'test', 'support@example.com', '--json');
    assert.deepEqual(JSON.parse(byDefault.stdout), { sender: 'support@example.com', domain: 'example.com', action: 'relay', source: 'default', rule: null });

    const table = await cli('route', 'list');
    assert.match(table.stdout, /^POSITION\s+ID\s+MATCH\s+ACTION\s+DESCRIPTION\n1\s+rte_\w+\s+\*\.example\.com\s+reject\s+cli\ndefault: relay/);
    const wrong = await cli('route', 'add', 'example.com', 'encrypt');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, 'relaygate: action must be secure, relay or reject, not "encrypt"\n');
    const removed = await cli('route', 'remove', created.id as string);
    assert.equal(removed.code, 0, removed.stderr);
    const help = await cli('route', 'add', '--help');
    assert.match(help.stdout, /\*\.example\.com matches a\.example\.com and a\.b\.example\.com, but not example\.com itself/);
  });
});

describe('routes enforced at MAIL FROM', () => {
  let gw: TestGateway;
  let token: string;
  let credential: { username: string; secret: string };
  const dialogs: SmtpDialog[] = [];
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token, ...(body === undefined ? {} : { body }) });

  before(async () => {
    gw = await startTestGateway({ 'queue.retryInitial': '1h', 'queue.retryMax': '1h' });
    token = await gw.createApiToken('routes-smtp');
    credential = await gw.createCredential('routes');
    // Sender authorization wants verified sender domains; the harness verifies example.com only.
    await insertVerifiedDomains(gw, ['secure.example.com', 'blocked.example.com']);
  });
  afterEach(async () => {
    for (const d of dialogs.splice(0)) d.close();
    const listed = (await api('/api/v1/routes')).body as { items: Json[] };
    for (const r of listed.items) await api(`/api/v1/routes/${r.id as string}?confirm=true`, 'DELETE');
    await api('/api/v1/routes/default?confirm=true', 'PUT', { action: 'relay' });
  });
  after(() => gw.stop());

  async function mailFrom(sender: string): Promise<string> {
    const { dialog } = await openDialog(gw.gateway.ports.smtp);
    dialogs.push(dialog);
    await dialog.ehlo();
    await dialog.startTls();
    await dialog.ehlo();
    assert.equal(await dialog.authPlain(credential.username, credential.secret), '235 2.7.0 Authentication successful');
    return dialog.send(`MAIL FROM:<${sender}>`);
  }

  test('a reject route refuses at MAIL FROM with 550 5.7.1 naming the rule; a relay route and the apex pass', async () => {
    const r = (await api('/api/v1/routes', 'POST', { match: '*.example.com', action: 'reject' })).body as Json;
    assert.equal(await mailFrom('support@blocked.example.com'), `550 5.7.1 Sender domain refused by route ${r.id as string} (*.example.com)`);
    // The wildcard does not cover example.com itself: the default (relay) applies.
    assert.equal(await mailFrom('support@example.com'), '250 2.1.0 Accepted');
    // An earlier relay rule wins over the wildcard.
    await api('/api/v1/routes', 'POST', { match: 'blocked.example.com', action: 'relay', position: 1 });
    assert.equal(await mailFrom('support@blocked.example.com'), '250 2.1.0 Accepted');
  });

  test('a secure route accepts the sender: its message becomes a secure message (test/secure-messages.test.ts)', async () => {
    await api('/api/v1/routes', 'POST', { match: 'secure.example.com', action: 'secure' });
    assert.equal(await mailFrom('support@secure.example.com'), '250 2.1.0 Accepted');
  });

  test('the default action applies to senders no rule matches, and a change takes effect at the next MAIL FROM', async () => {
    await api('/api/v1/routes', 'POST', { match: 'secure.example.com', action: 'relay' });
    await api('/api/v1/routes/default', 'PUT', { action: 'reject' });
    assert.equal(await mailFrom('support@example.com'), '550 5.7.1 Sender domain refused by the default route');
    assert.equal(await mailFrom('support@secure.example.com'), '250 2.1.0 Accepted');
    await api('/api/v1/routes/default', 'PUT', { action: 'relay' });
    assert.equal(await mailFrom('support@example.com'), '250 2.1.0 Accepted');
  });
});

/** Claims and verifies extra sender domains directly in the store: the domain service is not what these tests are about. */
async function insertVerifiedDomains(gw: TestGateway, names: string[]): Promise<void> {
  const store = await openStore(gw.config);
  try {
    for (const name of names) await insertDomain(store.db, name);
  } finally {
    await store.close();
  }
}
