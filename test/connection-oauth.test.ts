import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initialResponse } from '../src/delivery/oauth-sasl.js';
import { OAuth2TokenError, oauth2TokenCache } from '../src/delivery/oauth2-token.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { startTokenServer, type TokenServer } from './support/oauth2-token-server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { waitFor } from './support/wait-for.js';

type Json = Record<string, unknown>;
type Step = { step: string; status: string; detail: string; reply: string | null };

const CLIENT = { clientId: 'relaygate-test-client', clientSecret: 'client-secret-7d41e0c2' };
const USER = 'relay@example.test';

describe('OAuth 2.0 token cache (client credentials over HTTPS)', () => {
  let ca: TestCa;
  let server: TokenServer;
  before(async () => {
    ca = await makeTestCa();
    server = await startTokenServer({ ...CLIENT, ca, expiresInS: 600 });
  });
  after(() => server.stop());

  test('a token is reused until the refresh margin before its expiry, then fetched again; fresh always fetches; concurrent asks share one fetch', async () => {
    let now = 1_000_000;
    const cache = oauth2TokenCache({ clock: { now: () => now }, ca: ca.caCert, refreshMarginMs: 60_000 });
    const client = { tokenUrl: server.url, ...CLIENT, scope: 'https://mail.google.com/' };
    const start = server.grants;
    const first = await cache.token('conn_a', client);
    assert.equal(await cache.token('conn_a', client), first);
    assert.equal(server.grants - start, 1);
    assert.deepEqual(server.requests.at(-1), {
      grant_type: 'client_credentials',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      scope: 'https://mail.google.com/',
    });

    now += 600_000 - 60_000 - 1; // just inside the margin's edge: still the cached one
    assert.equal(await cache.token('conn_a', client), first);
    now += 2;
    const second = await cache.token('conn_a', client);
    assert.notEqual(second, first);
    assert.equal(server.grants - start, 2);

    const fresh = await cache.token('conn_a', client, true);
    assert.notEqual(fresh, second);
    assert.equal(server.grants - start, 3);

    cache.forget('conn_a');
    const together = await Promise.all([cache.token('conn_a', client), cache.token('conn_a', client), cache.token('conn_a', client)]);
    assert.equal(new Set(together).size, 1);
    assert.equal(server.grants - start, 4);

    // Another connection has its own token; a changed secret is not served the old one.
    await cache.token('conn_b', client);
    assert.equal(server.grants - start, 5);
    await assert.rejects(cache.token('conn_a', { ...client, clientSecret: 'rotated' }), OAuth2TokenError);
  });

  test('a refused client or an untrusted endpoint fails with the reason and never the secret', async () => {
    const cache = oauth2TokenCache({ clock: { now: () => Date.now() }, ca: ca.caCert });
    const refused = await cache
      .token('c', { tokenUrl: server.url, clientId: CLIENT.clientId, clientSecret: 'wrong-secret-123', scope: null })
      .catch((e: Error) => e);
    assert.ok(refused instanceof OAuth2TokenError);
    assert.equal(refused.message, `token endpoint ${server.url} answered HTTP 401 (invalid_client: AADSTS7000215: Invalid client secret provided.)`);
    assert.equal(server.requests.at(-1)?.scope, undefined, 'no scope parameter without a scope');

    const untrusting = oauth2TokenCache({ clock: { now: () => Date.now() } });
    const untrusted = await untrusting.token('c', { tokenUrl: server.url, ...CLIENT, scope: null }).catch((e: Error) => e);
    assert.match((untrusted as Error).message, /^token endpoint https:\/\/127\.0\.0\.1:\d+\/token unreachable: .*(self-signed|unable to (get|verify))/);
    assert.doesNotMatch((untrusted as Error).message, new RegExp(CLIENT.clientSecret));
  });

  test('the initial client responses of XOAUTH2 and OAUTHBEARER (RFC 7628 §3.1)', () => {
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
    assert.equal(decode(initialResponse('XOAUTH2', USER, 'tok')), `user=${USER}\x01auth=Bearer tok\x01\x01`);
    assert.equal(decode(initialResponse('OAUTHBEARER', USER, 'tok')), `n,a=${USER},\x01auth=Bearer tok\x01\x01`);
  });
});

describe('XOAUTH2 to a Google-like SMTP relay', () => {
  let ca: TestCa;
  let server: TokenServer;
  let sink: SmtpSink;
  let refusingSink: SmtpSink;
  let gw: TestGateway;
  let apiToken: string;
  let dir: TempDir;
  let caFile: string;
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token: apiToken, ...(body === undefined ? {} : { body }) });
  const oauthConnection = (scope: string, port: number) => ({
    scopeKind: 'domain',
    scope,
    host: '127.0.0.1',
    port,
    username: USER,
    auth: 'xoauth2',
    oauth2TokenUrl: server.url,
    oauth2ClientId: CLIENT.clientId,
    oauth2Scope: 'https://mail.google.com/',
    secret: CLIENT.clientSecret,
  });

  before(async () => {
    ca = await makeTestCa();
    server = await startTokenServer({ ...CLIENT, ca });
    const leaf = await makeLeafCert(ca, ['localhost']);
    const cert = { cert: leaf.chain, key: leaf.key };
    sink = await startSmtpSink({ tls: 'starttls', cert, oauth: { user: USER, validToken: (t) => server.validToken(t) } });
    refusingSink = await startSmtpSink({ tls: 'starttls', cert, oauth: { user: USER, validToken: () => false } });
    dir = await tempDir('relaygate-oauth-');
    caFile = join(dir.path, 'ca.pem');
    await writeFile(caFile, ca.caCert);
    gw = await startTestGateway({ smarthost: 'smtp://127.0.0.1:9?tls=none', smarthostCaFile: caFile, 'queue.retryInitial': '30s', 'queue.retryMax': '60s' });
    apiToken = await gw.createApiToken('oauth');
    // Made before any delivery, so the router's first look-up of the connections already has it.
    const refusing = await api('/api/v1/connections', 'POST', oauthConnection('example.com', refusingSink.port));
    assert.equal(refusing.status, 201, refusing.text);
  });
  after(async () => {
    await gw.stop();
    await sink.stop();
    await refusingSink.stop();
    await server.stop();
    await dir.cleanup();
  });

  test('a token the relay refuses is replaced once by a fresh one and the mail is delivered; the secret and tokens are never returned or logged', async () => {
    const created = await api('/api/v1/connections', 'POST', oauthConnection('example.test', sink.port));
    assert.equal(created.status, 201, created.text);
    const connection = created.body as Json;
    assert.deepEqual(
      [connection.auth, connection.oauth2, connection.hasSecret],
      ['xoauth2', { tokenUrl: server.url, clientId: CLIENT.clientId, scope: 'https://mail.google.com/' }, true],
    );
    assert.doesNotMatch(created.text, new RegExp(CLIENT.clientSecret));

    server.issueRevoked = 1; // the first token issued is already revoked at the provider
    const grantsBefore = server.grants;
    const credential = await gw.createCredential('oauth');
    await submit(gw.gateway.ports.smtp, credential, { from: 'support@example.test', to: ['customer@example.net'], raw: applicationMessage('xoauth2') });
    const [message] = await sink.waitForMessages(1, 60_000);
    assert.deepEqual([message?.authUser, message?.secure], [USER, true]);
    assert.deepEqual(
      sink.authAttempts.map((a) => [a.method, a.user, a.accepted]),
      [
        ['XOAUTH2', USER, false],
        ['XOAUTH2', USER, true],
      ],
    );
    assert.equal(server.grants - grantsBefore, 2, 'one token, then one fresh token after the refusal');

    const secrets = [CLIENT.clientSecret, ...sink.authAttempts.map((a) => a.accessToken ?? '')];
    for (const secret of secrets)
      assert.equal(
        gw.logs.some((line) => line.includes(secret)),
        false,
        `${secret.slice(0, 8)}… is not logged`,
      );
    await api(`/api/v1/connections/${connection.id as string}`, 'DELETE');
  });

  test('a token refused twice defers the mail with the provider’s reply', async () => {
    const credential = await gw.createCredential('oauth-refused');
    const { queueId } = await submit(gw.gateway.ports.smtp, credential, {
      from: 'support@example.com',
      to: ['customer@example.net'],
      raw: applicationMessage('refused'),
    });
    const recipient = await waitFor(
      async () => {
        const queue = await gw.queue();
        try {
          const r = (await queue.show(queueId))?.recipients[0];
          return r?.status === 'deferred' ? r : undefined;
        } finally {
          await queue.close();
        }
      },
      { what: `${queueId} deferred`, timeoutMs: 60_000 },
    );
    assert.match(recipient.lastReply ?? '', /^AUTH XOAUTH2: 535 Error: Username and Password not accepted$/);
    assert.equal(refusingSink.authAttempts.length, 2, 'tried once more with a fresh token, then gave up');
    assert.equal(refusingSink.messages.length, 0);
  });

  test('connection test shows the token fetch and the AUTH; a refused client fails at the token step with the endpoint’s reason', async () => {
    const env = gatewayEnv(gw.dataDir, { RELAYGATE_SMARTHOST_CA: caFile });
    const cli = (args: string[]) => runCli(args, env);
    const added = await cli([
      'connection',
      'add',
      '--domain',
      'cli.example.test',
      '--host',
      '127.0.0.1',
      '--port',
      String(sink.port),
      '--username',
      USER,
      '--auth',
      'xoauth2',
      '--oauth2-token-url',
      server.url,
      '--oauth2-client-id',
      CLIENT.clientId,
      '--oauth2-scope',
      'https://mail.google.com/',
      '--secret',
      CLIENT.clientSecret,
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const id = (JSON.parse(added.stdout) as Json).id as string;
    const shown = await cli(['connection', 'show', id]);
    assert.match(shown.stdout, /auth: {6}xoauth2\n {2}token url: https:\/\/127\.0\.0\.1:\d+\/token\n {2}client id: relaygate-test-client\n/);

    const tested = await cli(['connection', 'test', id]);
    assert.equal(tested.code, 0, tested.stderr + tested.stdout);
    assert.match(tested.stdout, /PASS {2}token {5}access token \(\d+ characters\) from https:\/\/127\.0\.0\.1:\d+\/token by the client-credentials grant\n/);
    assert.match(tested.stdout, /PASS {2}auth {6}authenticated as relay@example\.test \(AUTH XOAUTH2\)\n {18}< 235 /);
    for (const out of [added.stdout, shown.stdout, tested.stdout]) assert.doesNotMatch(out, new RegExp(`${CLIENT.clientSecret}|tok-`));

    const wrong = await cli(['connection', 'update', id, '--secret', 'not-the-client-secret']);
    assert.equal(wrong.code, 0, wrong.stderr);
    const failing = await cli(['connection', 'test', id, '--json']);
    assert.equal(failing.code, 1);
    assert.equal(failing.stderr, `relaygate: connection ${id} failed at token\n`);
    const steps = (JSON.parse(failing.stdout) as { steps: Step[] }).steps;
    assert.deepEqual(
      steps.map((s) => [s.step, s.status]),
      [
        ['connect', 'pass'],
        ['greeting', 'pass'],
        ['ehlo', 'pass'],
        ['starttls', 'pass'],
        ['tls', 'pass'],
        ['ehlo', 'pass'],
        ['token', 'fail'],
        ['auth', 'skip'],
        ['quit', 'pass'],
      ],
    );
    assert.equal(steps[6]?.detail, `token endpoint ${server.url} answered HTTP 401 (invalid_client: AADSTS7000215: Invalid client secret provided.)`);

    const refusals: [string[], string][] = [
      [
        ['--auth', 'xoauth2', '--username', USER, '--secret', 'x'],
        'auth xoauth2 needs the token endpoint, e.g. https://login.microsoftonline.com/TENANT/oauth2/v2.0/token (--oauth2-token-url)',
      ],
      [
        ['--auth', 'xoauth2', '--username', USER, '--secret', 'x', '--oauth2-token-url', 'http://127.0.0.1/token', '--oauth2-client-id', 'c'],
        'oauth2TokenUrl must be https: the client secret is sent to it (--oauth2-token-url)',
      ],
      [['--oauth2-client-id', 'c'], 'oauth2ClientId applies only with auth xoauth2 or oauthbearer (--oauth2-client-id)'],
      [['--auth', 'kerberos'], 'auth must be password, xoauth2 or oauthbearer, not "kerberos" (--auth)'],
    ];
    for (const [flags, message] of refusals) {
      const refused = await cli(['connection', 'add', '--domain', 'refused.example.test', '--host', 'smtp.example.net', ...flags]);
      assert.equal(refused.stderr, `relaygate: ${message}\n`);
      assert.equal(refused.code, 1);
    }
    assert.equal((await cli(['connection', 'remove', id])).code, 0);
  });
});
