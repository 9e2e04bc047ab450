import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';
import { storedBodyIds } from './support/stored-bodies.js';
import { applicationMessage, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

interface CredentialJson {
  id: string;
  kind: string;
  description: string;
  username: string;
  secret?: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
}

// The admin verbs run as separate processes on the data directory of a running gateway,
// as an operator would use them.
describe('relaygate CLI beside a running gateway', () => {
  let gw: TestGateway;
  let env: NodeJS.ProcessEnv;
  const cli = async (...args: string[]) => runCli(args, env);
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };

  // No smarthost: accepted mail stays deferred, which is what the queue verbs need to see.
  before(async () => {
    gw = await startTestGateway({ 'queue.retryInitial': '1h', 'queue.retryMax': '1h' });
    env = gatewayEnv(gw.dataDir);
  });
  after(() => gw.stop());

  test('credential create prints a 256-bit secret once; list never shows it and records the last use', async () => {
    const created = await json<CredentialJson>('credential', 'create', '--kind', 'submission', '--description', 'Salesforce');
    assert.match(created.id, /^cred_[0-9a-z]+$/);
    assert.equal(created.description, 'Salesforce');
    assert.equal(Buffer.from(created.secret ?? '', 'base64url').length, 32, '256 bits of secret');

    const listed = await json<CredentialJson[]>('credential', 'list');
    const entry = listed.find((c) => c.id === created.id);
    assert.ok(entry);
    assert.equal(entry.secret, undefined);
    assert.equal(entry.lastUsedAt, null);
    assert.doesNotMatch(JSON.stringify(listed), new RegExp(created.secret ?? 'x'));

    await submit(
      gw.gateway.ports.smtp,
      { username: created.username, secret: created.secret ?? '' },
      { from: 'app@example.com', to: ['c@example.net'], raw: applicationMessage('usage') },
    );
    const used = await waitFor(async () => (await json<CredentialJson[]>('credential', 'list')).find((c) => c.id === created.id && c.lastUsedAt));
    assert.equal(used.lastUsedIp, '127.0.0.1');

    const table = await cli('credential', 'list');
    assert.match(table.stdout, /^ID\s+KIND\s+DESCRIPTION\s+USERNAME\s+CREATED\s+LAST USED\s+LAST IP\s+STATE\n/);
    assert.match(table.stdout, new RegExp(`${created.id}\\s+submission\\s+Salesforce\\s+${created.username}\\s+\\S+\\s+\\S+\\s+127\\.0\\.0\\.1\\s+active`));
  });

  test('credential revoke takes effect at the next AUTH: 535 5.7.8', async () => {
    const created = await json<CredentialJson>('credential', 'create', '--description', 'to revoke');
    const login = { username: created.username, secret: created.secret ?? '' };
    await submit(gw.gateway.ports.smtp, login, { from: 'app@example.com', to: ['c@example.net'], raw: applicationMessage('before-revoke') });
    const revoked = await json<CredentialJson>('credential', 'revoke', created.id);
    assert.ok(revoked.revokedAt);
    await assert.rejects(
      submit(gw.gateway.ports.smtp, login, { from: 'app@example.com', to: ['c@example.net'], raw: applicationMessage('after-revoke') }),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 535);
        assert.equal(err.response, '535 5.7.8 Authentication credentials invalid');
        return true;
      },
    );
    const unknown = await cli('credential', 'revoke', 'cred_nope');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'relaygate: no credential cred_nope; see "relaygate credential list"\n');
  });

  test('queue list, show, retry and delete', async () => {
    const created = await json<CredentialJson>('credential', 'create', '--description', 'queue');
    const { queueId } = await submit(
      gw.gateway.ports.smtp,
      { username: created.username, secret: created.secret ?? '' },
      { from: 'app@example.com', to: ['one@example.net', 'two@example.net'], raw: applicationMessage('queued') },
    );

    type Listed = {
      id: string;
      mailFrom: string;
      recipients: { address: string; status: string; attempts: number; nextAttemptAt: string | null; lastReply: string | null }[];
    };
    const listed = await waitFor(async () =>
      (await json<Listed[]>('queue', 'list')).find((m) => m.id === queueId && m.recipients.every((r) => r.attempts === 1)),
    );
    assert.equal(listed.mailFrom, 'app@example.com');
    assert.deepEqual(
      listed.recipients.map((r) => [r.address, r.status, r.attempts]),
      [
        ['one@example.net', 'deferred', 1],
        ['two@example.net', 'deferred', 1],
      ],
    );
    assert.ok(listed.recipients.every((r) => r.nextAttemptAt && r.lastReply?.startsWith('no smarthost configured')));

    const shown = await cli('queue', 'show', queueId);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^Message ${queueId}\\n  from:      app@example.com\\n`));
    assert.match(shown.stdout, /one@example\.net\s+deferred\s+1\s+\S+\s+\S+\s+no smarthost configured/);
    assert.match(shown.stdout, /History\n.*EVENT.*\n.*received/);

    const retried = await json<{ rescheduled: number }>('queue', 'retry', queueId);
    assert.equal(retried.rescheduled, 2);
    await waitFor(async () => (await json<Listed[]>('queue', 'list')).find((m) => m.id === queueId)?.recipients.every((r) => r.attempts === 2), {
      what: 'the retried attempt',
    });

    assert.ok((await storedBodyIds(gw.config)).includes(queueId));
    const deleted = await json<{ deleted: boolean }>('queue', 'delete', queueId);
    assert.equal(deleted.deleted, true);
    assert.equal((await storedBodyIds(gw.config)).includes(queueId), false);
    assert.equal(
      (await json<Listed[]>('queue', 'list', '--all')).find((m) => m.id === queueId),
      undefined,
    );
    const missing = await cli('queue', 'show', queueId);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `relaygate: no message ${queueId} in the queue; see "relaygate queue list --all"\n`);
  });
});
