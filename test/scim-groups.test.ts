import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifiedDomain } from './support/directory.js';
import { startDnsServer, type TestDnsServer } from './support/dns-server.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';

type Json = Record<string, unknown>;
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * Groups as Entra ID's provisioning service sends them, replayed from Microsoft's documented
 * examples ("Tutorial: Develop and plan provisioning for a SCIM endpoint", group operations):
 * create, get with excludedAttributes=members, get by displayName, update a non-member
 * attribute, add members, remove members, delete — and a group with a mail address, which
 * becomes a shared mailbox.
 */
describe('SCIM 2.0 groups', () => {
  let dns: TestDnsServer;
  let gw: TestGateway;
  let admin: string;
  let token: string;
  const scim = async (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const response = await fetch(`http://127.0.0.1:${gw.gateway.ports.http}/scim/v2${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as Json, text };
  };
  const refused = (response: { status: number; body: Json }, status: number, scimType: string | undefined, detail: RegExp) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.deepEqual(response.body.schemas, [ERROR]);
    assert.equal(response.body.scimType, scimType);
    assert.match(response.body.detail as string, detail);
  };
  const user = async (userName: string) => {
    const created = await scim('/Users', { method: 'POST', body: { schemas: [USER], userName, active: true } });
    assert.equal(created.status, 201, created.text);
    return created.body.id as string;
  };
  const audit = async (action: string) =>
    ((await gw.api(`/api/v1/audit?action=${action}`, { token: admin })).body as { items: { targetId: string; actor: string; detail: Json }[] }).items;
  const patch = (id: string, Operations: unknown[]) => scim(`/Groups/${id}`, { method: 'PATCH', body: { schemas: [PATCH], Operations } });

  before(async () => {
    dns = await startDnsServer();
    gw = await startTestGateway({ dnsResolver: dns.address });
    admin = await gw.createApiToken('admin');
    token = await gw.createApiToken('Entra ID provisioning', 'scim');
    await verifiedDomain(gw, dns, admin, 'secure.example.com');
  });
  after(async () => {
    await gw?.stop();
    await dns?.stop();
  });

  test('advertised: ResourceTypes and Schemas name Group', async () => {
    assert.deepEqual(
      ((await scim('/ResourceTypes')).body.Resources as Json[]).map((r) => r.endpoint),
      ['/Users', '/Groups'],
    );
    assert.ok(((await scim('/Schemas')).body.Resources as Json[]).some((s) => s.id === GROUP));
  });

  test("Entra ID's group sequence: create, get without members, lookup, rename, add and remove members, delete; audited", async () => {
    const lookup = await scim(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Support team"')}`);
    assert.equal(lookup.status, 200, lookup.text);
    assert.equal(lookup.body.totalResults, 0);

    const created = await scim('/Groups', {
      method: 'POST',
      body: {
        schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        displayName: 'Support team',
        meta: { resourceType: 'Group' },
      },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.equal(created.headers.get('location'), `http://127.0.0.1:${gw.gateway.ports.http}/scim/v2/Groups/${id}`);
    assert.equal(created.headers.get('etag'), (created.body.meta as Json).version);
    assert.deepEqual(
      { displayName: created.body.displayName, externalId: created.body.externalId, members: created.body.members, emails: created.body.emails },
      { displayName: 'Support team', externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', members: [], emails: undefined },
    );

    const without = await scim(`/Groups/${id}?excludedAttributes=members`);
    assert.equal(without.status, 200);
    assert.equal('members' in without.body, false, 'excludedAttributes=members still returned members');
    const found = await scim(`/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Support team"')}`);
    assert.deepEqual(
      (found.body.Resources as Json[]).map((g) => g.id),
      [id],
    );

    const renamed = await patch(id, [{ op: 'Replace', path: 'displayName', value: 'Support team (EU)' }]);
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.displayName, 'Support team (EU)');

    const alice = await user('alice@example.com');
    const bob = await user('bob@example.com');
    const added = await patch(id, [
      {
        op: 'Add',
        path: 'members',
        value: [
          { $ref: null, value: alice },
          { $ref: null, value: bob },
        ],
      },
    ]);
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(
      (added.body.members as Json[]).map((m) => m.display),
      ['alice@example.com', 'bob@example.com'],
    );
    const removed = await patch(id, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: alice }] }]);
    assert.deepEqual(
      (removed.body.members as Json[]).map((m) => m.value),
      [bob],
    );
    const filtered = await patch(id, [{ op: 'remove', path: `members[value eq "${bob}"]` }]);
    assert.deepEqual(filtered.body.members, []);

    // A stale If-Match is refused and changes nothing.
    const stale = await scim(`/Groups/${id}`, {
      method: 'PATCH',
      headers: { 'if-match': (created.body.meta as Json).version as string },
      body: { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: 'Stale' }] },
    });
    refused(stale, 412, undefined, /changed since the version in If-Match/);

    assert.equal((await scim(`/Groups/${id}`, { method: 'DELETE' })).status, 204);
    refused(await scim(`/Groups/${id}`), 404, undefined, /no SCIM group/);
    assert.deepEqual(
      (await audit('scim.group.add')).map((a) => a.targetId),
      [id],
    );
    assert.equal((await audit('scim.group.update')).filter((a) => a.targetId === id).length, 4);
    const gone = await audit('scim.group.remove');
    assert.equal(gone[0]?.targetId, id);
    assert.match(gone[0]?.actor ?? '', /^scim:/);
  });

  test('a group with mail is a shared mailbox: a synced functional address with aliases, not a user; its emails follow; deleted with the group', async () => {
    const created = await scim('/Groups', {
      method: 'POST',
      body: { schemas: [GROUP], displayName: 'Helpdesk', emails: [{ value: 'helpdesk@example.com', primary: true }, { value: 'help@secure.example.com' }] },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.deepEqual(
      (created.body.emails as Json[]).map((e) => e.value),
      ['helpdesk@example.com', 'help@secure.example.com'],
    );
    const mailbox = (await gw.api('/api/v1/addresses/helpdesk@example.com', { token: admin })).body as Json;
    assert.deepEqual(
      { source: mailbox.source, kind: mailbox.kind, description: mailbox.description, aliases: mailbox.aliases },
      { source: 'scim', kind: 'functional', description: 'Helpdesk', aliases: ['help@secure.example.com'] },
    );
    const users = await scim(`/Users?filter=${encodeURIComponent('userName eq "helpdesk@example.com"')}`);
    assert.equal(users.body.totalResults, 0, 'the group mailbox is listed as a user');

    const changed = await patch(id, [
      { op: 'replace', path: 'emails', value: [{ value: 'helpdesk@example.com' }, { value: 'support-desk@secure.example.com' }] },
    ]);
    assert.equal(changed.status, 200, changed.text);
    const after = (await gw.api('/api/v1/addresses/helpdesk@example.com', { token: admin })).body as Json;
    assert.deepEqual(after.aliases, ['support-desk@secure.example.com']);

    assert.equal((await scim(`/Groups/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await gw.api('/api/v1/addresses/helpdesk@example.com', { token: admin })).status, 404);
  });

  test('refusals name the value and change nothing: an unknown member, mail outside the claimed domains, a manual address, no displayName, an unsupported filter', async () => {
    refused(
      await scim('/Groups', { method: 'POST', body: { schemas: [GROUP], displayName: 'Ghosts', members: [{ value: 'adr_nobody' }] } }),
      400,
      'invalidValue',
      /members: no SCIM user adr_nobody/,
    );
    refused(
      await scim('/Groups', { method: 'POST', body: { schemas: [GROUP], displayName: 'Elsewhere', emails: [{ value: 'team@other.test' }] } }),
      400,
      'invalidValue',
      /team@other\.test/,
    );
    const manual = await gw.api('/api/v1/addresses', { method: 'POST', token: admin, body: { address: 'accounts@example.com', kind: 'functional' } });
    assert.equal(manual.status, 201, manual.text);
    refused(
      await scim('/Groups', { method: 'POST', body: { schemas: [GROUP], displayName: 'Accounts', emails: [{ value: 'accounts@example.com' }] } }),
      409,
      'uniqueness',
      /accounts@example\.com is a manual address/,
    );
    refused(await scim('/Groups', { method: 'POST', body: { schemas: [GROUP] } }), 400, 'invalidValue', /displayName is required/);
    refused(await scim(`/Groups?filter=${encodeURIComponent('members eq "x"')}`), 400, 'invalidFilter', /use displayName or externalId/);
    const list = await scim('/Groups');
    assert.deepEqual(
      (list.body.Resources as Json[]).map((g) => g.displayName),
      [],
      'a refused group was kept',
    );
  });
});
