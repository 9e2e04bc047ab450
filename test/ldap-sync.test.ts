import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { directoryStores } from '../src/app/directory-stores.js';
import { openStore } from '../src/app/open-store.js';
import type { Address } from '../src/directory/addresses.js';
import { ldapSync, type RunOutcome } from '../src/directory/ldap-sync.js';
import type { SyncSourceView } from '../src/directory/sync-sources.js';
import { systemClock } from '../src/lib/clock.js';
import { keyEncryptionFor } from '../src/secure/master-key.js';
import { makeLeafCert, makeTestCa, type TestCa } from './support/certs.js';
import { HARNESS_ACTOR, startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, insertDomain, runCli } from './support/gateway-process.js';
import { needsPeer } from './support/peers.js';
import { PEOPLE_DN, person, SERVICE_DN, SERVICE_PASSWORD, type Slapd, slapdUnavailable, startSlapd } from './support/slapd.js';
import { type TempDir, tempDir } from './support/temp-dir.js';
import { onlyOn, TEST_ENGINE } from './support/test-database.js';
import { waitFor } from './support/wait-for.js';

/**
 * The LDAP pull against a real OpenLDAP (slapd) holding inetOrgPerson entries with AD's
 * attributes beside them: the CLI saves the source and runs it, the gateway's worker runs it
 * on its schedule, and the addresses follow the directory.
 */
describe('LDAP directory pull', needsPeer(slapdUnavailable()), () => {
  let dir: TempDir;
  let ca: TestCa;
  let slapd: Slapd;
  let plain: Slapd;
  let google: Slapd;
  let gw: TestGateway;
  let caFile: string;
  const cliEnv = (extra: Record<string, string> = {}) =>
    gatewayEnv(gw.dataDir, { RELAYGATE_DIRECTORY_SYNC_ALIAS_DOMAINS: 'example.com=secure.example.com', ...extra });
  const cli = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    runCli(args, cliEnv(options.env), options.input === undefined ? {} : { input: options.input });
  const source = (url: string, extra: string[] = []) => [
    'directory',
    'sync',
    '--ldap',
    url,
    '--base',
    PEOPLE_DN,
    '--filter',
    '(objectClass=inetOrgPerson)',
    '--bind-dn',
    SERVICE_DN,
    '--bind-password-stdin',
    ...extra,
  ];
  const addresses = async (): Promise<Map<string, Address>> => {
    const page = await gw.services((s) => s.addresses.list({ limit: 500, offset: 0 }));
    return new Map(page.items.map((a) => [a.address, a]));
  };
  const shown = async (): Promise<SyncSourceView | null> => {
    const result = await cli(['directory', 'show', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as SyncSourceView | null;
  };

  before(async () => {
    dir = await tempDir('relaygate-ldap-');
    ca = await makeTestCa();
    const leaf = await makeLeafCert(ca, ['localhost']);
    caFile = join(dir.path, 'ca.pem');
    await writeFile(caFile, ca.caCert);
    slapd = await startSlapd(join(dir.path, 'slapd'), ca, leaf);
    plain = await startSlapd(join(dir.path, 'plain'), ca, leaf, { tls: false });
    google = await startSlapd(join(dir.path, 'google'), ca, leaf, { clientCertificates: true });
    await google.add(person('gwuser', { mail: 'gwuser@example.com' }));
    const client = await makeLeafCert(ca, ['relaygate-client']);
    await writeFile(join(dir.path, 'client.pem'), client.cert);
    await writeFile(join(dir.path, 'client.key'), client.key);
    await slapd.add(
      [
        person('alice', { mail: 'alice@example.com', displayName: 'Alice Example', mailAlternateAddress: 'a.example@example.com' }),
        person('bob', { mail: 'bob@example.com', proxyAddresses: ['SMTP:bob@example.com', 'smtp:robert@example.com', 'SIP:bob@example.com'] }),
        person('carol', { mail: 'carol@example.com', userAccountControl: '514' }),
        person('dave', { mail: 'dave@example.com', userAccountControl: '512' }),
        person('manual', { mail: 'helpdesk@example.com' }),
        person('nomail', {}),
      ].join('\n'),
    );
    gw = await startTestGateway({ 'directorySync.aliasDomains': 'example.com=secure.example.com' });
    await gw.db((db) => insertDomain(db, 'secure.example.com'));
    await gw.services((s) => s.addresses.add({ address: 'helpdesk@example.com', kind: 'support', description: 'by hand' }, HARNESS_ACTOR));
  });
  after(async () => {
    await gw?.stop();
    await slapd?.stop();
    await plain?.stop();
    await google?.stop();
    await dir?.cleanup();
  });

  test('refusals change nothing and name the flag: plain LDAP, an untrusted certificate, a wrong password', async () => {
    const noTls = await cli(source(plain.ldapUrl, ['--ca', caFile]), { input: SERVICE_PASSWORD });
    assert.equal(noTls.code, 1, noTls.stdout);
    assert.match(noTls.stdout, /refused StartTLS .*never sends a password or reads the directory unencrypted/);

    const untrusted = await cli(source(slapd.ldapsUrl), { input: SERVICE_PASSWORD });
    assert.equal(untrusted.code, 1, untrusted.stdout);
    assert.match(untrusted.stdout, /TLS with ldaps:\/\/127\.0\.0\.1:\d+ failed: .*(self[- ]signed|local issuer|unable to verify).*--ca FILE/i);

    const wrong = await cli(source(slapd.ldapUrl, ['--ca', caFile, '--json']), { input: 'not-the-password' });
    assert.equal(wrong.code, 1);
    const outcome = JSON.parse(wrong.stdout) as RunOutcome;
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.flag, '--bind-dn');
    assert.match(outcome.error ?? '', /refused the bind as cn=relaygate.*wrong --bind-dn or password/);

    const badBase = await cli(source(slapd.ldapUrl, ['--ca', caFile, '--base', 'ou=nobody,dc=example,dc=com']), { input: SERVICE_PASSWORD });
    assert.match(badBase.stdout, /base DN "ou=nobody,dc=example,dc=com" does not exist.*--base/);

    assert.equal(await shown(), null, 'no source saved');
    assert.deepEqual([...(await addresses()).keys()], ['helpdesk@example.com']);
  });

  test('a server that demands a client certificate (Google Secure LDAP) is read with --client-cert/--client-key', async () => {
    const googleSync = ['directory', 'sync', '--ldap', google.ldapsUrl, '--base', PEOPLE_DN, '--ca', caFile, '--dry-run'];
    const without = await cli(googleSync);
    assert.equal(without.code, 1, without.stdout);
    assert.match(without.stdout, /ldaps:.* (closed the connection|failed).*--client-cert and --client-key/);
    const withCert = await cli([...googleSync, '--client-cert', join(dir.path, 'client.pem'), '--client-key', join(dir.path, 'client.key')]);
    assert.equal(withCert.code, 0, withCert.stderr + withCert.stdout);
    assert.match(
      withCert.stdout,
      /^Dry run: 1 directory entries; 1 changes would be made, nothing was changed:\n {2}add {5}gwuser@example\.com {2}alias \+gwuser@secure\.example\.com$/m,
    );
    assert.equal(await shown(), null, 'a dry run saves nothing');
  });

  test('a first pull over StartTLS creates the addresses and aliases, leaves the manual one alone and reports it', async () => {
    const first = await cli(source(slapd.ldapUrl, ['--ca', caFile, '--every', '1h', '--json']), { input: `${SERVICE_PASSWORD}\n` });
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const outcome = JSON.parse(first.stdout) as RunOutcome;
    assert.equal(outcome.status, 'ok');
    assert.deepEqual(outcome.result?.changes.map((c) => `${c.action} ${c.address}`).sort(), [
      'add alice@example.com',
      'add bob@example.com',
      'add carol@example.com',
      'add dave@example.com',
    ]);
    assert.deepEqual(
      outcome.result?.refused.map((r) => [r.kind, r.address]),
      [
        ['no-address', `uid=nomail,${PEOPLE_DN}`],
        ['manual', 'helpdesk@example.com'],
      ],
    );
    const all = await addresses();
    const alice = all.get('alice@example.com');
    assert.equal(alice?.source, 'ldap');
    assert.equal(alice?.description, 'Alice Example');
    assert.match(alice?.externalId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-/, 'entryUUID');
    assert.deepEqual(alice?.aliases.sort(), ['a.example@example.com', 'alice@secure.example.com']);
    assert.deepEqual(all.get('bob@example.com')?.aliases.sort(), ['bob@secure.example.com', 'robert@example.com'], 'smtp: proxyAddresses, not SIP:');
    assert.notEqual(all.get('carol@example.com')?.suspendedAt, null, 'AD disabled bit (514) suspends');
    assert.equal(all.get('dave@example.com')?.suspendedAt, null);
    const manual = all.get('helpdesk@example.com');
    assert.deepEqual([manual?.source, manual?.description], ['manual', 'by hand']);

    const audit = (
      await gw.db((db) => db.selectFrom('audit_log').select(['action', 'target_id', 'actor']).where('action', '=', 'address.sync_add').execute())
    ).map((r) => r.target_id);
    assert.deepEqual(audit.sort(), ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com']);

    const view = await shown();
    assert.equal(view?.lastRun?.status, 'ok');
    assert.equal(view?.hasBindPassword, true);
    assert.equal(view?.intervalMs, 3_600_000);
  });

  test('the bind password is sealed: not in the database in clear, and opened only as what it was sealed as', async () => {
    const row = await gw.db((db) => db.selectFrom('directory_sync_sources').selectAll().executeTakeFirstOrThrow());
    assert.match(row.bind_password_sealed ?? '', /^v2\./);
    assert.doesNotMatch(JSON.stringify(row), new RegExp(SERVICE_PASSWORD));
    for (const name of TEST_ENGINE === 'sqlite' ? ['relaygate.db', 'relaygate.db-wal'] : []) {
      assert.equal(readFileSync(join(gw.dataDir, name)).includes(SERVICE_PASSWORD), false, `${name} holds no plaintext password`);
    }
  });

  test('directory changes: the dry run prints them and changes nothing; --now makes them, each audited', async () => {
    await slapd.modify(`dn: uid=alice,${PEOPLE_DN}
changetype: modify
add: mailAlternateAddress
mailAlternateAddress: ali@example.com

dn: uid=dave,${PEOPLE_DN}
changetype: modify
replace: userAccountControl
userAccountControl: 514

dn: uid=carol,${PEOPLE_DN}
changetype: modify
replace: userAccountControl
userAccountControl: 512

dn: uid=bob,${PEOPLE_DN}
changetype: delete
`);
    await slapd.add(person('erin', { mail: 'erin@example.com' }));
    const before = await addresses();
    const dry = await cli(['directory', 'sync', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Dry run: 6 directory entries; 5 changes would be made, nothing was changed:$/m);
    assert.match(dry.stdout, /^ {2}remove {2}bob@example\.com +alias -bob@secure\.example\.com, alias -robert@example\.com$/m);
    assert.match(dry.stdout, /^ {2}update {2}alice@example\.com +alias \+ali@example\.com$/m);
    assert.match(dry.stdout, /^ {2}update {2}carol@example\.com +resume$/m);
    assert.match(dry.stdout, /^ {2}update {2}dave@example\.com +suspend$/m);
    assert.match(dry.stdout, /^ {2}add {5}erin@example\.com +alias \+erin@secure\.example\.com$/m);
    assert.match(dry.stdout, /^ {2}manual {2}helpdesk@example\.com: .*leaves it alone/m);
    assert.deepEqual(await addresses(), before, 'a dry run changes nothing');

    const now = await cli(['directory', 'sync', '--now']);
    assert.equal(now.code, 0, now.stderr + now.stdout);
    assert.match(now.stdout, /^Pulled 6 directory entries: 5 changes, 0 unchanged\.$/m);
    const all = await addresses();
    assert.equal(all.has('bob@example.com'), false);
    assert.deepEqual(all.get('alice@example.com')?.aliases.sort(), ['a.example@example.com', 'ali@example.com', 'alice@secure.example.com']);
    assert.notEqual(all.get('dave@example.com')?.suspendedAt, null);
    assert.equal(all.get('carol@example.com')?.suspendedAt, null);
    assert.equal(all.get('erin@example.com')?.source, 'ldap');
    const actions = await gw.db((db) =>
      db.selectFrom('audit_log').select(['action', 'target_id']).where('action', 'in', ['address.sync_remove', 'address.suspend', 'address.resume']).execute(),
    );
    assert.deepEqual(actions.map((a) => `${a.action} ${a.target_id}`).sort(), [
      'address.resume carol@example.com',
      'address.suspend dave@example.com',
      'address.sync_remove bob@example.com',
    ]);
  });

  test('a limit that refuses users is reported, in the dry run and the run, and the others go ahead', async () => {
    await slapd.add([person('frank', { mail: 'frank@example.com' }), person('grace', { mail: 'grace@example.com', relaygateInactive: 'TRUE' })].join('\n'));
    // example.com holds helpdesk, alice (+2 aliases), carol, dave, erin: 7 with the aliases; 8 lets frank in, not grace.
    const env = { RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN: '8' };
    const dry = await cli(['directory', 'sync', '--dry-run', '--json'], { env });
    const planned = JSON.parse(dry.stdout) as RunOutcome;
    assert.deepEqual(
      planned.result?.changes.map((c) => c.address),
      ['frank@example.com'],
    );
    const limited = planned.result?.refused.find((r) => r.kind === 'limit');
    assert.equal(limited?.address, 'grace@example.com');
    assert.match(limited?.reason ?? '', /already has 8 addresses and aliases, the limit \(limits\.addressesPerDomain\)/);
    assert.equal((await addresses()).has('frank@example.com'), false);

    const run = await cli(['directory', 'sync', '--now'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ {2}limit {2}grace@example\.com: example\.com already has 8 addresses/m);
    const all = await addresses();
    assert.equal(all.has('frank@example.com'), true);
    assert.equal(all.has('grace@example.com'), false);
    assert.equal(
      (await shown())?.lastRun?.result?.refused.some((r) => r.kind === 'limit' && r.address === 'grace@example.com'),
      true,
    );
  });

  test('LDAPS works as StartTLS does, an inactive attribute suspends; a filter that matches almost nobody removes nothing without --allow-mass-removal', async () => {
    const ldaps = await cli(source(slapd.ldapsUrl, ['--ca', caFile, '--every', '1h', '--inactive-attribute', 'relaygateInactive']), {
      input: SERVICE_PASSWORD,
    });
    assert.equal(ldaps.code, 0, ldaps.stderr + ldaps.stdout);
    assert.match(ldaps.stdout, /^Pulled 8 directory entries: 1 changes, 5 unchanged\.$/m, 'grace is in now');
    assert.equal((await shown())?.url, slapd.ldapsUrl);
    assert.notEqual((await addresses()).get('grace@example.com')?.suspendedAt, null, 'the inactive attribute suspends');

    const before = await addresses();
    const narrow = await cli([
      'directory',
      'sync',
      '--ldap',
      slapd.ldapsUrl,
      '--base',
      PEOPLE_DN,
      '--filter',
      '(uid=alice)',
      '--bind-dn',
      SERVICE_DN,
      '--ca',
      caFile,
    ]);
    assert.equal(narrow.code, 1, narrow.stderr);
    assert.match(narrow.stdout, /Nothing was changed: the directory answered without 5 of the 6 synced addresses.*--allow-mass-removal/);
    assert.deepEqual(await addresses(), before);
    assert.equal((await shown())?.filter, '(objectClass=inetOrgPerson)', 'a refused source is not saved');
  });

  test('the gateway pulls on its schedule; a failing scheduled run keeps the addresses and records the error', async () => {
    const saved = await cli(source(slapd.ldapUrl, ['--ca', caFile, '--every', '1s']), { input: SERVICE_PASSWORD });
    assert.equal(saved.code, 0, saved.stderr + saved.stdout);
    await slapd.add(person('heidi', { mail: 'heidi@example.com', relaygateInactive: 'FALSE' }));
    const heidi = await waitFor(async () => (await addresses()).get('heidi@example.com'), { what: 'the scheduled pull to add heidi', timeoutMs: 60_000 });
    assert.equal(heidi.source, 'ldap');
    const actor = await gw.db((db) =>
      db
        .selectFrom('audit_log')
        .select('actor')
        .where('action', '=', 'address.sync_add')
        .where('target_id', '=', 'heidi@example.com')
        .executeTakeFirstOrThrow(),
    );
    assert.equal(actor.actor, 'system:ldap-sync');

    const before = await addresses();
    await slapd.modify(`dn: ${SERVICE_DN}
changetype: modify
replace: userPassword
userPassword: changed-on-the-server
`);
    const failed = await waitFor(
      async () => {
        const view = await shown();
        return view?.lastRun?.status === 'failed' ? view.lastRun : undefined;
      },
      { what: 'a scheduled run to fail', timeoutMs: 60_000 },
    );
    assert.match(failed.error ?? '', /refused the bind as cn=relaygate/);
    assert.deepEqual(await addresses(), before, 'a failed pull removes nothing');
    const show = await cli(['directory', 'show']);
    assert.match(show.stdout, /^ {2}last run: .*, failed$/m);
    assert.match(show.stdout, /^ {2}error: {4}the directory refused the bind/m);
    assert.doesNotMatch(show.stdout, new RegExp(SERVICE_PASSWORD));
  });

  test(
    'instances sharing PostgreSQL take turns: while one holds the pull, another neither pulls nor runs --now',
    onlyOn('postgres', 'only PostgreSQL is shared by several instances'),
    async () => {
      const [holder, other] = [await openStore(gw.config), await openStore(gw.config)];
      try {
        const sync = ldapSync(
          { clock: systemClock, syncCommitted: other.syncCommitted },
          gw.config,
          () => keyEncryptionFor(gw.config),
          directoryStores(other.db),
        );
        await holder.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_xact_lock(hashtext('relaygate:ldap-sync')) as got`.execute(trx);
          assert.equal(rows[0]?.got, true);
          await other.db.updateTable('directory_sync_sources').set({ last_run_at: null, last_status: null }).execute();
          assert.equal(await sync.runIfDue(), undefined, 'a due pull waits for the instance holding the lock');
          const now = await sync.run({ dryRun: false, actor: HARNESS_ACTOR });
          assert.equal(now?.status, 'failed');
          assert.match(now?.error ?? '', /another instance is pulling the directory right now/);
        });
        // Free again: this instance or the gateway's worker (whichever takes the lock first) pulls.
        await sync.runIfDue();
        await waitFor(async () => ((await sync.sources.get())?.lastRun ? true : undefined), { what: 'the due pull to run once the lock is free' });
      } finally {
        await holder.close();
        await other.close();
      }
    },
  );
});
