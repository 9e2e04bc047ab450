import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../src/app/open-store.js';
import { addressOwner, verifiedDomainsOf } from '../src/directory/verified-senders.js';
import { sqlAddressStore } from '../src/store/addresses/index.js';
import { assertProblem, type Json, pendingDomain, verifiedDomain } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';

interface AddressJson {
  id: string;
  address: string;
  kind: string;
  description: string;
  domain: string;
  aliases: string[];
  createdAt: string;
}

const PER_DOMAIN = 3;

describe('addresses and aliases over the admin API', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  let token: string;
  const api = (path: string, init: { method?: string; body?: unknown } = {}) => gw.api(path, { ...init, token });
  const add = (body: Json) => api('/api/v1/addresses', { method: 'POST', body });
  const shape = (a: AddressJson) => ({ address: a.address, kind: a.kind, description: a.description, domain: a.domain, aliases: a.aliases });

  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address, 'limits.addressesPerDomain': PER_DOMAIN, 'limits.domainsPerOrganisation': 20 });
    token = await gw.createApiToken('addresses suite');
    for (const name of ['acme.example', 'secure.acme.example', 'other.example', 'limit.example']) await verifiedDomain(gw, dns, token, name);
    await pendingDomain(gw, token, 'pending.example');
  });
  after(async () => {
    await gw.stop();
    await dns.stop();
  });

  test('support addresses and functional accounts, with aliases in any verified domain of the organisation; lists are paginated', async () => {
    const support = await add({
      address: 'customerservice@acme.example',
      kind: 'support',
      description: 'Customer service',
      aliases: ['customerservice@secure.acme.example'],
    });
    assert.equal(support.status, 201, support.text);
    assert.deepEqual(shape(support.body as AddressJson), {
      address: 'customerservice@acme.example',
      kind: 'support',
      description: 'Customer service',
      domain: 'acme.example',
      aliases: ['customerservice@secure.acme.example'],
    });
    const functional = await add({ address: 'billing@acme.example', kind: 'functional' });
    assert.equal(functional.status, 201, functional.text);
    assert.deepEqual(shape(functional.body as AddressJson), {
      address: 'billing@acme.example',
      kind: 'functional',
      description: '',
      domain: 'acme.example',
      aliases: [],
    });
    assert.deepEqual((await api('/api/v1/addresses/customerservice@acme.example')).body, support.body);

    const page = (await api('/api/v1/addresses?domain=acme.example&limit=1&offset=1')).body as { items: AddressJson[] };
    assert.deepEqual({ ...page, items: page.items.map((a) => a.address) }, { items: ['customerservice@acme.example'], total: 2, limit: 1, offset: 1 });
    const functionalOnly = (await api('/api/v1/addresses?kind=functional')).body as { items: AddressJson[] };
    assert.deepEqual(
      functionalOnly.items.map((a) => a.address),
      ['billing@acme.example'],
    );
    assert.equal(((await api('/api/v1/domains/acme.example')).body as Json).addresses, 2);
  });

  test('only verified domains of the organisation: a pending or unknown domain is a 422 naming the field, and nothing is kept', async () => {
    assertProblem(
      await add({ address: 'help@pending.example', kind: 'support' }),
      422,
      '"help@pending.example" is in pending.example, which is pending verification: publish its TXT record (relaygate domain show pending.example), then run relaygate domain verify pending.example',
      'address',
    );
    assertProblem(
      await add({ address: 'help@unknown.example', kind: 'support' }),
      422,
      '"help@unknown.example" is not in a domain of this organisation: add and verify unknown.example first (relaygate domain add unknown.example)',
      'address',
    );
    // The address is valid, its second alias is not: the whole request is refused.
    const refused = await add({ address: 'help@other.example', kind: 'support', aliases: ['help@secure.acme.example', 'help@pending.example'] });
    assertProblem(refused, 422, /^"help@pending\.example" is in pending\.example, which is pending verification/, 'aliases.1');
    assert.equal((await api('/api/v1/addresses/help@other.example')).status, 404);
    assert.equal((await add({ address: 'help@secure.acme.example', kind: 'support' })).status, 201, 'the alias was not kept either');
    assert.equal((await api('/api/v1/addresses/help@secure.acme.example', { method: 'DELETE' })).status, 200);
  });

  test("the gateway's own system addresses can never be added, as addresses or as aliases", async () => {
    const reserved = 'is a system address of the gateway (postmaster, mailer-daemon, abuse are reserved in every domain): it cannot be added';
    for (const address of ['postmaster@acme.example', 'mailer-daemon@acme.example', 'abuse@acme.example'])
      assertProblem(await add({ address, kind: 'functional' }), 422, `"${address}" ${reserved}`, 'address');
    // The hostname domain is the gateway's, claimed or not.
    assertProblem(
      await add({ address: 'support@gateway.test', kind: 'support' }),
      422,
      '"support@gateway.test" is at the gateway\'s own hostname gateway.test, reserved for its system addresses',
      'address',
    );
    assertProblem(
      await api('/api/v1/addresses/customerservice@acme.example/aliases', { method: 'POST', body: { alias: 'postmaster@secure.acme.example' } }),
      422,
      `"postmaster@secure.acme.example" ${reserved}`,
      'alias',
    );
    assertProblem(
      await add({ address: 'team@acme.example', kind: 'support', aliases: ['abuse@secure.acme.example'] }),
      422,
      /is a system address/,
      'aliases.0',
    );
  });

  test('addresses are plain lowercase mailboxes; the kind is support or functional', async () => {
    const cases: [string, string][] = [
      // One spelling per mailbox, so that a sender cannot slip past a check by case.
      ['Support@acme.example', 'must be lowercase: use "support@acme.example"'],
      ['support', 'is not an address such as support@example.com'],
      ['"john doe"@acme.example', 'has a quoted local part, which the gateway does not accept: use a plain one such as support'],
      ['jörg@acme.example', 'has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531), not offered here'],
      ['john..doe@acme.example', "has a local part that is not a dot-atom (RFC 5322 §3.2.3): letters, digits, !#$%&'*+/=?^_`{|}~- and single inner dots"],
      [`${'a'.repeat(65)}@acme.example`, 'has a local part longer than 64 characters (RFC 5321 §4.5.3.1.1)'],
      ['support@acme.example.', 'has a domain that must not end with a dot: use "acme.example"'],
    ];
    for (const [address, problem] of cases) assertProblem(await add({ address, kind: 'support' }), 422, `"${address}" ${problem}`, 'address');
    assertProblem(await add({ address: 'x@acme.example', kind: 'robot' }), 400, /^kind must be equal to one of the allowed values/, 'kind');
  });

  test('an address or alias exists once across both: a taken one is a 409 conflict naming the field', async () => {
    assertProblem(
      await add({ address: 'customerservice@acme.example', kind: 'support' }),
      409,
      'customerservice@acme.example is already an address',
      'address',
    );
    assertProblem(
      await add({ address: 'customerservice@secure.acme.example', kind: 'support' }),
      409,
      'customerservice@secure.acme.example is already an alias of customerservice@acme.example',
      'address',
    );
    const aliases = '/api/v1/addresses/customerservice@acme.example/aliases';
    assertProblem(await api(aliases, { method: 'POST', body: { alias: 'billing@acme.example' } }), 409, 'billing@acme.example is already an address', 'alias');
    assertProblem(
      await api(aliases, { method: 'POST', body: { alias: 'customerservice@acme.example' } }),
      422,
      '"customerservice@acme.example" is the address itself, not an alias of it',
      'alias',
    );
  });

  test(`at most ${PER_DOMAIN} addresses and aliases per domain (limits.addressesPerDomain), with a clear error`, async () => {
    assert.equal((await add({ address: 'a@limit.example', kind: 'support', aliases: ['b@limit.example'] })).status, 201);
    assert.equal((await add({ address: 'c@limit.example', kind: 'support' })).status, 201);
    const limit =
      'limit.example already has 3 addresses and aliases, the limit (limits.addressesPerDomain): remove one, or raise RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN';
    const refused = await add({ address: 'd@limit.example', kind: 'support' });
    assert.equal(assertProblem(refused, 409, limit, 'address').title, 'Limit reached');
    assertProblem(await api('/api/v1/addresses/a@limit.example/aliases', { method: 'POST', body: { alias: 'e@limit.example' } }), 409, limit, 'alias');
    assertProblem(await add({ address: 'x@other.example', kind: 'support', aliases: ['y@limit.example'] }), 409, limit, 'aliases.0');
    // Removing an alias makes room.
    assert.equal((await api('/api/v1/addresses/a@limit.example/aliases/b@limit.example', { method: 'DELETE' })).status, 200);
    assert.equal((await add({ address: 'd@limit.example', kind: 'support' })).status, 201);
  });

  test('aliases are added and removed; an alias is not an address; every change is audited with the actor', async () => {
    const added = await api('/api/v1/addresses/billing@acme.example/aliases', { method: 'POST', body: { alias: 'billing@secure.acme.example' } });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual((added.body as AddressJson).aliases, ['billing@secure.acme.example']);
    assertProblem(
      await api('/api/v1/addresses/billing@secure.acme.example'),
      404,
      'no address billing@secure.acme.example: it is an alias of billing@acme.example',
    );
    const removed = await api('/api/v1/addresses/billing@acme.example/aliases/billing@secure.acme.example', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual((removed.body as AddressJson).aliases, []);
    assertProblem(
      await api('/api/v1/addresses/billing@acme.example/aliases/billing@secure.acme.example', { method: 'DELETE' }),
      404,
      'billing@secure.acme.example is not an alias of billing@acme.example',
      'alias',
    );
    assertProblem(await api('/api/v1/addresses/nobody@acme.example', { method: 'DELETE' }), 404, 'no address nobody@acme.example');

    const audit = (await api('/api/v1/audit?targetId=billing@acme.example')).body as { items: Json[] };
    assert.deepEqual(
      audit.items.map((r) => [r.action, r.detail]),
      [
        ['address.alias_remove', { alias: 'billing@secure.acme.example' }],
        ['address.alias_add', { alias: 'billing@secure.acme.example' }],
        ['address.add', { id: (added.body as AddressJson).id, kind: 'functional', description: '', aliases: [] }],
      ],
    );
    assert.ok(audit.items.every((r) => /^token:tok_\w+ \(addresses suite\)$/.test(r.actor as string) && r.actorIp === '127.0.0.1'));
  });

  test('removing an address removes its aliases, which are then free', async () => {
    await add({ address: 'sales@other.example', kind: 'support', aliases: ['sales@secure.acme.example'] });
    const removed = await api('/api/v1/addresses/sales@other.example', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual((removed.body as AddressJson).aliases, ['sales@secure.acme.example']);
    assert.equal((await api('/api/v1/addresses/sales@other.example')).status, 404);
    const reused = await add({ address: 'sales@secure.acme.example', kind: 'support' });
    assert.equal(reused.status, 201, reused.text);
    await api('/api/v1/addresses/sales@secure.acme.example', { method: 'DELETE' });
    const audit = (await api('/api/v1/audit?action=address.remove&targetId=sales@other.example')).body as { items: Json[] };
    const [record] = audit.items;
    assert.ok(record);
    assert.deepEqual((record.detail as Json).aliases, ['sales@secure.acme.example']);
  });

  test('relaygate address: add with an alias, list, alias-remove, remove; a refusal says what to do', async () => {
    const env = gatewayEnv(gw.dataDir, {
      RELAYGATE_DNS_RESOLVER: dns.address,
      RELAYGATE_LIMIT_ADDRESSES_PER_DOMAIN: String(PER_DOMAIN),
      RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION: '20',
    });
    const cli = async (...args: string[]) => {
      const result = await runCli(args, env);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    assert.equal(
      await cli('address', 'add', 'desk@other.example', '--kind', 'functional', '--description', 'Help desk', '--alias', 'desk@secure.acme.example'),
      'Added functional address desk@other.example (aliases: desk@secure.acme.example).\n',
    );
    assert.match(
      await cli('address', 'list', '--domain', 'other.example'),
      /^ADDRESS\s+KIND\s+SOURCE\s+ALIASES\s+DESCRIPTION\ndesk@other\.example\s+functional\s+manual\s+desk@secure\.acme\.example\s+Help desk\n$/,
    );
    const updated = JSON.parse(await cli('address', 'alias-remove', 'desk@other.example', 'desk@secure.acme.example', '--json')) as AddressJson;
    assert.deepEqual(updated.aliases, []);
    assert.equal(await cli('address', 'remove', 'desk@other.example'), 'Removed desk@other.example.\n');
    const refused = await runCli(['address', 'add', 'help@pending.example'], env);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'relaygate: "help@pending.example" is in pending.example, which is pending verification: publish its TXT record (relaygate domain show pending.example), then run relaygate domain verify pending.example\n',
    );
  });

  test('for sender authorization: verifiedDomainsOf and addressOwner read what is proven', async () => {
    const store = await openStore(gw.config);
    try {
      const domains = await verifiedDomainsOf(sqlAddressStore(store.db), 'org_default');
      assert.ok(['acme.example', 'limit.example', 'other.example', 'secure.acme.example'].every((d) => domains.includes(d)));
      assert.ok(!domains.includes('pending.example'));
      assert.deepEqual(await verifiedDomainsOf(sqlAddressStore(store.db), 'org_nobody'), []);

      assert.deepEqual(await addressOwner(sqlAddressStore(store.db), 'CustomerService@Acme.Example'), {
        queried: 'customerservice@acme.example',
        address: 'customerservice@acme.example',
        matchedAs: 'address',
        kind: 'support',
        organisationId: 'org_default',
      });
      assert.deepEqual(await addressOwner(sqlAddressStore(store.db), 'customerservice@secure.acme.example'), {
        queried: 'customerservice@secure.acme.example',
        address: 'customerservice@acme.example',
        matchedAs: 'alias',
        kind: 'support',
        organisationId: 'org_default',
      });
      for (const unknown of ['nobody@acme.example', 'postmaster@acme.example', '', 'not an address', 'customerservice@pending.example'])
        assert.equal(await addressOwner(sqlAddressStore(store.db), unknown), undefined, unknown);
    } finally {
      await store.close();
    }
  });

  test('removing a domain removes its addresses and every alias in it, even of addresses in other domains', async () => {
    await add({ address: 'ops@secure.acme.example', kind: 'functional', aliases: ['ops@other.example'] });
    const removed = await api('/api/v1/domains/secure.acme.example', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual((removed.body as { removed: Json }).removed, {
      addresses: ['ops@secure.acme.example'],
      aliases: ['customerservice@secure.acme.example', 'ops@other.example'],
    });
    assert.deepEqual(((await api('/api/v1/addresses/customerservice@acme.example')).body as AddressJson).aliases, []);
    assert.equal((await api('/api/v1/addresses/ops@secure.acme.example')).status, 404);
    const store = await openStore(gw.config);
    try {
      assert.equal(await addressOwner(sqlAddressStore(store.db), 'customerservice@secure.acme.example'), undefined, 'the alias no longer authorizes a sender');
    } finally {
      await store.close();
    }
  });
});
