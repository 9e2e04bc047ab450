import assert from 'node:assert/strict';
import type { TestDnsServer } from './dns-server.js';
import type { TestGateway } from './gateway.js';

export type Json = Record<string, unknown>;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; problem: string }[];
}

/** Asserts an RFC 9457 answer: status, the detail, and which field it names. */
export function assertProblem(response: { status: number; body: unknown }, status: number, detail: string | RegExp, field?: string): ProblemBody {
  const body = response.body as ProblemBody;
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.status, status);
  if (typeof detail === 'string') assert.equal(body.detail, detail);
  else assert.match(body.detail, detail);
  assert.deepEqual(
    body.errors?.map((e) => e.field),
    field === undefined ? undefined : [field],
  );
  return body;
}

/** Adds a domain through the API, publishes its TXT record on the test DNS server, and verifies it. */
export async function verifiedDomain(gw: TestGateway, dns: TestDnsServer, token: string, name: string): Promise<void> {
  const added = await gw.api('/api/v1/domains', { method: 'POST', token, body: { name } });
  assert.equal(added.status, 201, added.text);
  const record = (added.body as { verificationRecord: { name: string; value: string } }).verificationRecord;
  dns.set(record.name, { txt: [record.value] });
  const verified = await gw.api(`/api/v1/domains/${name}/verify`, { method: 'POST', token });
  assert.equal((verified.body as { domain: Json }).domain.status, 'verified', verified.text);
}

/** Adds a domain and leaves it pending; returns its TXT record. */
export async function pendingDomain(gw: TestGateway, token: string, name: string): Promise<{ name: string; value: string }> {
  const added = await gw.api('/api/v1/domains', { method: 'POST', token, body: { name } });
  assert.equal(added.status, 201, added.text);
  return (added.body as { verificationRecord: { name: string; value: string } }).verificationRecord;
}
