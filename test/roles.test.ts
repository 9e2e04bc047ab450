/**
 * Instances that run one part each (issue 8): `start --role smtp|worker|http` on one
 * PostgreSQL store; a commit wakes the other instances' workers through NOTIFY; instances
 * whose keys differ from the ones the store was set up with refuse to start.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { exclusively } from '../src/store/exclusive-job.js';
import { QUEUE_CHANNEL, sqlQueueStore } from '../src/store/sql-queue-store.js';
import { type GatewayProcess, gatewayEnv, runCli, spawnGateway, verifyTestDomainsIn } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, type SubmitCredential, submit } from './support/submit.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { postgresUnavailable, schemaUrl } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

const NEEDS_POSTGRES = { ...needsPeer(postgresUnavailable()), timeout: 120_000 };

test('a role other than all on the embedded store is a configuration error naming the key and the fix', () => {
  assert.throws(
    () => loadConfig({ env: { RELAYGATE_ROLE: 'worker' } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /role = "worker" \(from environment variable RELAYGATE_ROLE\)/);
      assert.match(err.message, /fix: set RELAYGATE_DATABASE_URL=postgres:\/\//);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: { RELAYGATE_ROLE: 'mx' } }), /role = "mx".*must be one of all, smtp, worker, http/s);
  assert.equal(loadConfig({ env: { RELAYGATE_ROLE: 'smtp', RELAYGATE_DATABASE_URL: 'postgres://db.example/relaygate' } }).role, 'smtp');
});

test('a database that cannot be opened is named, password hidden, with what to check; a bad schema name is a configuration error', async () => {
  const dir = await tempDir('relaygate-nodb-');
  try {
    const refused = await runCli(['migrate'], gatewayEnv(dir.path, { RELAYGATE_DATABASE_URL: 'postgres://relay:s3cret@127.0.0.1:1/relaygate' }));
    assert.equal(refused.code, 69, refused.stderr);
    assert.match(
      refused.stderr,
      /PostgreSQL at postgres:\/\/relay:\*\*\*@127\.0\.0\.1:1\/relaygate could not be opened: connect ECONNREFUSED.*Check RELAYGATE_DATABASE_URL/,
    );
    assert.doesNotMatch(refused.stderr, /s3cret/);
    const badSchema = await runCli(['migrate'], gatewayEnv(dir.path, { RELAYGATE_DATABASE_URL: 'postgres://relay:s3cret@127.0.0.1:1/relaygate?schema=1-x' }));
    assert.equal(badSchema.code, 78, badSchema.stderr);
    assert.match(badSchema.stderr, /databaseUrl .*schema=1-x, which is not a plain schema name\n\s+fix: use letters, digits and _/);
  } finally {
    await dir.cleanup();
  }
});

test('a message committed through one connection wakes a listener on another (LISTEN/NOTIFY), and a rolled-back one does not', NEEDS_POSTGRES, async () => {
  const config = loadConfig({ env: { RELAYGATE_DATABASE_URL: schemaUrl(`notify-${randomBytes(6).toString('hex')}`) } });
  const listening = await openStore(config);
  const writing = await openStore(config);
  try {
    let wakes = 0;
    const listener = await (listening.listen as NonNullable<typeof listening.listen>)(QUEUE_CHANNEL, () => {
      wakes += 1;
    });
    const queue = sqlQueueStore(writing.db, writing.syncCommitted);
    const now = Date.now();
    await writing.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('health_heartbeat').values({ id: 'rolled-back', beat_at: now }).execute();
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await queue.commit([
      {
        id: 'NOTIFY1',
        envelope: { mailFrom: 'app@example.com', recipients: [{ address: 'someone@example.net' }] },
        sizeBytes: 10,
        receivedAt: now,
        expiresAt: now + 60_000,
        credentialId: null,
        clientIp: '127.0.0.1',
        isDsn: false,
      },
    ]);
    await waitFor(() => wakes > 0, { what: 'the NOTIFY of the commit' });
    assert.equal(wakes, 1);
    await listener.stop();
  } finally {
    await listening.close();
    await writing.close();
  }
});

test(
  'smtp, worker and http roles as three instances: mail in through the first is delivered by the second and shown by the third',
  NEEDS_POSTGRES,
  async () => {
    const sink = await startSmtpSink({ tls: 'none' });
    const dirs: TempDir[] = [];
    const children: GatewayProcess[] = [];
    const shared = {
      RELAYGATE_DATABASE_URL: schemaUrl(`roles-${randomBytes(6).toString('hex')}`),
      RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
      RELAYGATE_SMARTHOST: `smtp://127.0.0.1:${sink.port}?tls=none`,
      RELAYGATE_LOG_LEVEL: 'warn',
    };
    try {
      const envs: Record<string, NodeJS.ProcessEnv> = {};
      for (const role of ['smtp', 'worker', 'http']) {
        const dir = await tempDir(`relaygate-role-${role}-`);
        dirs.push(dir);
        envs[role] = gatewayEnv(dir.path, { ...shared, RELAYGATE_ROLE: role });
      }
      const smtpEnv = envs.smtp as NodeJS.ProcessEnv;
      await verifyTestDomainsIn(smtpEnv);
      const created = await runCli(['credential', 'create', '--kind', 'submission', '--description', 'roles', '--json'], smtpEnv);
      assert.equal(created.code, 0, created.stderr);
      const credential = JSON.parse(created.stdout) as SubmitCredential;
      const [smtp, worker, http] = (await Promise.all(['smtp', 'worker', 'http'].map((role) => spawnGateway(envs[role] as NodeJS.ProcessEnv)))) as [
        GatewayProcess,
        GatewayProcess,
        GatewayProcess,
      ];
      children.push(smtp, worker, http);

      assert.equal(http.ports.smtp, 0, 'the http role opens no SMTP listener');
      assert.equal(worker.ports.smtp, 0, 'the worker role opens no SMTP listener');
      for (const instance of [smtp, worker, http]) {
        const ready = await fetch(`http://127.0.0.1:${instance.ports.http}/readyz`);
        assert.equal(ready.status, 200, `every role answers /readyz: ${await ready.text()}`);
      }
      assert.equal((await fetch(`http://127.0.0.1:${smtp.ports.http}/api/v1/messages`)).status, 404, 'the admin API belongs to the http role');

      const { queueId } = await submit(smtp.ports.smtp, credential, {
        from: 'support@example.com',
        to: ['customer@example.net'],
        raw: applicationMessage('roles'),
      });
      const [delivered] = await sink.waitForMessages(1, 30_000);
      assert.match(delivered?.raw.toString() ?? '', /Subject: roles/);
      // The worker counts the delivery when it records the outcome, just after the sink's 250.
      const counted = /relaygate_delivery_attempts_total\{[^}]*outcome="delivered"[^}]*\} 1/;
      await waitFor(async () => counted.test(await (await fetch(`http://127.0.0.1:${worker.ports.http}/metrics`)).text()), {
        what: 'the worker instance to count the delivery in its /metrics',
      });

      const token = await runCli(['token', 'create', '--description', 'roles', '--json'], envs.http as NodeJS.ProcessEnv);
      assert.equal(token.code, 0, token.stderr);
      const secret = (JSON.parse(token.stdout) as { secret: string }).secret;
      const shown = await waitFor(
        async () => {
          const answer = await fetch(`http://127.0.0.1:${http.ports.http}/api/v1/messages/${queueId}`, { headers: { authorization: `Bearer ${secret}` } });
          const body = (await answer.json()) as { recipients?: { status: string }[] };
          return body.recipients?.[0]?.status === 'delivered' ? body : undefined;
        },
        { what: 'the http instance to show the message delivered' },
      );
      assert.equal(shown.recipients?.length, 1);
    } finally {
      for (const child of children) child.child.kill('SIGTERM');
      await Promise.all(children.map((c) => c.exited));
      await sink.stop();
      for (const dir of dirs) await dir.cleanup();
    }
  },
);

test('an instance whose keys differ from those the shared store was set up with refuses to start and says which to fix', NEEDS_POSTGRES, async () => {
  const databaseUrl = schemaUrl(`keys-${randomBytes(6).toString('hex')}`);
  const keys = {
    RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
    RELAYGATE_AUDIT_KEY: randomBytes(32).toString('base64'),
  };
  const dirs = await Promise.all([1, 2, 3].map((n) => tempDir(`relaygate-keys-${n}-`)));
  const first = await spawnGateway(gatewayEnv((dirs[0] as TempDir).path, { RELAYGATE_DATABASE_URL: databaseUrl, ...keys }));
  try {
    await assert.rejects(
      spawnGateway(
        gatewayEnv((dirs[1] as TempDir).path, {
          RELAYGATE_DATABASE_URL: databaseUrl,
          ...keys,
          RELAYGATE_CREDENTIAL_HASH_KEY: randomBytes(32).toString('base64'),
        }),
      ),
      /same RELAYGATE_CREDENTIAL_HASH_KEY/,
    );
    await assert.rejects(
      spawnGateway(
        gatewayEnv((dirs[2] as TempDir).path, { RELAYGATE_DATABASE_URL: databaseUrl, ...keys, RELAYGATE_MASTER_KEY: randomBytes(32).toString('base64') }),
      ),
      /does not hold.*same RELAYGATE_MASTER_KEY/s,
    );
  } finally {
    first.child.kill('SIGTERM');
    await first.exited;
    for (const dir of dirs) await dir.cleanup();
  }
});

test('a sweep runs on one instance at a time: the second instance skips the round the first is running', NEEDS_POSTGRES, async () => {
  const config = loadConfig({ env: { RELAYGATE_DATABASE_URL: schemaUrl(`exclusive-${randomBytes(6).toString('hex')}`) } });
  const [one, two] = await Promise.all([openStore(config), openStore(config)]);
  try {
    const ran: string[] = [];
    let finishFirst: () => void = () => undefined;
    const first = exclusively(one.db, 'maintenance', async () => {
      ran.push('first');
      await new Promise<void>((resolve) => {
        finishFirst = resolve;
      });
    });
    await waitFor(() => ran.length === 1, { what: 'the first sweep to start' });
    await exclusively(two.db, 'maintenance', async () => void ran.push('second, meanwhile'));
    await exclusively(two.db, 'dkim-checks', async () => void ran.push('another job'));
    finishFirst();
    await first;
    await exclusively(two.db, 'maintenance', async () => void ran.push('second, afterwards'));
    assert.deepEqual(ran, ['first', 'another job', 'second, afterwards']);
  } finally {
    await one.close();
    await two.close();
  }
});
