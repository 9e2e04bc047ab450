import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { assertProblem, type Json, pendingDomain } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { gatewayEnv, runCli } from './support/gateway-process.js';

interface DomainJson {
  name: string;
  status: string;
  verificationRecord: { type: string; name: string; value: string };
  verifiedAt: string | null;
  verifiedBy: string | null;
  lastCheck: { at: string; outcome: string; detail: string; found: string[] } | null;
  addresses: number;
}
type VerifyJson = { domain: DomainJson; check: { outcome: string; detail: string; found: string[] } | null };

// Every lookup goes to the local server: the gateway's dnsResolver points at it, never at the machine's resolver.
describe('domains over the admin API, proven through a local DNS server', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  let token: string;
  const api = (path: string, init: { method?: string; body?: unknown } = {}) => gw.api(path, { ...init, token });
  const verify = async (name: string) => {
    const response = await api(`/api/v1/domains/${name}/verify`, { method: 'POST' });
    assert.equal(response.status, 200, response.text);
    return response.body as VerifyJson;
  };

  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address, 'limits.domainsPerOrganisation': 20 });
    token = await gw.createApiToken('domains suite');
  });
  after(async () => {
    await gw.stop();
    await dns.stop();
  });

  test('add answers the TXT record to publish; a subdomain is a domain of its own with its own record', async () => {
    const added = await api('/api/v1/domains', { method: 'POST', body: { name: 'acme.example' } });
    assert.equal(added.status, 201, added.text);
    const apex = added.body as DomainJson & Json;
    assert.equal(apex.status, 'pending');
    assert.equal(apex.organisationId, 'org_default');
    assert.deepEqual(apex.verificationRecord.name, '_relaygate.acme.example');
    assert.match(apex.verificationRecord.value, /^relaygate-domain-verification=[0-9a-f]{32}$/);
    assert.deepEqual([apex.verifiedAt, apex.verifiedBy, apex.lastCheck, apex.addresses], [null, null, null, 0]);

    const sub = (await api('/api/v1/domains', { method: 'POST', body: { name: 'secure.acme.example' } })).body as DomainJson;
    assert.equal(sub.verificationRecord.name, '_relaygate.secure.acme.example');
    assert.notEqual(sub.verificationRecord.value, apex.verificationRecord.value);
    assert.deepEqual((await api('/api/v1/domains/secure.acme.example')).body, sub);

    const page = await api('/api/v1/domains?status=pending&limit=1&offset=1');
    assert.equal(page.status, 200);
    const { items, ...envelope } = page.body as { items: DomainJson[] };
    assert.deepEqual(envelope, { total: 2, limit: 1, offset: 1 });
    assert.deepEqual(
      items.map((d) => d.name),
      ['secure.acme.example'],
    );

    // Proving the apex proves nothing of the subdomain.
    dns.set(apex.verificationRecord.name, { txt: [apex.verificationRecord.value] });
    assert.equal((await verify('acme.example')).domain.status, 'verified');
    const pending = (await api('/api/v1/domains?status=pending')).body as { items: DomainJson[] };
    assert.deepEqual(
      pending.items.map((d) => d.name),
      ['secure.acme.example'],
    );
  });

  test('names must be lowercase hostnames in IDNA A-label form, without a trailing dot; the gateway hostname is refused', async () => {
    const cases: [string, string][] = [
      // DNS is case-insensitive; one spelling per domain keeps one row and one proof.
      ['Example.org', '"Example.org" must be lowercase: use "example.org"'],
      // The root label is implied in mail; a trailing dot would make a second spelling.
      ['example.org.', '"example.org." must not end with a dot: use "example.org"'],
      // Internationalised names are kept as the A-label DNS serves.
      ['bücher.example', '"bücher.example" must be in its IDNA A-label form: use "xn--bcher-kva.example"'],
      ['xn--zz.example', '"xn--zz.example" has an A-label ("xn--") that is not valid punycode'],
      ['ab--cd.example', '"ab--cd.example" has a label "ab--cd" with "--" in the 3rd and 4th positions, reserved for IDNA'],
      ['localhost', '"localhost" must have at least two labels, e.g. example.com'],
      ['-shop.example', '"-shop.example" has a label "-shop" with characters other than a-z, 0-9 and inner hyphens'],
      ['mail_1.example', '"mail_1.example" has a label "mail_1" with characters other than a-z, 0-9 and inner hyphens'],
      ['a..example', '"a..example" has an empty label (two dots in a row, or a leading dot)'],
      ['192.0.2.1', '"192.0.2.1" is an IP address or ends in an all-numeric label: use a domain name'],
      [`${'a'.repeat(64)}.example`, `"${'a'.repeat(64)}.example" has a label longer than 63 characters: "${'a'.repeat(20)}…"`],
      // The gateway's own name carries its postmaster and bounces.
      [
        'gateway.test',
        /* hostname of the test gateway */ `"gateway.test" is the gateway's own hostname, where its system addresses (postmaster, bounces) live: it cannot be claimed (hostname setting is gateway.test)`,
      ],
    ];
    for (const [name, detail] of cases) assertProblem(await api('/api/v1/domains', { method: 'POST', body: { name } }), 422, detail, 'name');
    assertProblem(await api('/api/v1/domains', { method: 'POST', body: { name: '' } }), 400, 'name must NOT have fewer than 1 characters', 'name');
    const aLabel = await api('/api/v1/domains', { method: 'POST', body: { name: 'xn--bcher-kva.example' } });
    assert.equal(aLabel.status, 201, aLabel.text);
  });

  test('a domain added twice is a 409 conflict naming the field', async () => {
    await pendingDomain(gw, token, 'twice.example');
    assertProblem(await api('/api/v1/domains', { method: 'POST', body: { name: 'twice.example' } }), 409, 'twice.example is already added (pending)', 'name');
  });

  test('verify says what DNS answered instead (NXDOMAIN, no TXT, other values, SERVFAIL, REFUSED) until the record is there', async () => {
    const record = await pendingDomain(gw, token, 'shop.example');
    const expectations: [Parameters<TestDnsServer['set']>[1] | undefined, string, string, string[]][] = [
      [undefined, 'nxdomain', '_relaygate.shop.example does not exist (NXDOMAIN): publish the TXT record there', []],
      [{}, 'no_record', '_relaygate.shop.example exists but has no TXT record', []],
      [
        { txt: ['v=spf1 -all', 'relaygate-domain-verification=0123'] },
        'mismatch',
        `_relaygate.shop.example has TXT "v=spf1 -all", "relaygate-domain-verification=0123" but not "${record.value}" (a relaygate value with an old token: was the domain removed and added again?)`,
        ['v=spf1 -all', 'relaygate-domain-verification=0123'],
      ],
      [
        'servfail',
        'servfail',
        `the DNS resolver ${dns.address} answered SERVFAIL for _relaygate.shop.example: the domain's name servers failed or its DNSSEC did not validate`,
        [],
      ],
      ['refused', 'dns_error', `the DNS resolver ${dns.address} answered REFUSED for _relaygate.shop.example`, []],
    ];
    for (const [entry, outcome, detail, found] of expectations) {
      if (entry) dns.set(record.name, entry);
      const result = await verify('shop.example');
      assert.deepEqual(result.check, { outcome, detail, found });
      assert.equal(result.domain.status, 'pending');
      assert.deepEqual({ ...result.domain.lastCheck, at: undefined }, { outcome, detail, found, at: undefined });
    }

    dns.set(record.name, { txt: ['v=spf1 -all', record.value] });
    const verified = await verify('shop.example');
    assert.deepEqual(verified.check, {
      outcome: 'verified',
      detail: `found "${record.value}" at _relaygate.shop.example`,
      found: ['v=spf1 -all', record.value],
    });
    assert.equal(verified.domain.status, 'verified');
    assert.equal(verified.domain.verifiedBy, 'dns');
    assert.ok(verified.domain.verifiedAt);
    assert.deepEqual(await verify('shop.example'), { domain: verified.domain, check: null }, 'verifying again looks nothing up');

    assert.ok(
      dns.queries.filter((q) => q.name === record.name).every((q) => q.type === 'TXT' && q.transport === 'udp'),
      'every lookup reached the configured server',
    );
    const audit = (await api('/api/v1/audit?targetId=shop.example')).body as { items: Json[] };
    assert.deepEqual(
      audit.items.map((r) => r.action),
      ['domain.verify', 'domain.check', 'domain.check', 'domain.check', 'domain.check', 'domain.check', 'domain.add'],
    );
    const [latest] = audit.items;
    assert.ok(latest);
    assert.match(latest.actor as string, /^token:tok_\w+ \(domains suite\)$/);
    assert.equal((latest.detail as Json).verifiedBy, 'dns');
  });

  test('an answer too big for UDP (TC bit) is fetched again over TCP', async () => {
    const record = await pendingDomain(gw, token, 'big.example');
    dns.set(record.name, { txt: ['x'.repeat(600), record.value], truncateUdp: true });
    const result = await verify('big.example');
    assert.equal(result.check?.outcome, 'verified');
    assert.deepEqual(result.check?.found, ['x'.repeat(600), record.value], 'a 600-character value arrives whole');
    assert.deepEqual(
      dns.queries.filter((q) => q.name === record.name).map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });

  test('a resolver that never answers is reported as a timeout, and the domain stays pending', async () => {
    const record = await pendingDomain(gw, token, 'silent.example');
    dns.set(record.name, 'silent');
    const result = await verify('silent.example');
    assert.equal(result.check?.outcome, 'timeout');
    assert.match(result.check?.detail ?? '', new RegExp(`^no answer from the DNS resolver ${dns.address} within 4\\.\\d s$`));
    assert.equal(result.domain.status, 'pending');
    assert.ok(dns.queries.filter((q) => q.name === record.name).length >= 2, 'the query was retransmitted');
  });

  test('an unknown domain is a 404 on show, verify and remove', async () => {
    assertProblem(await api('/api/v1/domains/nowhere.example'), 404, 'no domain nowhere.example');
    assertProblem(await api('/api/v1/domains/nowhere.example/verify', { method: 'POST' }), 404, 'no domain nowhere.example');
    assertProblem(await api('/api/v1/domains/nowhere.example', { method: 'DELETE' }), 404, 'no domain nowhere.example');
    assertProblem(await api('/api/v1/domains?status=lost'), 400, /^query\.status must be equal to one of the allowed values/, 'query.status');
  });

  test('remove answers what went with the domain, and is audited', async () => {
    await pendingDomain(gw, token, 'gone.example');
    const removed = await api('/api/v1/domains/gone.example', { method: 'DELETE' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual((removed.body as { removed: Json }).removed, { addresses: [], aliases: [] });
    assert.equal((await api('/api/v1/domains/gone.example')).status, 404);
    const audit = (await api('/api/v1/audit?action=domain.remove&limit=1')).body as { items: Json[] };
    assert.equal(audit.items[0]?.targetId, 'gone.example');
  });

  test('the OpenAPI document describes the domain and address routes; verify takes no body, so force is not offered over the API', async () => {
    const { paths } = (await gw.api('/api/openapi.json')).body as { paths: Record<string, Record<string, Json>> };
    assert.ok(paths['/api/v1/domains']?.get && paths['/api/v1/domains']?.post);
    assert.ok(paths['/api/v1/domains/{name}']?.get && paths['/api/v1/domains/{name}']?.delete);
    assert.ok(paths['/api/v1/addresses']?.get && paths['/api/v1/addresses']?.post);
    assert.ok(paths['/api/v1/addresses/{address}']?.get && paths['/api/v1/addresses/{address}']?.delete);
    assert.ok(paths['/api/v1/addresses/{address}/aliases']?.post && paths['/api/v1/addresses/{address}/aliases/{alias}']?.delete);
    const verifyOp = paths['/api/v1/domains/{name}/verify']?.post;
    assert.ok(verifyOp);
    assert.equal(verifyOp.requestBody, undefined);

    await pendingDomain(gw, token, 'insist.example');
    const insisted = await api('/api/v1/domains/insist.example/verify', { method: 'POST', body: { force: true } });
    assert.equal((insisted.body as VerifyJson).check?.outcome, 'nxdomain', 'DNS was asked all the same');
    assert.equal((insisted.body as VerifyJson).domain.status, 'pending');
  });

  describe('relaygate domain, beside the running gateway', () => {
    let env: NodeJS.ProcessEnv;
    const operator = `cli:${userInfo().username}`;
    before(() => {
      // The same settings as the gateway beside it: the CLI reads its configuration afresh.
      env = gatewayEnv(gw.dataDir, { RELAYGATE_DNS_RESOLVER: dns.address, RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION: '20' });
    });

    test('add prints the record and the verify command; verify without the record fails with what DNS said and the next step', async () => {
      const added = await runCli(['domain', 'add', 'cli.example'], env);
      assert.equal(added.code, 0, added.stderr);
      const value = /"(relaygate-domain-verification=[0-9a-f]{32})"/.exec(added.stdout)?.[1];
      assert.ok(value, added.stdout);
      assert.equal(
        added.stdout,
        `Added cli.example, pending verification.\n\nPublish this DNS record:\n\n  _relaygate.cli.example  TXT  "${value}"\n\nthen verify the domain:\n\n  relaygate domain verify cli.example\n`,
      );
      const failed = await runCli(['domain', 'verify', 'cli.example'], env);
      assert.equal(failed.code, 1);
      assert.equal(
        failed.stderr,
        'relaygate: cli.example is not verified: _relaygate.cli.example does not exist (NXDOMAIN): publish the TXT record there.\n' +
          `publish  _relaygate.cli.example  TXT  "${value}"\nand once DNS serves it run: relaygate domain verify cli.example\n` +
          '(if you have proven ownership another way: relaygate domain verify cli.example --force)\n',
      );
    });

    test('verify --force marks the domain verified by the operator, without DNS, in the audit log', async () => {
      const asked = dns.queries.length;
      const forced = await runCli(['domain', 'verify', 'cli.example', '--force', '--json'], env);
      assert.equal(forced.code, 0, forced.stderr);
      const { domain, check } = JSON.parse(forced.stdout) as VerifyJson;
      assert.equal(domain.status, 'verified');
      assert.equal(domain.verifiedBy, `operator:${operator}`);
      assert.equal(check, null);
      assert.equal(dns.queries.length, asked, 'a forced verification asks DNS nothing');
      const audit = (await api('/api/v1/audit?action=domain.verify&targetId=cli.example')).body as { items: Json[] };
      const [record] = audit.items;
      assert.ok(record && audit.items.length === 1);
      assert.equal(record.actor, operator);
      assert.equal((record.detail as Json).verifiedBy, `operator:${operator}`);
    });

    test('list is a table (or JSON), unknown names suggest the list, and help shows an example', async () => {
      const table = await runCli(['domain', 'list', '--status', 'verified'], env);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^NAME\s+STATUS\s+VERIFIED BY\s+ADDRESSES\s+LAST CHECK\n/);
      assert.match(table.stdout, new RegExp(`\\ncli\\.example\\s+verified\\s+operator:${operator}\\s+0\\s+nxdomain \\S+Z\\n`));
      const missing = await runCli(['domain', 'show', 'nowhere.example'], env);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, 'relaygate: no domain nowhere.example; see "relaygate domain list"\n');
      const help = await runCli(['domain', 'verify', '--help'], env);
      assert.match(help.stdout, /--force\s+verify by hand/);
      assert.match(help.stdout, /Examples:\n {2}relaygate domain verify example\.com\n {2}relaygate domain verify example\.com --force\n/);
    });
  });
});

describe('the limit of domains per organisation', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  let token: string;
  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address, 'limits.domainsPerOrganisation': 2 });
    token = await gw.createApiToken();
    // Start from an organisation with no domains, whatever the harness set up.
    const existing = (await gw.api('/api/v1/domains', { token })).body as { items: { name: string }[] };
    for (const { name } of existing.items) assert.equal((await gw.api(`/api/v1/domains/${name}`, { method: 'DELETE', token })).status, 200);
  });
  after(async () => {
    await gw.stop();
    await dns.stop();
  });

  test('pending domains count; beyond the limit a clear error names the field; removing one makes room', async () => {
    await pendingDomain(gw, token, 'one.example');
    await pendingDomain(gw, token, 'two.example');
    const refused = await gw.api('/api/v1/domains', { method: 'POST', token, body: { name: 'three.example' } });
    assertProblem(
      refused,
      409,
      'the organisation already has 2 domains, the limit (limits.domainsPerOrganisation, pending ones included): remove one, or raise RELAYGATE_LIMIT_DOMAINS_PER_ORGANISATION',
      'name',
    );
    assert.equal((refused.body as Json).title, 'Limit reached');
    assert.equal((await gw.api('/api/v1/domains/one.example', { method: 'DELETE', token })).status, 200);
    assert.equal((await gw.api('/api/v1/domains', { method: 'POST', token, body: { name: 'three.example' } })).status, 201);
  });
});
