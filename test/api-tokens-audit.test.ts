import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from './support/gateway.js';

type Json = Record<string, unknown>;

describe('admin API: tokens, problems, OpenAPI and the audit log', () => {
  let gw: TestGateway;
  let token: string;
  before(async () => {
    gw = await startTestGateway();
    token = await gw.createApiToken('suite');
  });
  after(() => gw.stop());

  test('no token, or a wrong one: 401 problem+json with a way forward', async () => {
    const none = await gw.api('/api/v1/tokens');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="relaygate"');
    assert.match((none.body as Json).detail as string, /relaygate token create --description NAME/);
    const wrong = await gw.api('/api/v1/tokens', { token: 'rgt_nope' });
    assert.equal(wrong.status, 401);
    assert.equal((wrong.body as Json).detail, 'the bearer token is not valid or has been revoked');
  });

  test('a bad request names the field and the reason', async () => {
    const missing = await gw.api('/api/v1/tokens', { method: 'POST', token, body: {} });
    assert.equal(missing.status, 400);
    assert.deepEqual((missing.body as Json).errors, [{ field: 'description', problem: "must have required property 'description'" }]);
    const badLimit = await gw.api('/api/v1/tokens?limit=0', { token });
    assert.equal(badLimit.status, 400);
    assert.deepEqual((badLimit.body as Json).errors, [{ field: 'query.limit', problem: 'must be >= 1' }]);
  });

  test('tokens: create shows the secret once, list never, revoke takes effect at once; lists are paginated', async () => {
    const created = await gw.api('/api/v1/tokens', { method: 'POST', token, body: { description: 'Terraform' } });
    assert.equal(created.status, 201);
    const { token: made, secret } = created.body as { token: Json; secret: string };
    assert.match(secret, /^rgt_[A-Za-z0-9_-]{43}$/);
    const page = await gw.api('/api/v1/tokens?limit=1&offset=1', { token });
    assert.equal(page.status, 200);
    assert.deepEqual({ ...(page.body as Json), items: undefined }, { items: undefined, total: 2, limit: 1, offset: 1 });
    assert.doesNotMatch(page.text, new RegExp(secret));
    assert.equal(((page.body as Json).items as Json[])[0]?.id, made.id);

    assert.equal((await gw.api('/api/v1/tokens', { token: secret })).status, 200);
    const revoked = await gw.api(`/api/v1/tokens/${made.id as string}`, { method: 'DELETE', token });
    assert.equal(revoked.status, 200);
    assert.equal((await gw.api('/api/v1/tokens', { token: secret })).status, 401);
    const unknown = await gw.api('/api/v1/tokens/tok_nope', { method: 'DELETE', token });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Json).detail, 'no token tok_nope');
  });

  test('OpenAPI 3.1 document and browsable docs, generated from the route schemas', async () => {
    const doc = await gw.api('/api/openapi.json');
    assert.equal(doc.status, 200);
    const openapi = doc.body as { openapi: string; paths: Record<string, Json> };
    assert.equal(openapi.openapi, '3.1.0');
    assert.ok(openapi.paths['/api/v1/tokens']?.post, 'POST /api/v1/tokens is described');
    assert.ok(openapi.paths['/api/v1/audit/verify']);
    const docs = await gw.api('/api/docs/');
    assert.equal(docs.status, 200);
    assert.match(docs.text, /<html/i);
  });

  test('audit: every change recorded with who and from where; verify detects an altered record; export is JSON Lines', async () => {
    await gw.api('/api/v1/tokens', { method: 'POST', token, body: { description: 'audited' } });
    const list = await gw.api('/api/v1/audit?action=token.create&limit=1', { token });
    const [latest] = (list.body as { items: Json[] }).items;
    assert.ok(latest);
    assert.equal(latest.action, 'token.create');
    assert.match(latest.actor as string, /^token:tok_[0-9a-z]+ \(suite\)$/);
    assert.equal(latest.actorIp, '127.0.0.1');
    assert.deepEqual(latest.detail, { description: 'audited', scope: 'admin' });

    const all = (await gw.api('/api/v1/audit', { token })).body as { total: number };
    assert.equal(all.total, 6, 'three tokens created, one revoked, and the two refused calls of the first test (no token, a wrong one)');
    const verified = (await gw.api('/api/v1/audit/verify', { token })).body as Json;
    assert.deepEqual([verified.ok, verified.checked], [true, 6]);
    assert.ok(Number(verified.anchoredSeq) >= 3, 'the head in the data directory vouches for the records the harness wrote');
    const exported = await gw.api('/api/v1/audit/export', { token });
    const lines = exported.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.deepEqual(
      lines.map((l) => l.seq),
      lines.map((_, i) => i + 1),
    );

    // Alter one record behind the gateway's back, as an intruder with database access would.
    await gw.db((db) => db.updateTable('audit_log').set({ detail: '{"description":"innocent"}' }).where('seq', '=', 2).execute());
    assert.deepEqual((await gw.api('/api/v1/audit/verify', { token })).body, {
      ok: false,
      checked: 1,
      anchoredSeq: null,
      problem: { seq: 2, reason: 'its content does not match its hash under the audit key (altered, or re-chained without the key)' },
    });
  });
});
