import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { assertProblem, type Json } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { type SinkMessage, type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { send } from './support/submit.js';

const OPERATOR = `cli:${userInfo().username}`;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const CLI_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** A Standard Webhooks secret: whsec_ and the base64 of 32 random bytes. */
const WHSEC = /^whsec_[A-Za-z0-9+/]{43}=$/;
const SECRET_NOTE = 'shown once; configure it in your application to verify signatures (Standard Webhooks)';
const NO_INBOUND_CREDENTIAL = (d: string) => `${d} has no live inbound credential; create one with "relaygate credential create --kind inbound --domain ${d}"`;
/** The outbound leg of a domain without a smarthost ends at its deadline, or when its mail expires (a bounce): whichever the sweep sees first. */
const OUTBOUND_TIMED_OUT =
  /^(the verification mail was not delivered through the outbound connection within 2 s(; last reply: .+)?|the outbound connection refused the verification mail: .*)$/;

type Target = Json & { id: string; createdAt: string; updatedAt: string; secret?: string };
type Check = { id: string; leg: string; trigger: string; status: string; reason: string | null; queueId: string | null } & Record<string, unknown>;
type Status = { domain: string; state: string; changedAt: string | null; legs: { outbound: Check | null; inbound: Check | null }; queued: number };

/** The target as expected, with its generated id and times taken from the answer once their form is checked. */
function assertTarget(actual: Target, expected: Json): void {
  assert.match(actual.id, /^itg_[0-9a-z]+$/);
  assert.match(actual.createdAt, ISO);
  assert.match(actual.updatedAt, ISO);
  assert.deepEqual(actual, { ...expected, id: actual.id, createdAt: actual.createdAt, updatedAt: actual.updatedAt });
}

// Inbound targets and domain connectors, administered over the gateway's API and with the
// CLI beside it. No smarthost: verification mails stay queued, so legs end at their deadline.
describe('inbound targets and domain connections, over the admin API and the CLI', () => {
  let gw: TestGateway;
  let token: string;
  let env: NodeJS.ProcessEnv;
  const api = (path: string, method = 'GET', body?: unknown) => gw.api(path, { method, token, ...(body === undefined ? {} : { body }) });
  const cli = (...args: string[]) => runCli(args, env);
  const audit = async (action: string, targetId: string) =>
    ((await api(`/api/v1/audit?action=${action}&targetId=${encodeURIComponent(targetId)}`)).body as { items: Json[] }).items;
  /** The secrets the gateway signs a domain's webhooks with, current first. */
  const signingSecrets = (domain: string) => gw.services(async (s) => (await s.inboundTargets.forDomain((await s.domains.get(domain)).id))?.secrets);

  before(async () => {
    gw = await startTestGateway({ 'verification.timeout': '2s', 'verification.interval': 0, 'queue.retryInitial': '1h', 'queue.retryMax': '1h' });
    token = await gw.createApiToken('inbound admin suite');
    // The CLI reads its own configuration: the same deadline for the checks it starts.
    env = gatewayEnv(gw.dataDir, { RELAYGATE_VERIFICATION_TIMEOUT: '2s', RELAYGATE_VERIFICATION_INTERVAL: '0s' });
    await gw.db(async (db) => {
      for (const name of ['bare.example', 'legs.example', 'slow.example', 'gone.example']) await insertDomain(db, name);
      await insertDomain(db, 'pending.example', { status: 'pending' });
    });
    await gw.services(async (s) => {
      for (const name of ['legs.example', 'slow.example']) await s.addresses.add({ address: `support@${name}`, kind: 'support' }, HARNESS_ACTOR);
    });
  });
  after(() => gw.stop());

  describe('inbound targets', () => {
    test("the organisation's webhook: its signing secret is answered once and is what the gateway signs with; a new URL keeps it", async () => {
      const url = 'https://app.example.test/hooks/mail';
      const set = await api('/api/v1/inbound-targets/organisation', 'PUT', { kind: 'webhook', url });
      assert.equal(set.status, 200, set.text);
      const created = set.body as Target;
      const expected = {
        domain: null,
        kind: 'webhook',
        url,
        forwardTo: null,
        synchronous: false,
        previousSecretUntil: null,
        disabledAt: null,
        disabledReason: null,
      };
      assert.match(created.secret ?? '', WHSEC);
      assertTarget(created, { ...expected, secret: created.secret });
      assert.deepEqual(await signingSecrets('example.com'), [created.secret], 'a domain without its own target uses the organisation’s');

      const { secret: _, ...withoutSecret } = created;
      const read = await api('/api/v1/inbound-targets/organisation');
      assert.equal(read.status, 200, read.text);
      assert.deepEqual(read.body, withoutSecret);
      assert.deepEqual((await api('/api/v1/inbound-targets')).body, { items: [withoutSecret] });

      const moved = await api('/api/v1/inbound-targets/organisation', 'PUT', { kind: 'webhook', url: 'https://app2.example.test/mail', synchronous: true });
      assert.equal(moved.status, 200, moved.text);
      assertTarget(moved.body as Target, { ...expected, url: 'https://app2.example.test/mail', synchronous: true });
      assert.deepEqual([(moved.body as Target).id, (moved.body as Target).createdAt], [created.id, created.createdAt]);
      assert.deepEqual(await signingSecrets('example.com'), [created.secret], 'the secret is kept');

      const records = await audit('inbound-target.set', created.id);
      assert.deepEqual(
        records.map((r) => [r.actor, r.detail]),
        [
          [
            `token:${(await tokenId()).id} (inbound admin suite)`,
            { domain: null, kind: 'webhook', url: 'https://app2.example.test/mail', forward_to: null, synchronous: 1, newSecret: false },
          ],
          [`token:${(await tokenId()).id} (inbound admin suite)`, { domain: null, kind: 'webhook', url, forward_to: null, synchronous: 0, newSecret: true }],
        ],
      );
      assert.doesNotMatch(JSON.stringify((await api('/api/v1/audit?limit=500')).body), /whsec_/, 'no secret in the audit log');
    });

    test('refusals name the field: plain http, credentials in the URL, smtp without forwardTo, synchronous forward, unclaimed domain', async () => {
      const cases: [string, Json, number, string, string][] = [
        [
          'organisation',
          { kind: 'webhook', url: 'http://app.example.test/hooks' },
          422,
          'webhook URL refused: the scheme must be https, not http (http only with inbound.allowPrivateWebhooks, for tests and closed networks)',
          'url',
        ],
        ['organisation', { kind: 'webhook' }, 422, 'a webhook target needs url, e.g. https://app.example.com/hooks/mail', 'url'],
        [
          'organisation',
          { kind: 'webhook', url: 'https://user:pw@app.example.test/' },
          422,
          'webhook URL refused: the URL must not carry a user name or password; the requests are signed instead',
          'url',
        ],
        [
          'organisation',
          { kind: 'smtp' },
          422,
          "an smtp target needs forwardTo, the application's inbound address, e.g. support@helpdesk.example",
          'forwardTo',
        ],
        [
          'organisation',
          { kind: 'smtp', forwardTo: 'inbox@helpdesk.example', synchronous: true },
          422,
          'synchronous mode needs a webhook: a forward cannot answer for the application',
          'synchronous',
        ],
        ['organisation', { kind: 'fax' }, 400, 'kind must be equal to one of the allowed values', 'kind'],
        [
          'unclaimed.example',
          { kind: 'smtp', forwardTo: 'inbox@helpdesk.example' },
          422,
          'unclaimed.example is not a domain of this organisation; claim it first with "relaygate domain add"',
          'domain',
        ],
      ];
      for (const [scope, body, status, detail, field] of cases) {
        const path = scope === 'organisation' ? '/api/v1/inbound-targets/organisation' : `/api/v1/domains/${scope}/inbound-target`;
        assertProblem(await api(path, 'PUT', body), status, detail, field);
      }
      assertProblem(
        await api('/api/v1/domains/unclaimed.example/inbound-target'),
        422,
        'unclaimed.example is not a domain of this organisation; claim it first with "relaygate domain add"',
        'domain',
      );
      assert.equal(((await api('/api/v1/inbound-targets/organisation')).body as Target).url, 'https://app2.example.test/mail', 'unchanged by the refusals');
    });

    test("a domain's own target wins over the organisation's; rotate-secret signs with both for the overlap; remove", async () => {
      const path = '/api/v1/domains/example.com/inbound-target';
      const set = await api(path, 'PUT', { kind: 'webhook', url: 'https://billing.example.test/mail' });
      assert.equal(set.status, 200, set.text);
      const first = set.body as Target;
      assert.match(first.secret ?? '', WHSEC);
      assert.equal(first.domain, 'example.com');
      assert.deepEqual(await signingSecrets('example.com'), [first.secret]);

      const rotated = await api(`${path}/rotate-secret`, 'POST', { overlapSeconds: 3600 });
      assert.equal(rotated.status, 200, rotated.text);
      const second = rotated.body as Target & { previousSecretUntil: string };
      assert.match(second.secret ?? '', WHSEC);
      assert.notEqual(second.secret, first.secret);
      assert.equal(Date.parse(second.previousSecretUntil) - Date.parse(second.updatedAt), 3_600_000);
      assert.deepEqual(await signingSecrets('example.com'), [second.secret, first.secret], 'the previous secret signs too during the overlap');

      // Without a body: the default overlap of a day.
      const third = (await api(`${path}/rotate-secret`, 'POST')).body as Target & { previousSecretUntil: string };
      assert.equal(Date.parse(third.previousSecretUntil) - Date.parse(third.updatedAt), 86_400_000);
      const immediate = (await api(`${path}/rotate-secret`, 'POST', { overlapSeconds: 0 })).body as Target;
      assert.deepEqual(await signingSecrets('example.com'), [immediate.secret], 'overlap 0 retires the previous secret at once');
      const { secret: _, ...stored } = immediate;
      assert.deepEqual((await api(path)).body, stored);

      assertProblem(await api(`${path}/rotate-secret`, 'POST', { overlapSeconds: -1 }), 400, 'overlapSeconds must be >= 0', 'overlapSeconds');
      assert.equal((await api(path, 'PUT', { kind: 'smtp', forwardTo: 'Invoices@ERP.example.net' })).status, 200);
      assertProblem(await api(`${path}/rotate-secret`, 'POST'), 409, 'only a webhook target has a signing secret');

      const removed = await api(path, 'DELETE');
      assert.equal(removed.status, 200, removed.text);
      assertTarget(removed.body as Target, {
        domain: 'example.com',
        kind: 'smtp',
        url: null,
        forwardTo: 'invoices@erp.example.net',
        synchronous: false,
        previousSecretUntil: null,
        disabledAt: null,
        disabledReason: null,
      });
      assertProblem(await api(path), 404, 'no inbound target for example.com');
      assertProblem(await api(path, 'DELETE'), 404, 'no inbound target for example.com');
      assert.equal((await signingSecrets('example.com'))?.length, 1, "back to the organisation's target");

      const rotations = await audit('inbound-target.rotate-secret', first.id);
      assert.deepEqual(
        rotations.map((r) => (r.detail as Json).domain),
        ['example.com', 'example.com', 'example.com'],
      );
      assert.deepEqual(
        (await audit('inbound-target.remove', first.id)).map((r) => r.detail),
        [{ domain: 'example.com' }],
      );
    });

    test('relaygate inbound: set prints the secret once, show/list never do; flags are named in refusals; rotate-secret; remove', async () => {
      const set = await cli('inbound', 'set', '--domain', 'example.test', '--webhook', 'https://hooks.example.test/mail', '--sync');
      assert.equal(set.code, 0, set.stderr);
      const secret = /^ {2}(\S+)$/m.exec(set.stdout)?.[1] ?? '';
      assert.match(secret, WHSEC);
      assert.equal(
        set.stdout,
        "Inbound mail for example.test goes to the webhook https://hooks.example.test/mail (synchronous: the SMTP reply waits for the application's answer).\n\n" +
          `Signing secret (${SECRET_NOTE}):\n\n  ${secret}\n`,
      );
      assert.deepEqual(await signingSecrets('example.test'), [secret]);

      const target = (await api('/api/v1/domains/example.test/inbound-target')).body as Target;
      const shown = await cli('inbound', 'show', '--domain', 'example.test');
      assert.equal(shown.code, 0, shown.stderr);
      const times = shown.stdout.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g) ?? [];
      assert.equal(
        shown.stdout,
        `Inbound target ${target.id}\n  for:          example.test\n  kind:         webhook\n  state:        enabled\n  url:          https://hooks.example.test/mail\n` +
          `  synchronous:  yes\n  secret:       set (sealed)\n  created:      ${times[0]}\n  updated:      ${times[1]}\n`,
      );

      const list = await cli('inbound', 'list');
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^ID\s+FOR\s+KIND\s+DESTINATION\s+SYNC\s+STATE\s+PREVIOUS SECRET UNTIL\s+UPDATED\n/);
      assert.match(
        list.stdout,
        new RegExp(`\\n${target.id}\\s+example\\.test\\s+webhook\\s+https://hooks\\.example\\.test/mail\\s+yes\\s+enabled\\s+-\\s+\\S+Z\\n`),
      );
      assert.match(list.stdout, /\nitg_\w+\s+\(organisation\)\s+webhook\s+https:\/\/app2\.example\.test\/mail\s+yes\s+enabled\s+-\s+\S+Z\n/);
      assert.doesNotMatch(shown.stdout + list.stdout, /whsec_/);

      const plain = await cli('inbound', 'set', '--domain', 'example.test', '--webhook', 'http://127.0.0.1:8080/hook');
      assert.deepEqual(
        [plain.code, plain.stderr],
        [
          1,
          'relaygate: webhook URL refused: the scheme must be https, not http (http only with inbound.allowPrivateWebhooks, for tests and closed networks) (--webhook)\n',
        ],
      );
      // With inbound.allowPrivateWebhooks (tests, closed networks) http:// is taken; the target keeps its secret.
      const local = await runCli(['inbound', 'set', '--domain', 'example.test', '--webhook', 'http://127.0.0.1:8080/hook', '--json'], {
        ...env,
        RELAYGATE_INBOUND_ALLOW_PRIVATE_WEBHOOKS: 'true',
      });
      assert.equal(local.code, 0, local.stderr);
      const localTarget = JSON.parse(local.stdout) as Target;
      assert.match(localTarget.createdAt, CLI_TIME);
      assert.deepEqual(localTarget, {
        id: target.id,
        domain: 'example.test',
        kind: 'webhook',
        url: 'http://127.0.0.1:8080/hook',
        forwardTo: null,
        synchronous: false,
        previousSecretUntil: null,
        disabledAt: null,
        disabledReason: null,
        createdAt: localTarget.createdAt,
        updatedAt: localTarget.updatedAt,
      });
      assert.deepEqual(await signingSecrets('example.test'), [secret]);

      const refusals: [string[], string][] = [
        [['--webhook', 'https://a.example.test/', '--forward', 'a@b.example'], 'give exactly one of --webhook URL or --forward ADDRESS'],
        [['--forward', 'inbox@helpdesk.example', '--sync'], 'synchronous mode needs a webhook: a forward cannot answer for the application (--sync)'],
        [
          ['--domain', 'unclaimed.example', '--forward', 'inbox@helpdesk.example'],
          'unclaimed.example is not a domain of this organisation; claim it first with "relaygate domain add" (--domain)',
        ],
      ];
      for (const [args, message] of refusals) {
        const refused = await cli('inbound', 'set', ...args);
        assert.deepEqual([refused.code, refused.stderr], [1, `relaygate: ${message}\n`], args.join(' '));
      }

      const forward = await cli('inbound', 'set', '--domain', 'example.test', '--forward', 'Helpdesk@Apps.example.net');
      assert.equal(
        forward.stdout,
        'Inbound mail for example.test is forwarded to helpdesk@apps.example.net through the outbound connection.\n',
        forward.stderr,
      );
      const notWebhook = await cli('inbound', 'rotate-secret', '--domain', 'example.test');
      assert.deepEqual([notWebhook.code, notWebhook.stderr], [1, 'relaygate: only a webhook target has a signing secret\n']);
      const badOverlap = await cli('inbound', 'rotate-secret', '--overlap', 'soon');
      assert.deepEqual([badOverlap.code, badOverlap.stderr], [1, 'relaygate: --overlap must be a duration such as 24h, 30m or 0s, not "soon"\n']);

      const rotated = await cli('inbound', 'rotate-secret', '--overlap', '30m');
      assert.equal(rotated.code, 0, rotated.stderr);
      const [, newSecret, until] =
        /^New signing secret for the organisation \(.+\):\n\n {2}(\S+)\n\nThe previous secret keeps signing too until (\S+) \(30m\): deploy the new one before then\.\n$/.exec(
          rotated.stdout,
        ) ?? [];
      assert.match(newSecret ?? '', WHSEC, rotated.stdout);
      assert.ok(rotated.stdout.includes(`(${SECRET_NOTE})`));
      const organisation = (await api('/api/v1/inbound-targets/organisation')).body as Target & { previousSecretUntil: string };
      assert.equal(organisation.previousSecretUntil.replace(/\.\d{3}Z$/, 'Z'), until);
      assert.equal((await signingSecrets('example.com'))?.[0], newSecret);

      const removed = await cli('inbound', 'remove', '--domain', 'example.test');
      assert.equal(
        removed.stdout,
        "Removed the inbound target of example.test (forward to helpdesk@apps.example.net).\nMail for example.test now goes to the organisation's target, if one is set (relaygate inbound show).\n",
        removed.stderr,
      );
      const gone = await cli('inbound', 'show', '--domain', 'example.test');
      assert.deepEqual([gone.code, gone.stderr], [1, 'relaygate: no inbound target for example.test; see "relaygate inbound list"\n']);

      const byOperator = ((await api(`/api/v1/audit?actor=${encodeURIComponent(OPERATOR)}&limit=100`)).body as { items: Json[] }).items;
      assert.deepEqual(
        byOperator.filter((r) => String(r.action).startsWith('inbound-target.')).map((r) => [r.action, (r.detail as Json).domain]),
        [
          ['inbound-target.remove', 'example.test'],
          ['inbound-target.rotate-secret', null],
          ['inbound-target.set', 'example.test'],
          ['inbound-target.set', 'example.test'],
          ['inbound-target.set', 'example.test'],
        ],
      );
    });
  });

  describe('domain connections', () => {
    test('verify refuses with the fix: no address, not verified, unknown; over the API and the CLI', async () => {
      const noAddress = 'bare.example has no address to send the verification mails to; add its support address with "relaygate address add"';
      assertProblem(await api('/api/v1/domains/bare.example/connection/verify', 'POST'), 422, noAddress, 'domain');
      assertProblem(
        await api('/api/v1/domains/pending.example/connection/verify', 'POST'),
        422,
        'pending.example is not verified yet; publish its TXT record and run "relaygate domain verify pending.example"',
        'domain',
      );
      const unknown = 'no domain nowhere.example; claim it first with "relaygate domain add nowhere.example"';
      assertProblem(await api('/api/v1/domains/nowhere.example/connection/verify', 'POST'), 404, unknown);
      assertProblem(await api('/api/v1/domains/nowhere.example/connection'), 404, unknown);
      assertProblem(await api('/api/v1/domains/bare.example/connection?history=1001'), 400, 'query.history must be <= 1000', 'query.history');

      const cliRefused = await cli('domain', 'verify-connection', 'bare.example');
      assert.deepEqual([cliRefused.code, cliRefused.stdout, cliRefused.stderr], [1, '', `relaygate: ${noAddress}\n`]);
      assert.deepEqual(await audit('domain.verify-connection', 'bare.example'), []);
    });

    test('verify answers 202 with the started checks; a leg that cannot work fails at once; a new check supersedes a pending one', async () => {
      const started = await api('/api/v1/domains/legs.example/connection/verify', 'POST');
      assert.equal(started.status, 202, started.text);
      const status = started.body as Status;
      const { outbound, inbound } = status.legs;
      assert.ok(outbound && inbound);
      assert.match(outbound.queueId ?? '', /^[0-9A-Z]+$/);
      assert.equal(Date.parse(outbound.deadlineAt as string) - Date.parse(outbound.startedAt as string), 2000);
      assert.deepEqual(status, {
        domain: 'legs.example',
        // Not connected until both legs were verified once.
        state: 'pending',
        changedAt: null,
        legs: {
          outbound: { ...outbound, leg: 'outbound', trigger: 'setup', status: 'pending', reason: null, finishedAt: null },
          inbound: {
            ...inbound,
            leg: 'inbound',
            trigger: 'setup',
            status: 'failed',
            reason: NO_INBOUND_CREDENTIAL('legs.example'),
            queueId: null,
            startedAt: outbound.startedAt,
            deadlineAt: outbound.deadlineAt,
            finishedAt: outbound.startedAt,
          },
        },
        queued: 1,
      });

      assert.equal((await api('/api/v1/domains/legs.example/connection/verify', 'POST')).status, 202);
      const read = await api('/api/v1/domains/legs.example/connection?history=10');
      assert.equal(read.status, 200, read.text);
      const { history, ...current } = read.body as Status & { history: Check[] };
      assert.equal(current.legs.outbound?.status, 'pending');
      assert.equal(current.queued, 2);
      assert.deepEqual(history.map((c) => [c.leg, c.status, c.reason]).sort(), [
        ['inbound', 'failed', NO_INBOUND_CREDENTIAL('legs.example')],
        ['inbound', 'failed', NO_INBOUND_CREDENTIAL('legs.example')],
        ['outbound', 'failed', 'superseded by a newer check'],
        ['outbound', 'pending', null],
      ]);
      assert.equal(((await api('/api/v1/domains/legs.example/connection?history=1')).body as { history: Check[] }).history.length, 1);
      const records = await audit('domain.verify-connection', 'legs.example');
      assert.deepEqual(
        records.map((r) => r.detail),
        [{ address: 'support@legs.example' }, { address: 'support@legs.example' }],
      );
    });

    test('domain verify-connection --wait prints each leg with its reason and exits 1 when a leg failed', async () => {
      const checked = await cli('domain', 'verify-connection', 'legs.example', '--wait');
      assert.equal(checked.code, 1, checked.stdout);
      assert.equal(checked.stderr, 'relaygate: the outbound and inbound legs of legs.example failed; fix what the reason says and run this again\n');
      const lines = checked.stdout.split('\n');
      assert.deepEqual(lines.slice(0, 3), ['Waiting up to 12s for both legs of legs.example…', 'Connection check of legs.example:', lines[2]]);
      assert.match(lines[2] ?? '', /^LEG\s+STATUS\s+WHEN\s+REASON$/);
      const outbound = /^outbound\s+failed\s+(\S+Z)\s+(.+)$/.exec(lines[3] ?? '');
      assert.match(outbound?.[2] ?? '', OUTBOUND_TIMED_OUT, lines[3]);
      assert.match(lines[4] ?? '', new RegExp(`^inbound\\s+failed\\s+\\S+Z\\s+${escapeRegExp(NO_INBOUND_CREDENTIAL('legs.example'))}$`));
      assert.deepEqual(lines.slice(5), ['']);

      const connection = await cli('domain', 'connection', 'legs.example', '--history', '2');
      assert.equal(connection.code, 0, connection.stderr);
      const [head, table] = connection.stdout.split('\n\nHistory (latest 2)\n');
      assert.match(
        head ?? '',
        new RegExp(
          `^Connection of legs\\.example\\n {2}connector: {4}pending, until both legs are verified \\("relaygate domain verify-connection legs\\.example"\\)\\n {2}outbound leg: failed \\S+Z: .+\\n {2}inbound leg: {2}failed \\S+Z: ${escapeRegExp(NO_INBOUND_CREDENTIAL('legs.example'))}$`,
        ),
      );
      assert.match(table ?? '', /^STARTED\s+LEG\s+TRIGGER\s+STATUS\s+FINISHED\s+REASON\n(\S+Z\s+(outbound|inbound)\s+setup\s+failed\s+\S+Z\s+.+\n){2}$/);
    });

    test('domain verify-connection --wait --timeout exits 75 while the legs are still pending', async () => {
      await gw.createCredential('slow relay', { kind: 'inbound', domain: 'slow.example' });
      // Checks started by this CLI have an hour: they stay pending past --timeout.
      const slow = await runCli(['domain', 'verify-connection', 'slow.example', '--wait', '--timeout', '1s', '--json'], {
        ...env,
        RELAYGATE_VERIFICATION_TIMEOUT: '1h',
      });
      assert.equal(slow.code, 75, slow.stderr);
      assert.equal(slow.stderr, 'relaygate: the outbound and inbound legs of slow.example are still pending; see "relaygate domain connection slow.example"\n');
      const status = JSON.parse(slow.stdout) as Status;
      assert.deepEqual([status.state, status.queued, status.legs.outbound?.status, status.legs.inbound?.status], ['pending', 2, 'pending', 'pending']);
    });

    test('disconnect answers 202 draining with what is still queued; domain show and GET …/connection say so; a second is a conflict', async () => {
      const disconnected = await api('/api/v1/domains/slow.example/connection/disconnect', 'POST');
      assert.equal(disconnected.status, 202, disconnected.text);
      const status = disconnected.body as Status;
      assert.match(status.changedAt ?? '', ISO);
      const ended = { status: 'failed', reason: 'the domain is being disconnected' };
      assert.deepEqual(status, {
        domain: 'slow.example',
        state: 'draining',
        changedAt: status.changedAt,
        legs: { outbound: { ...status.legs.outbound, ...ended }, inbound: { ...status.legs.inbound, ...ended } },
        queued: 2,
      });
      assert.equal(status.legs.outbound?.finishedAt, status.changedAt);

      const read = (await api('/api/v1/domains/slow.example/connection')).body as Status & { history: Check[] };
      assert.deepEqual({ ...read, history: undefined }, { ...status, history: undefined });
      assert.deepEqual(read.history.map((c) => [c.leg, c.status]).sort(), [
        ['inbound', 'failed'],
        ['outbound', 'failed'],
      ]);
      assertProblem(
        await api('/api/v1/domains/slow.example/connection/disconnect', 'POST'),
        409,
        'slow.example is already draining; wait for the disconnect with "relaygate domain disconnect slow.example --wait"',
      );
      assertProblem(
        await api('/api/v1/domains/slow.example/connection/verify', 'POST'),
        409,
        'slow.example is draining; a disconnected domain is not verified',
      );

      const shown = await cli('domain', 'show', 'slow.example');
      assert.equal(shown.code, 0, shown.stderr);
      const at = (iso: string | null | undefined) => (iso ?? '').replace(/\.\d{3}Z$/, 'Z');
      assert.match(shown.stdout, /^Domain slow\.example \(dom_\w+\)\n {2}status: {7}verified \(test-harness, \S+Z\)\n/);
      assert.ok(
        shown.stdout.endsWith(
          `  last check:   -\n  connector:    draining since ${at(status.changedAt)}, 2 messages still queued\n` +
            `  outbound leg: not checked since the disconnect (before it: failed ${at(status.changedAt)}: the domain is being disconnected)\n` +
            `  inbound leg:  not checked since the disconnect (before it: failed ${at(status.changedAt)}: the domain is being disconnected)\n`,
        ),
        shown.stdout,
      );

      const again = await cli('domain', 'disconnect', 'slow.example');
      assert.deepEqual(
        [again.code, again.stderr],
        [1, 'relaygate: slow.example is already draining; wait for the disconnect with "relaygate domain disconnect slow.example --wait"\n'],
      );
      const records = await audit('domain.disconnect', 'slow.example');
      assert.deepEqual(
        records.map((r) => [r.actor, r.detail]),
        [[`token:${(await tokenId()).id} (inbound admin suite)`, { queued: 2 }]],
      );
    });

    test('domain disconnect --wait: with nothing queued the gateway revokes the inbound credentials and removes the outbound connection', async () => {
      const credential = await gw.createCredential('gone relay', { kind: 'inbound', domain: 'gone.example' });
      const connection = await gw.services((s) =>
        s.connections.create({ scopeKind: 'domain', scope: 'gone.example', host: '127.0.0.1', port: 2525, tlsMode: 'none' }, HARNESS_ACTOR),
      );
      const done = await cli('domain', 'disconnect', 'gone.example', '--wait');
      assert.equal(done.code, 0, done.stderr);
      assert.equal(
        done.stdout,
        'gone.example is draining: the gateway takes no new mail for it or from it.\n' +
          'Nothing is queued for it: the running gateway revokes its inbound credentials and removes its outbound connection within seconds.\n' +
          'gone.example is disconnected: its inbound credentials are revoked and its outbound connection removed.\n',
      );
      assert.match(((await api(`/api/v1/credentials/${credential.id}`)).body as Json).revokedAt as string, ISO);
      assert.equal((await api(`/api/v1/connections/${connection.id}`)).status, 404);
      assert.equal(((await api('/api/v1/domains/gone.example/connection')).body as Status).state, 'disconnected');
      assert.deepEqual(
        (await audit('domain.disconnect', 'gone.example')).map((r) => [r.actor, r.detail]),
        [[OPERATOR, { queued: 0 }]],
      );
      assert.deepEqual(
        (await audit('domain.disconnected', 'gone.example')).map((r) => [r.actor, r.detail]),
        [['system:connector', { revokedCredentials: [credential.id], removedConnections: [connection.id] }]],
      );
    });
  });

  test('the OpenAPI document describes every new route with its answer', async () => {
    const { paths } = (await gw.api('/api/openapi.json')).body as { paths: Record<string, Record<string, Json>> };
    const answer = (path: string, method: string, status: string) =>
      ((paths[path]?.[method]?.responses as Json | undefined)?.[status] as { content?: Record<string, { schema: Json }> } | undefined)?.content?.[
        'application/json'
      ]?.schema;
    const target = ['id', 'domain', 'kind', 'url', 'forwardTo', 'synchronous', 'previousSecretUntil', 'disabledAt', 'disabledReason', 'createdAt', 'updatedAt'];
    assert.deepEqual(Object.keys((answer('/api/v1/inbound-targets', 'get', '200')?.properties as Json) ?? {}), ['items']);
    for (const path of ['/api/v1/inbound-targets/organisation', '/api/v1/domains/{name}/inbound-target']) {
      const set = answer(path, 'put', '200');
      assert.deepEqual([Object.keys((set?.properties as Json) ?? {}), set?.required], [[...target, 'secret'], target], `${path}: the secret only when created`);
      for (const method of ['get', 'delete']) assert.deepEqual(answer(path, method, '200')?.required, target, `${method} ${path}`);
      assert.deepEqual(answer(`${path}/rotate-secret`, 'post', '200')?.required, [...target, 'secret'], path);
      assert.deepEqual(answer(`${path}/enable`, 'post', '200')?.required, target, `enable ${path}`);
    }
    const connection = answer('/api/v1/domains/{name}/connection', 'get', '200');
    assert.deepEqual(connection?.required, ['domain', 'state', 'changedAt', 'legs', 'queued', 'history']);
    assert.ok(answer('/api/v1/domains/{name}/connection/verify', 'post', '202'));
    assert.ok(answer('/api/v1/domains/{name}/connection/disconnect', 'post', '202'));
  });

  /** The API token this suite calls with, as the audit log names it. */
  async function tokenId(): Promise<{ id: string }> {
    const listed = (await api('/api/v1/tokens')).body as { items: { id: string; description: string }[] };
    const found = listed.items.find((t) => t.description === 'inbound admin suite');
    assert.ok(found);
    return found;
  }
});

// The round trip that verifies both legs: the CLI waits while the organisation's mail server
// (played by the test) relays the two verification mails from the smarthost back in.
describe('relaygate domain verify-connection --wait, both legs verified', () => {
  let dns: TestDnsServer;
  let smarthost: SmtpSink;
  let gw: TestGateway;
  let inbound: { id: string; username: string; secret: string };

  before(async () => {
    dns = await startDnsServer();
    smarthost = await startSmtpSink({ tls: 'none' });
    gw = await startTestGateway({ dnsResolver: dns.address, 'verification.interval': 0 });
    await gw.services(async (s) => {
      await s.addresses.add({ address: 'support@example.com', kind: 'support' }, HARNESS_ACTOR);
      await s.connections.create({ scopeKind: 'domain', scope: 'example.com', host: '127.0.0.1', port: smarthost.port, tlsMode: 'none' }, HARNESS_ACTOR);
    });
    inbound = await gw.createCredential('Exchange relay', { kind: 'inbound', domain: 'example.com' });
  });
  after(async () => {
    await gw.stop();
    await smarthost.stop();
    await dns.stop();
  });

  test('exits 0 once both tokens are back, printing each leg verified', async () => {
    const env = gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: dns.address, RELAYGATE_VERIFICATION_INTERVAL: '0s' });
    const checking = runCli(['domain', 'verify-connection', 'example.com', '--wait', '--timeout', '60s'], env);
    for (const mail of await smarthost.waitForMessages(2)) await relayBack(gw.gateway.ports.smtp, inbound, mail);
    const checked = await checking;
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(
      checked.stdout,
      /^Waiting up to 1m for both legs of example\.com…\nConnection check of example\.com:\nLEG\s+STATUS\s+WHEN\s+REASON\noutbound\s+verified\s+\S+Z\s+-\ninbound\s+verified\s+\S+Z\s+-\nBoth legs are verified: example\.com is connected\.\n$/,
    );
    const shown = await runCli(['domain', 'show', 'example.com'], env);
    assert.match(shown.stdout, /\n {2}connector: {4}connected\n {2}outbound leg: verified \S+Z\n {2}inbound leg: {2}verified \S+Z\n$/);
  });
});

/** The organisation's mail server relaying a message back to the gateway, as configured: STARTTLS and AUTH. */
const relayBack = (port: number, credential: { username: string; secret: string }, message: SinkMessage) =>
  send(port, credential, { from: message.mailFrom, to: message.rcptTo, raw: message.raw });

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
