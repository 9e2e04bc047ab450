import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { keyEncryption } from '../src/secure/key-encryption.js';
import { loadKeyEncryptionKey } from '../src/secure/master-key.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { TEST_ENGINE } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

type Json = Record<string, unknown>;
type Step = { step: string; status: string; detail: string; reply: string | null; tls?: Json };

const DOMAIN_AUTH = { user: 'test-relay', pass: 'pw-for-example-test-4b1d' };
const GLOBAL_AUTH = { user: 'global-relay', pass: 'pw-for-the-global-smarthost' };
const STARTTLS_PLAN = ['connect', 'greeting', 'ehlo', 'starttls', 'tls', 'ehlo', 'auth', 'quit'];

/** A STARTTLS (or implicit TLS) sink requiring AUTH, with a certificate from the given CA. */
async function sinkWithCa(ca: TestCa, auth: { user: string; pass: string }, tls: 'starttls' | 'implicit' = 'starttls'): Promise<SmtpSink> {
  const leaf = await makeLeafCert(ca, ['localhost']);
  return startSmtpSink({ tls, auth, cert: { cert: leaf.chain, key: leaf.key } });
}

describe('outbound connections', () => {
  let gw: TestGateway;
  let token: string;
  let domainSink: SmtpSink;
  let globalSink: SmtpSink;
  let dir: TempDir;
  let caFile: string;
  let trustedCa: TestCa;
  const cleanups: (() => Promise<void>)[] = [];
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token, ...(body === undefined ? {} : { body }) });
  const create = async (body: Json) => {
    const created = await api('/api/v1/connections', 'POST', body);
    assert.equal(created.status, 201, created.text);
    return created.body as Json;
  };
  const testConnection = async (id: string) => {
    const tested = await api(`/api/v1/connections/${id}/test`, 'POST');
    assert.equal(tested.status, 200, tested.text);
    return tested.body as { ok: boolean; steps: Step[] };
  };

  before(async () => {
    // Two smarthosts, each with a certificate from its own CA; the gateway trusts both CAs.
    trustedCa = await makeTestCa();
    const globalCa = await makeTestCa();
    domainSink = await sinkWithCa(trustedCa, DOMAIN_AUTH);
    globalSink = await sinkWithCa(globalCa, GLOBAL_AUTH);
    dir = await tempDir('relaygate-conn-');
    caFile = join(dir.path, 'cas.pem');
    await writeFile(caFile, trustedCa.caCert + globalCa.caCert);
    gw = await startTestGateway({
      smarthost: `smtp://${GLOBAL_AUTH.user}:${GLOBAL_AUTH.pass}@127.0.0.1:${globalSink.port}`,
      smarthostCaFile: caFile,
      'queue.retryInitial': '200ms',
      'queue.retryMax': '500ms',
    });
    token = await gw.createApiToken('connections');
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    await gw.stop();
    await domainSink.stop();
    await globalSink.stop();
    await dir.cleanup();
  });

  test('the secret is sealed in the database and never returned by the API', async () => {
    const created = await create({
      scopeKind: 'domain',
      scope: 'Sealed.Example.TEST',
      host: '127.0.0.1',
      port: domainSink.port,
      username: DOMAIN_AUTH.user,
      secret: 'sealed-secret-9f3a7c',
    });
    assert.deepEqual(
      { ...created, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        scopeKind: 'domain',
        scope: 'sealed.example.test',
        host: '127.0.0.1',
        port: domainSink.port,
        tlsMode: 'starttls',
        username: DOMAIN_AUTH.user,
        auth: 'password',
        oauth2: null,
        hasSecret: true,
        clientCert: null,
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    const id = created.id as string;
    for (const path of ['/api/v1/connections', `/api/v1/connections/${id}`, `/api/v1/audit?targetId=${id}`]) {
      const read = await api(path);
      assert.equal(read.status, 200);
      assert.doesNotMatch(read.text, /sealed-secret-9f3a7c/, path);
    }

    const row = (await gw.db((db) => db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow())) as Record<string, unknown>;
    assert.doesNotMatch(JSON.stringify(row), /sealed-secret-9f3a7c/);
    const sealed = row.secret_sealed as string;
    assert.match(sealed, /^v2\.[\w-]{11}\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    // Sealed under the key-encryption key in data/keys/master.key, bound to this row.
    const kek = keyEncryption(loadKeyEncryptionKey({ masterKey: undefined, dataDir: gw.dataDir }));
    assert.equal(kek.open(sealed, { purpose: 'connection-secret', id }).toString(), 'sealed-secret-9f3a7c');
    assert.throws(() => kek.open(sealed, { purpose: 'connection-secret', id: 'conn_other' }), /cannot be opened/);
    // The embedded store's files, pages and log alike; on PostgreSQL the row above is what is stored.
    for (const file of TEST_ENGINE === 'sqlite' ? ['relaygate.db', 'relaygate.db-wal'] : []) {
      assert.equal(readFileSync(join(gw.dataDir, file)).includes('sealed-secret-9f3a7c'), false, `${file} holds no plaintext secret`);
    }

    const audit = (await api(`/api/v1/audit?targetId=${id}`)).body as { items: Json[] };
    assert.deepEqual(audit.items[0]?.detail, {
      scopeKind: 'domain',
      scope: 'sealed.example.test',
      host: '127.0.0.1',
      port: domainSink.port,
      tlsMode: 'starttls',
      username: DOMAIN_AUTH.user,
      auth: 'password',
      oauth2: null,
      clientCert: null,
      secretChanged: true,
    });
    const removedAuth = await api(`/api/v1/connections/${id}`, 'PATCH', { username: null });
    assert.deepEqual([(removedAuth.body as Json).username, (removedAuth.body as Json).hasSecret], [null, false]);
    assert.equal((await api(`/api/v1/connections/${id}`, 'DELETE')).status, 200);
    assert.equal(
      gw.logs.some((line) => line.includes('sealed-secret-9f3a7c')),
      false,
      'the secret is not in the log',
    );
  });

  test('refusals name the field: credentials without TLS, a username without its secret, a taken scope, a bad scope', async () => {
    const base = { scopeKind: 'domain', scope: 'refusals.example.test', host: 'smtp.example.net' };
    const cases: [Json, number, string, string][] = [
      [
        { ...base, tlsMode: 'none', username: 'u', secret: 's' },
        422,
        'tlsMode',
        'credentials are never sent over an unencrypted connection: use tlsMode starttls or implicit',
      ],
      [{ ...base, username: 'u' }, 422, 'secret', 'a username needs its secret: give --secret-stdin (CLI) or "secret" (API)'],
      [{ ...base, scopeKind: 'address' }, 422, 'scope', '"refusals.example.test" is not an address such as support@example.com'],
      [{ ...base, host: 'not a host' }, 422, 'host', '"not a host" is not a host name or IP address'],
    ];
    for (const [body, status, field, problem] of cases) {
      const refused = await api('/api/v1/connections', 'POST', body);
      assert.equal(refused.status, status, refused.text);
      assert.deepEqual((refused.body as Json).errors, [{ field, problem }]);
    }
    const first = await create(base);
    assert.equal(first.port, 587, 'STARTTLS on the submission port by default');
    const taken = await api('/api/v1/connections', 'POST', { ...base, scope: 'REFUSALS.example.test' });
    assert.equal(taken.status, 409);
    assert.equal((taken.body as Json).detail, `connection ${first.id as string} already serves refusals.example.test; update or remove it first`);
    assert.equal((await api('/api/v1/connections/conn_nope')).status, 404);
    await api(`/api/v1/connections/${first.id as string}`, 'DELETE');
  });

  test('delivery: a domain connection takes that domain’s mail to its smarthost, an address connection wins over the global one, the rest use the global smarthost', async () => {
    const domainConnection = await create({ scopeKind: 'domain', scope: 'example.test', host: '127.0.0.1', port: domainSink.port, ...auth(DOMAIN_AUTH) });
    cleanups.push(async () => void (await api(`/api/v1/connections/${domainConnection.id as string}`, 'DELETE')));
    const addressConnection = await create({
      scopeKind: 'address',
      scope: 'billing@example.com',
      host: '127.0.0.1',
      port: domainSink.port,
      ...auth(DOMAIN_AUTH),
    });
    cleanups.push(async () => void (await api(`/api/v1/connections/${addressConnection.id as string}`, 'DELETE')));
    const credential = await gw.createCredential('connections');
    const send = (from: string, to: string) => submit(gw.gateway.ports.smtp, credential, { from, to: [to], raw: applicationMessage(`${from}-${to}`) });
    // Were the connections not yet seen (an earlier look-up is reused for a few seconds), the
    // global smarthost defers their senders and the retry takes the right way.
    globalSink.behaviour.mail = (address) => (['support@example.test', 'billing@example.com'].includes(address) ? '451 4.3.0 not this smarthost' : undefined);
    try {
      await send('support@example.test', 'customer@example.net');
      await send('support@example.com', 'other@example.net');
      await send('billing@example.com', 'invoice@example.net');
      await waitFor(() => domainSink.messages.length + globalSink.messages.length >= 3, { what: 'three deliveries' });
    } finally {
      delete globalSink.behaviour.mail;
    }
    const where = (sink: SmtpSink) => sink.messages.map((m) => [m.mailFrom, m.rcptTo[0], m.authUser, m.secure]);
    assert.deepEqual(where(domainSink).sort(), [
      ['billing@example.com', 'invoice@example.net', DOMAIN_AUTH.user, true],
      ['support@example.test', 'customer@example.net', DOMAIN_AUTH.user, true],
    ]);
    assert.deepEqual(where(globalSink), [['support@example.com', 'other@example.net', GLOBAL_AUTH.user, true]]);
  });

  test('a DSN (null sender) goes back through the connection of the domain it is addressed to', async () => {
    const countBefore = domainSink.messages.length;
    const globalBefore = globalSink.messages.length;
    domainSink.behaviour.rcpt = (address) => (address === 'gone@example.net' ? '550 5.1.1 <gone@example.net>: user unknown' : undefined);
    try {
      const credential = await gw.createCredential('dsn');
      await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.test', to: ['gone@example.net'], raw: applicationMessage('dsn-route') });
      const dsn = await waitFor(() => domainSink.messages.slice(countBefore).find((m) => m.mailFrom === ''), { what: 'the DSN at the domain smarthost' });
      assert.deepEqual(dsn.rcptTo, ['support@example.test']);
      assert.equal(dsn.authUser, DOMAIN_AUTH.user);
      assert.equal(globalSink.messages.length, globalBefore, 'nothing went through the global smarthost');
    } finally {
      delete domainSink.behaviour.rcpt;
    }
  });

  test('a changed connection is used within seconds: its pool is rebuilt', async () => {
    const moved = await sinkWithCa(trustedCa, { user: 'moved-relay', pass: 'moved-pass' });
    cleanups.push(() => moved.stop());
    await insertVerifiedDomain(gw, 'moving.example.test');
    const connection = await create({ scopeKind: 'domain', scope: 'moving.example.test', host: '127.0.0.1', port: domainSink.port, ...auth(DOMAIN_AUTH) });
    const credential = await gw.createCredential('moving');
    const send = (to: string) => submit(gw.gateway.ports.smtp, credential, { from: 'a@moving.example.test', to: [to], raw: applicationMessage(to) });
    // A smarthost that is no longer (or not yet) this sender's defers it: a stale choice is
    // retried until the router sees the change, never delivered the wrong way.
    const notHere = (address: string) => (address === 'a@moving.example.test' ? '451 4.3.0 not this smarthost' : undefined);
    globalSink.behaviour.mail = notHere;
    try {
      await send('first@example.net');
      await waitFor(() => domainSink.messages.find((m) => m.rcptTo[0] === 'first@example.net'), { what: 'delivery through the connection' });
      const patched = await api(`/api/v1/connections/${connection.id as string}`, 'PATCH', { port: moved.port, username: 'moved-relay', secret: 'moved-pass' });
      assert.equal(patched.status, 200, patched.text);
      domainSink.behaviour.mail = notHere;
      await send('second@example.net');
      const [arrived] = await moved.waitForMessages(1);
      assert.deepEqual([arrived?.rcptTo, arrived?.authUser], [['second@example.net'], 'moved-relay']);
    } finally {
      delete domainSink.behaviour.mail;
      delete globalSink.behaviour.mail;
      await api(`/api/v1/connections/${connection.id as string}`, 'DELETE');
    }
  });

  test('test connection reports each step against a STARTTLS + AUTH smarthost, with the replies', async () => {
    const connection = await create({ scopeKind: 'domain', scope: 'probe.example.test', host: '127.0.0.1', port: domainSink.port, ...auth(DOMAIN_AUTH) });
    const report = await testConnection(connection.id as string);
    assert.equal(report.ok, true, JSON.stringify(report.steps, null, 2));
    assert.deepEqual(
      report.steps.map((s) => [s.step, s.status]),
      STARTTLS_PLAN.map((step) => [step, 'pass']),
    );
    const step = (name: string, nth = 0) => report.steps.filter((s) => s.step === name)[nth];
    assert.match(step('greeting')?.reply ?? '', /^220 sink\.localhost ESMTP/);
    assert.match(step('ehlo')?.reply ?? '', /^250-sink\.localhost[\s\S]*STARTTLS/);
    assert.match(step('starttls')?.reply ?? '', /^220 /);
    assert.match(step('ehlo', 1)?.reply ?? '', /AUTH PLAIN LOGIN/);
    assert.match(step('auth')?.reply ?? '', /^235 /);
    assert.match(step('quit')?.reply ?? '', /^221 /);
    const tls = step('tls')?.tls ?? {};
    assert.deepEqual([tls.verified, tls.verifyError, tls.subject], [true, null, 'localhost']);
    assert.match(String(tls.protocol), /^TLSv1\.[23]$/);
    assert.ok(tls.cipher);
    assert.match(step('tls')?.detail ?? '', /^TLSv1\.[23] \S+; certificate CN=localhost issued by CN=Relaygate Test CA \w+, valid to \S+: verified$/);
    assert.equal(domainSink.messages.filter((m) => m.rcptTo.length === 0).length, 0);
    const audit = (await api(`/api/v1/audit?targetId=${connection.id as string}&action=connection.test`)).body as { items: Json[] };
    assert.deepEqual(audit.items[0]?.detail, { ok: true, failed: null });
    await api(`/api/v1/connections/${connection.id as string}`, 'DELETE');
  });

  test('test connection names the failing step: a wrong password fails AUTH, an untrusted CA fails TLS (and no credentials are sent), a closed port fails connect', async () => {
    const wrong = await create({
      scopeKind: 'domain',
      scope: 'wrong.example.test',
      host: '127.0.0.1',
      port: domainSink.port,
      username: DOMAIN_AUTH.user,
      secret: 'wrong',
    });
    const badPassword = await testConnection(wrong.id as string);
    assert.equal(badPassword.ok, false);
    assert.deepEqual(statuses(badPassword), [...STARTTLS_PLAN.slice(0, 6).map((s) => [s, 'pass']), ['auth', 'fail'], ['quit', 'pass']]);
    assert.equal(badPassword.steps[6]?.reply, '535 5.7.8 authentication credentials invalid');

    const untrustedSink = await sinkWithCa(await makeTestCa(), DOMAIN_AUTH);
    cleanups.push(() => untrustedSink.stop());
    const untrusted = await create({ scopeKind: 'domain', scope: 'untrusted.example.test', host: '127.0.0.1', port: untrustedSink.port, ...auth(DOMAIN_AUTH) });
    const tls = await testConnection(untrusted.id as string);
    assert.equal(tls.ok, false);
    const tlsStep = tls.steps.find((s) => s.step === 'tls');
    assert.equal(tlsStep?.status, 'fail');
    assert.equal(tlsStep?.tls?.verified, false);
    assert.match(String(tlsStep?.tls?.verifyError), /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
    assert.match(tlsStep?.detail ?? '', /NOT trusted/);
    assert.deepEqual(tls.steps.find((s) => s.step === 'auth')?.status, 'skip');

    const closed = await create({ scopeKind: 'domain', scope: 'closed.example.test', host: '127.0.0.1', port: 1, tlsMode: 'implicit' });
    const refused = await testConnection(closed.id as string);
    assert.deepEqual(statuses(refused), [
      ['connect', 'fail'],
      ['tls', 'skip'],
      ['greeting', 'skip'],
      ['ehlo', 'skip'],
      ['auth', 'skip'],
      ['quit', 'skip'],
    ]);
    assert.match(refused.steps[0]?.detail ?? '', /ECONNREFUSED/);
    for (const c of [wrong, untrusted, closed]) await api(`/api/v1/connections/${c.id as string}`, 'DELETE');
  });

  test('test connection over implicit TLS', async () => {
    const implicitSink = await sinkWithCa(trustedCa, DOMAIN_AUTH, 'implicit');
    cleanups.push(() => implicitSink.stop());
    const connection = await create({
      scopeKind: 'domain',
      scope: 'implicit.example.test',
      host: '127.0.0.1',
      port: implicitSink.port,
      tlsMode: 'implicit',
      ...auth(DOMAIN_AUTH),
    });
    const report = await testConnection(connection.id as string);
    assert.deepEqual(
      statuses(report),
      ['connect', 'tls', 'greeting', 'ehlo', 'auth', 'quit'].map((s) => [s, 'pass']),
    );
    await api(`/api/v1/connections/${connection.id as string}`, 'DELETE');
  });

  test('CLI: connection add, list, show, test and remove beside the running gateway; the secret is never printed', async () => {
    const env = gatewayEnv(gw.dataDir, { RELAYGATE_SMARTHOST_CA: caFile });
    const cli = (...args: string[]) => runCli(args, env);
    const added = await cli(
      'connection',
      'add',
      '--domain',
      'cli.example.test',
      '--host',
      '127.0.0.1',
      '--port',
      String(domainSink.port),
      '--username',
      DOMAIN_AUTH.user,
      '--secret',
      DOMAIN_AUTH.pass,
      '--json',
    );
    assert.equal(added.code, 0, added.stderr);
    const created = JSON.parse(added.stdout) as Json;
    assert.deepEqual([created.scope, created.hasSecret, created.secret], ['cli.example.test', true, undefined]);
    const id = created.id as string;

    const listed = await cli('connection', 'list');
    assert.match(
      listed.stdout,
      new RegExp(`${id}\\s+cli\\.example\\.test\\s+127\\.0\\.0\\.1:${domainSink.port}\\s+starttls\\s+${DOMAIN_AUTH.user}\\s+password\\s+set\\s`),
    );
    const shown = await cli('connection', 'show', id);
    assert.match(shown.stdout, /secret: {4}set \(sealed\)/);
    for (const out of [added.stdout, listed.stdout, shown.stdout]) assert.doesNotMatch(out, new RegExp(DOMAIN_AUTH.pass));

    const tested = await cli('connection', 'test', id);
    assert.equal(tested.code, 0, tested.stderr + tested.stdout);
    assert.match(tested.stdout, /PASS {2}tls {7}TLSv1\.[23] .*: verified\n/);
    assert.match(tested.stdout, /PASS {2}auth {6}authenticated as test-relay \(AUTH PLAIN\)\n {18}< 235 /);
    assert.match(tested.stdout, /Every step passed\.\n$/);

    const updated = await cli('connection', 'update', id, '--secret', 'not-the-password');
    assert.equal(updated.code, 0, updated.stderr);
    const failing = await cli('connection', 'test', id, '--json');
    assert.equal(failing.code, 1);
    assert.equal(failing.stderr, `relaygate: connection ${id} failed at auth\n`);
    assert.equal((JSON.parse(failing.stdout) as { ok: boolean }).ok, false);

    const conflict = await cli('connection', 'add', '--domain', 'cli.example.test', '--host', '127.0.0.1');
    assert.equal(conflict.code, 1);
    assert.equal(conflict.stderr, `relaygate: connection ${id} already serves cli.example.test; update or remove it first (--domain/--address)\n`);
    assert.equal((await cli('connection', 'remove', id)).code, 0);
    const help = await cli('connection', 'add', '--help');
    assert.match(help.stdout, /--secret-stdin/);
    assert.match(help.stdout, /Examples:\n {2}printf/);
  });
});

function auth(credentials: { user: string; pass: string }): Json {
  return { username: credentials.user, secret: credentials.pass };
}

function statuses(report: { steps: Step[] }): [string, string][] {
  return report.steps.map((s) => [s.step, s.status]);
}

/** A sender domain the harness does not verify, claimed directly in the store. */
async function insertVerifiedDomain(gw: TestGateway, name: string): Promise<void> {
  const store = await openStore(gw.config);
  try {
    await insertDomain(store.db, name);
  } finally {
    await store.close();
  }
}
