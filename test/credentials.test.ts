/**
 * SMTP credentials (issue 3): the admin API, the CLI beside a running gateway, and the
 * effect of each option on the wire (real sockets, TLS, whole replies). Each test proves
 * one rule; the comment above it says which.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, afterEach, before, describe, test } from 'node:test';
import { networkContains, parseNetwork } from '../src/directory/cidr.js';
import { parsePointInTime } from '../src/directory/point-in-time.js';
import { MessageRate } from '../src/store/message-rate/index.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { openDialog, type SmtpDialog } from './support/smtp-dialog.js';
import { waitFor } from './support/wait-for.js';

type Json = Record<string, unknown>;
type Login = { username: string; secret: string };

interface CredentialJson {
  id: string;
  kind: string;
  description: string;
  username: string;
  organisationId: string;
  domainId: string | null;
  domain: string | null;
  allowedSenders: string[] | null;
  allowedNetworks: string[] | null;
  expiresAt: string | null;
  maxMessagesPerHour: number | null;
  state: string;
  retireAt: string | null;
  retirementSetAt: string | null;
  usedSinceRotationAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
}

const SLOW_OK = { timeout: 120_000 };
const REPLY = {
  authOk: '235 2.7.0 Authentication successful',
  authFailed: '535 5.7.8 Authentication credentials invalid',
  mailOk: '250 2.1.0 Accepted',
  rateLimited: (perHour: number) => `450 4.7.1 Message rate limit of ${perHour} per hour reached for this credential, try again later`,
} as const;

const dialogs = new Set<SmtpDialog>();

/** AUTH PLAIN after STARTTLS; returns the reply and the session. */
async function auth(tg: TestGateway, login: Login): Promise<{ reply: string; dialog: SmtpDialog }> {
  const { dialog } = await openDialog(tg.gateway.ports.smtp);
  dialogs.add(dialog);
  await dialog.ehlo('app.example.com');
  await dialog.startTls();
  await dialog.ehlo('app.example.com');
  return { reply: await dialog.authPlain(login.username, login.secret), dialog };
}

describe('SMTP credentials', () => {
  let gw: TestGateway;
  let token: string;
  let env: NodeJS.ProcessEnv;
  const api = async <T = Json>(path: string, init: { method?: string; body?: unknown } = {}) => {
    const response = await gw.api(path, { ...init, token });
    return { ...response, body: response.body as T };
  };
  const create = async (body: Json) => {
    const response = await api<{ credential: CredentialJson; secret: string }>('/api/v1/credentials', { method: 'POST', body });
    assert.equal(response.status, 201, response.text);
    return { ...response.body.credential, secret: response.body.secret };
  };
  const cliJson = async <T>(...args: string[]): Promise<T> => {
    const result = await runCli([...args, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };

  before(async () => {
    // Refused AUTHs are what several tests provoke; none of them is about throttling.
    gw = await startTestGateway({ 'smtp.authFailuresPerIp': 1000, 'smtp.authFailuresPerUser': 1000, shutdownTimeout: '2s' });
    token = await gw.createApiToken('credentials suite');
    env = gatewayEnv(gw.dataDir);
  });
  after(async () => {
    await gw?.stop();
  });
  afterEach(() => {
    for (const dialog of dialogs) dialog.close();
    dialogs.clear();
  });

  // The secret is in the creation response only; the credential carries its scope and
  // options normalised; lists are paginated and never hold a secret; the audit log names
  // the API token that made it.
  test('API: create shows the secret once; get and the paginated list never; the audit log names the actor', SLOW_OK, async () => {
    const made = await create({
      description: 'Salesforce',
      allowedSenders: ['Support@Example.com', '@example.test'],
      allowedNetworks: ['127.0.0.1', '2001:DB8::/32'],
      maxMessagesPerHour: 500,
      expiresAt: '2099-01-01T00:00:00Z',
    });
    assert.match(made.id, /^cred_[0-9a-z]+$/);
    assert.match(made.username, /^sub_[0-9a-z]+$/);
    assert.equal(Buffer.from(made.secret, 'base64url').length, 32, '256 bits of secret');
    const shown = await api<CredentialJson>(`/api/v1/credentials/${made.id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, {
      id: made.id,
      kind: 'submission',
      description: 'Salesforce',
      username: made.username,
      organisationId: 'org_default',
      domainId: null,
      domain: null,
      allowedSenders: ['support@example.com', '@example.test'],
      tlsClientName: null,
      allowedNetworks: ['127.0.0.1/32', '2001:db8::/32'],
      expiresAt: '2099-01-01T00:00:00.000Z',
      maxMessagesPerHour: 500,
      state: 'active',
      retireAt: null,
      retirementSetAt: null,
      usedSinceRotationAt: null,
      createdAt: shown.body.createdAt,
      lastUsedAt: null,
      lastUsedIp: null,
      revokedAt: null,
    });
    await create({ description: 'second' });
    const all = await api<{ items: CredentialJson[]; total: number }>('/api/v1/credentials?limit=500');
    const index = all.body.items.findIndex((c) => c.id === made.id);
    const page = await api<{ items: CredentialJson[]; total: number; limit: number; offset: number }>(`/api/v1/credentials?limit=1&offset=${index}`);
    assert.deepEqual({ ...page.body, items: page.body.items.map((c) => c.id) }, { items: [made.id], total: all.body.total, limit: 1, offset: index });
    assert.doesNotMatch(all.text, new RegExp(made.secret));
    const audit = await api<{ items: Json[] }>(`/api/v1/audit?action=credential.create&limit=500`);
    const record = audit.body.items.find((r) => r.targetId === made.id);
    assert.ok(record, 'the creation is in the audit log');
    assert.match(String(record.actor), /^token:tok_[0-9a-z]+ \(credentials suite\)$/);
    assert.equal((record.detail as Json).username, made.username);
    assert.doesNotMatch(JSON.stringify(audit.body), new RegExp(made.secret));
  });

  // Refusals are RFC 9457 problems naming the field at fault, in the API's spelling.
  test('API: invalid options are problem+json naming the field', SLOW_OK, async () => {
    const problem = async (body: Json) => {
      const response = await api('/api/v1/credentials', { method: 'POST', body });
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      return { status: response.status, body: response.body };
    };
    assert.deepEqual(await problem({ description: 'x', allowedNetworks: ['127.0.0.1/32', '10.1.2.3/8'] }), {
      status: 422,
      body: {
        type: 'about:blank',
        title: 'Invalid value',
        status: 422,
        detail: '"10.1.2.3/8" has host bits set under /8; did you mean 10.0.0.0/8?',
        errors: [{ field: 'allowedNetworks.1', problem: '"10.1.2.3/8" has host bits set under /8; did you mean 10.0.0.0/8?' }],
      },
    });
    const fieldOf = async (body: Json) => ((await problem(body)).body.errors as { field: string }[] | undefined)?.map((e) => e.field);
    assert.deepEqual(await fieldOf({ description: 'x', allowedSenders: ['ok@example.com', 'not an address'] }), ['allowedSenders.1']);
    assert.deepEqual(await fieldOf({ description: 'x', allowedSenders: [] }), ['allowedSenders']);
    assert.deepEqual(await fieldOf({ description: 'x', allowedNetworks: ['fe80::/129'] }), ['allowedNetworks.0']);
    assert.deepEqual(await fieldOf({ description: 'x', domain: 'example.com' }), ['domain']);
    assert.deepEqual(await fieldOf({ description: 'x', organisationId: 'org_nope' }), ['organisationId']);
    assert.deepEqual(await fieldOf({ description: 'x', expiresAt: '2020-01-01T00:00:00Z' }), ['expiresAt']);
    assert.deepEqual(await fieldOf({ description: 'x', expiresAt: '2099-01-01T00:00:00Z', expiresIn: '1d' }), ['expiresIn']);
    assert.deepEqual(await fieldOf({ kind: 'inbound', description: 'x', domain: 'unclaimed.example' }), ['domain']);
    assert.deepEqual(await fieldOf({ kind: 'inbound', description: 'x', domain: 'example.com', allowedSenders: ['@example.com'] }), ['allowedSenders']);
    assert.deepEqual(await fieldOf({ description: 'x', maxMessagesPerHour: 0 }), ['maxMessagesPerHour']);
    assert.deepEqual(await fieldOf({ description: 'x', expiresAt: 'tomorrow' }), ['expiresAt']);
    const missing = await api('/api/v1/credentials/cred_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detail, 'no credential cred_nope');
  });

  // AUTH is accepted only from the allowed networks (IPv4 and IPv6 CIDRs in one list);
  // from elsewhere the client hears the usual 535 5.7.8 and the log says why.
  test('allowed networks: AUTH from 127.0.0.1/32 succeeds, from outside 10.0.0.0/8 fails 535 5.7.8 with the reason logged', SLOW_OK, async () => {
    const inside = await create({ description: 'loopback only', allowedNetworks: ['2001:db8::/32', '127.0.0.1/32'] });
    assert.equal((await auth(gw, inside)).reply, REPLY.authOk);
    const outside = await create({ description: 'private network only', allowedNetworks: ['10.0.0.0/8', '2001:db8::/32'] });
    const refused = await auth(gw, outside);
    assert.equal(refused.reply, REPLY.authFailed);
    assert.equal(await refused.dialog.send('MAIL FROM:<app@example.com>'), '530 5.7.0 Authentication required');
    const logged = await waitFor(() => gw.logs.find((line) => line.includes('"auth failed"') && line.includes(outside.username)));
    assert.equal((JSON.parse(logged) as Json).reason, 'network-not-allowed');
    assert.equal((JSON.parse(logged) as Json).detail, 'client 127.0.0.1 is not in the allowed networks 10.0.0.0/8, 2001:db8::/32');
  });

  // An expired credential is refused like a revoked one, and says so in the log and the API.
  test('expiry: a credential works until its expiry time, then AUTH fails 535 5.7.8', SLOW_OK, async () => {
    const soon = await create({ description: 'expires soon', expiresIn: '2s' });
    assert.equal((await auth(gw, soon)).reply, REPLY.authOk);
    await waitFor(async () => (await api<CredentialJson>(`/api/v1/credentials/${soon.id}`)).body.state === 'expired', { what: 'the expiry' });
    assert.equal((await auth(gw, soon)).reply, REPLY.authFailed);
    const logged = await waitFor(() => gw.logs.find((line) => line.includes('"auth failed"') && line.includes(soon.username)));
    assert.equal((JSON.parse(logged) as Json).reason, 'expired');
  });

  // Over its hourly rate a credential gets a temporary refusal at MAIL FROM (the client
  // keeps the message and retries); other credentials are not affected.
  test('rate: over --max-per-hour, MAIL FROM gets 450 4.7.1; another credential is not affected', SLOW_OK, async () => {
    const limited = await create({ description: 'two an hour', maxMessagesPerHour: 2 });
    const { dialog } = await auth(gw, limited);
    for (let i = 0; i < 2; i++) {
      assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
      assert.equal(await dialog.send('RSET'), '250 2.0.0 Flushed');
    }
    assert.equal(await dialog.send('MAIL FROM:<app@example.com>'), REPLY.rateLimited(2));
    const again = await auth(gw, limited);
    assert.equal(await again.dialog.send('MAIL FROM:<app@example.com>'), REPLY.rateLimited(2), 'the count is per credential, not per session');
    // A refused sender does not use up the allowance.
    const other = await create({ description: 'one an hour', maxMessagesPerHour: 1 });
    const second = await auth(gw, other);
    assert.match(await second.dialog.send('MAIL FROM:<app@foreign.example>'), /^550 5\.7\.1 /);
    assert.equal(await second.dialog.send('MAIL FROM:<app@example.com>'), REPLY.mailOk);
  });

  // Rotation: the old credential keeps working until its retire-at time, a use after the
  // rotation began is visible in the API and the CLI, and after retirement AUTH fails.
  test('retire: works until retire-at, use since rotation is shown in API, list and show, then AUTH fails', SLOW_OK, async () => {
    const old = await create({ description: 'rotated out' });
    assert.equal((await auth(gw, old)).reply, REPLY.authOk);
    const retireAt = new Date(Date.now() + 3_600_000).toISOString();
    const retiring = await api<CredentialJson>(`/api/v1/credentials/${old.id}/retire`, { method: 'POST', body: { retireAt } });
    assert.equal(retiring.status, 200, retiring.text);
    assert.equal(retiring.body.state, 'retiring');
    assert.equal(retiring.body.retireAt, retireAt);
    assert.equal(retiring.body.usedSinceRotationAt, null, 'the use before the rotation does not count');

    assert.equal((await auth(gw, old)).reply, REPLY.authOk, 'still works until retire-at');
    const used = await waitFor(async () => {
      const body = (await api<CredentialJson>(`/api/v1/credentials/${old.id}`)).body;
      return body.usedSinceRotationAt ? body : undefined;
    });
    const at = (iso: string | null) => (iso ?? '').replace(/\.\d{3}Z$/, 'Z');
    const state = `retiring at ${at(used.retireAt)}, used since rotation: ${at(used.usedSinceRotationAt)}`;
    const table = await runCli(['credential', 'list'], env);
    assert.match(table.stdout, new RegExp(`^${old.id}\\s+submission\\s+rotated out\\s+${old.username}\\s+\\S+\\s+\\S+\\s+127\\.0\\.0\\.1\\s+${state}$`, 'm'));
    const shown = await runCli(['credential', 'show', old.id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      new RegExp(`^Credential ${old.id} \\(rotated out\\)\\n  kind: +submission\\n  username: +${old.username}\\n  state: +${state}\\n`),
    );

    const retired = await cliJson<CredentialJson>('credential', 'retire', old.id, '--at', 'now');
    assert.equal(retired.state, 'retired');
    assert.equal(retired.retirementSetAt, at(used.retirementSetAt), 'the rotation began when retirement was first set');
    assert.equal((await auth(gw, old)).reply, REPLY.authFailed);
    const logged = await waitFor(() => gw.logs.find((line) => line.includes('"auth failed"') && line.includes(old.username)));
    assert.equal((JSON.parse(logged) as Json).reason, 'retired');
    const again = await api(`/api/v1/credentials/${old.id}/retire`, { method: 'POST', body: { retireAt } });
    assert.equal(again.status, 409);
    assert.equal(again.body.detail, `credential ${old.id} is already retired; nothing is left to retire`);
  });

  // At most two live inbound credentials per domain: enough to rotate without a gap (create
  // the second, switch the mail server, revoke the first), so a third is refused. A retiring
  // credential still counts; a revoked or retired one does not.
  test('inbound: at most two live per domain; a third is refused (API 409, CLI one line) until one is revoked or retired', SLOW_OK, async () => {
    const first = await create({ kind: 'inbound', domain: 'example.test', description: 'Exchange 2025' });
    assert.equal(first.domain, 'example.test');
    assert.match(first.username, /^in_[0-9a-z]+$/);
    const second = await create({ kind: 'inbound', domain: 'EXAMPLE.TEST.', description: 'Exchange 2026' });
    const third = await api('/api/v1/credentials', { method: 'POST', body: { kind: 'inbound', domain: 'example.test', description: 'one too many' } });
    const detail = `domain example.test already has 2 live inbound credentials (${first.id}, ${second.id}), the most a rotation needs; revoke or retire one of them first`;
    assert.deepEqual(
      { status: third.status, body: third.body },
      {
        status: 409,
        body: { type: 'about:blank', title: 'Limit reached', status: 409, detail, errors: [{ field: 'domain', problem: detail }] },
      },
    );
    const cli = await runCli(['credential', 'create', '--kind', 'inbound', '--domain', 'example.test', '--description', 'one too many'], env);
    assert.equal(cli.code, 1);
    assert.equal(cli.stderr, `relaygate: --domain: ${detail}\n`);

    const retiring = await api(`/api/v1/credentials/${first.id}/retire`, { method: 'POST', body: { retireAt: '2099-01-01T00:00:00Z' } });
    assert.equal(retiring.status, 200);
    assert.equal((await api('/api/v1/credentials', { method: 'POST', body: { kind: 'inbound', domain: 'example.test', description: 'x' } })).status, 409);
    assert.equal((await api(`/api/v1/credentials/${first.id}/revoke`, { method: 'POST' })).status, 200);
    const replacement = await create({ kind: 'inbound', domain: 'example.test', description: 'Exchange 2027' });
    assert.equal(replacement.state, 'active');
    const listed = await api<{ items: CredentialJson[] }>('/api/v1/credentials?kind=inbound&limit=500');
    assert.ok(listed.body.items.every((c) => c.kind === 'inbound'));
    assert.deepEqual(
      listed.body.items.filter((c) => c.domain === 'example.test').map((c) => [c.id, c.state]),
      [
        [first.id, 'revoked'],
        [second.id, 'active'],
        [replacement.id, 'active'],
      ],
    );
  });

  // Revocation is immediate, recorded once with its actor, and idempotent.
  test('revoke: the next AUTH fails 535 5.7.8; a second revoke changes nothing; both recorded once in the audit log', SLOW_OK, async () => {
    const doomed = await create({ description: 'to revoke' });
    assert.equal((await auth(gw, doomed)).reply, REPLY.authOk);
    const revoked = await api<CredentialJson>(`/api/v1/credentials/${doomed.id}/revoke`, { method: 'POST' });
    assert.equal(revoked.body.state, 'revoked');
    assert.equal((await auth(gw, doomed)).reply, REPLY.authFailed);
    const twice = await api<CredentialJson>(`/api/v1/credentials/${doomed.id}/revoke`, { method: 'POST' });
    assert.equal(twice.body.revokedAt, revoked.body.revokedAt);
    const audit = await api<{ items: Json[] }>(`/api/v1/audit?targetId=${doomed.id}`);
    assert.deepEqual(
      audit.body.items.map((r) => r.action),
      ['credential.revoke', 'credential.create'],
    );
    assert.equal((await api(`/api/v1/credentials/cred_nope/revoke`, { method: 'POST' })).status, 404);
  });

  // The CLI takes every option, prints JSON for scripts and one line per refusal, names the
  // operator in the audit log, and its help shows examples.
  test('CLI: create with every option, show, refusals naming the option, help examples', SLOW_OK, async () => {
    const made = await cliJson<CredentialJson & { secret: string }>(
      'credential',
      'create',
      '--description',
      'Helpdesk',
      '--allow-sender',
      'support@example.com,@example.test',
      '--allow-network',
      '127.0.0.1/32',
      '--allow-network',
      '::1',
      '--expires',
      '90d',
      '--max-per-hour',
      '100',
    );
    assert.deepEqual(made.allowedSenders, ['support@example.com', '@example.test']);
    assert.deepEqual(made.allowedNetworks, ['127.0.0.1/32', '::1/128']);
    assert.equal(made.maxMessagesPerHour, 100);
    const ninetyDays = Date.parse(made.expiresAt ?? '') - Date.now();
    assert.ok(Math.abs(ninetyDays - 90 * 86_400_000) < 60_000, `expires in 90 days, not ${ninetyDays} ms`);
    assert.equal((await auth(gw, made)).reply, REPLY.authOk);

    const shown = await runCli(['credential', 'show', made.id], env);
    assert.equal(
      shown.stdout,
      [
        `Credential ${made.id} (Helpdesk)`,
        '  kind:             submission',
        `  username:         ${made.username}`,
        `  state:            active until ${made.expiresAt}`,
        '  organisation:     org_default',
        '  allowed senders:  support@example.com, @example.test',
        '  allowed networks: 127.0.0.1/32, ::1/128',
        `  expires:          ${made.expiresAt}`,
        '  max per hour:     100',
        `  created:          ${shown.stdout.match(/created: +(\S+)/)?.[1]}`,
        `  last used:        ${shown.stdout.match(/last used: +(.+)/)?.[1]}`,
        '',
      ].join('\n'),
    );

    const dated = await cliJson<CredentialJson>('credential', 'create', '--description', 'dated', '--expires', '2099-01-01T00:00:00Z');
    assert.equal(dated.expiresAt, '2099-01-01T00:00:00Z');
    const refusals: [string[], string][] = [
      [['--allow-network', '10.1.2.3/8'], 'relaygate: --allow-network: "10.1.2.3/8" has host bits set under /8; did you mean 10.0.0.0/8?\n'],
      [
        ['--expires', 'someday'],
        'relaygate: --expires "someday" is not an RFC 3339 time with its offset (2027-01-01T00:00:00Z) or a duration from now (90d, 12h, 30m)\n',
      ],
      [['--max-per-hour', '0'], 'relaygate: --max-per-hour must be a whole number of at least 1, not "0"\n'],
    ];
    for (const [args, stderr] of refusals) {
      const result = await runCli(['credential', 'create', '--description', 'refused', ...args], env);
      assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 1, stderr }, args.join(' '));
    }
    const audit = await api<{ items: Json[] }>(`/api/v1/audit?targetId=${made.id}`);
    assert.equal(audit.body.items[0]?.actor, `cli:${userInfo().username}`);

    const help = await runCli(['credential', 'create', '--help'], env);
    assert.match(help.stdout, /Examples:\n {2}relaygate credential create --description Salesforce\n/);
    assert.match(help.stdout, /--allow-network <cidr>/);
    const retireHelp = await runCli(['credential', 'retire', '--help'], env);
    assert.match(retireHelp.stdout, /relaygate credential retire cred_OLD --at 7d/);
  });
});

// The pure parts, one case per row.
describe('credential option parsers', () => {
  test('networks: IPv4, IPv6, bare addresses, IPv4-mapped clients; host bits and bad prefixes refused', () => {
    const cases: [string, string, boolean | string][] = [
      ['127.0.0.1/32', '127.0.0.1', true],
      ['127.0.0.1', '127.0.0.1', true],
      ['127.0.0.0/8', '::ffff:127.0.0.9', true],
      ['10.0.0.0/8', '127.0.0.1', false],
      ['0.0.0.0/0', '192.0.2.1', true],
      ['0.0.0.0/0', '2001:db8::1', false],
      ['2001:db8::/32', '2001:db8:ffff::1', true],
      ['2001:db8::/32', '2001:db9::1', false],
      ['::1', '::1', true],
      ['::/0', '127.0.0.1', false],
      ['10.1.2.3/8', '', '"10.1.2.3/8" has host bits set under /8; did you mean 10.0.0.0/8?'],
      ['2001:db8::1/32', '', '"2001:db8::1/32" has host bits set under /32; did you mean 2001:db8::/32?'],
      ['192.0.2.0/33', '', '"192.0.2.0/33" has a prefix length outside 0-32'],
      ['example.com', '', '"example.com" is not an IPv4 or IPv6 network (e.g. 192.0.2.0/24 or 2001:db8::/32)'],
    ];
    for (const [text, client, expected] of cases) {
      const parsed = parseNetwork(text);
      if (typeof expected === 'string') assert.deepEqual(parsed, { problem: expected }, text);
      else assert.equal('network' in parsed && networkContains(parsed.network, client), expected, `${client} in ${text}`);
    }
  });

  test('points in time: RFC 3339 with an offset, or a duration from now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parsePointInTime('90d', now), Date.parse('2026-04-01T00:00:00Z'));
    assert.equal(parsePointInTime('2027-01-01T00:00:00Z', now), Date.parse('2027-01-01T00:00:00Z'));
    assert.equal(parsePointInTime('2027-01-01T02:00:00+02:00', now), Date.parse('2027-01-01T00:00:00Z'));
    assert.equal(parsePointInTime('now', now), now);
    // Without an offset it would mean the local time of whichever machine parsed it.
    assert.equal(parsePointInTime('2027-01-01T00:00:00', now), undefined);
    assert.equal(parsePointInTime('next week', now), undefined);
  });

  test('the hourly message count slides: the allowance comes back an hour after each message', () => {
    let now = Date.parse('2026-01-01T00:00:30Z');
    const rate = new MessageRate({ now: () => now });
    assert.equal(rate.admit('cred_a', 2), true);
    now += 30 * 60_000;
    assert.equal(rate.admit('cred_a', 2), true);
    assert.equal(rate.admit('cred_a', 2), false);
    assert.equal(rate.admit('cred_b', 2), true, 'per key');
    now += 30 * 60_000;
    assert.equal(rate.admit('cred_a', 2), true, 'the first message is an hour old');
    assert.equal(rate.admit('cred_a', 2), false);
  });
});
