import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { countingResolver } from '../src/dns/counting-resolver.js';
import type { DnsResolver } from '../src/dns/resolver.js';
import { countDeliveryAttempt, dnsResultOf, gatewayMetrics, webhookOutcomeOf } from '../src/http/metrics.js';
import { countingWebhookClient } from '../src/inbound/counting-webhook-client.js';
import type { WebhookAnswer } from '../src/inbound/webhook-client.js';
import type { DeliveryEvidence } from '../src/model/outcome.js';
import type { DueMessage } from '../src/queue/queue-store.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { parseMetrics, type Scrape, scrape } from './support/metrics-scrape.js';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.js';
import { applicationMessage, submit } from './support/submit.js';
import { waitFor } from './support/wait-for.js';

const SLOW_OK = { timeout: 60_000 };

describe('metrics at /metrics', () => {
  let sink: SmtpSink;
  let gw: TestGateway;
  let credential: { username: string; secret: string };

  before(async () => {
    sink = await startSmtpSink();
    // Recipients named later@ are deferred by the smarthost; everyone else is taken.
    sink.behaviour.rcpt = (address) => (address.startsWith('later@') ? '451 4.3.0 try again later' : undefined);
    gw = await startTestGateway({ smarthost: `smtp://127.0.0.1:${sink.port}?tls=none` });
    credential = await gw.createCredential('metrics');
  });

  after(async () => {
    await gw?.stop();
    await sink?.stop();
  });

  /** Scrapes until `check` holds: counters move just after the event that moves them. */
  const scrapeUntil = (what: string, check: (s: Scrape) => boolean) =>
    waitFor(
      async () => {
        const s = await scrape(gw.gateway.ports.http);
        return check(s) ? s : undefined;
      },
      { what },
    );

  test('sessions, AUTH, accepted and refused messages move their series', SLOW_OK, async () => {
    const before = await scrape(gw.gateway.ports.http);
    await assert.rejects(submit(gw.gateway.ports.smtp, { ...credential, secret: 'not-the-secret' }, message('support@example.com', ['ok@example.net'])), /535/);
    await submit(gw.gateway.ports.smtp, credential, message('support@example.com', ['ok@example.net']));
    await assert.rejects(submit(gw.gateway.ports.smtp, credential, message('app@unverified.invalid', ['ok@example.net'])), /550 5\.7\.1/);

    // Three sessions, all closed again once the clients hung up.
    const s = await scrapeUntil('every session closed', (now) => now.value('relaygate_smtp_sessions_open', { listener: 'submission' }) === 0);
    const moved = (name: string, labels: Record<string, string> = {}) => s.value(name, labels) - before.value(name, labels);
    assert.ok(moved('relaygate_smtp_connections_total', { listener: 'submission' }) >= 3, 'connections counted');
    assert.equal(moved('relaygate_smtp_connections_total', { listener: 'smtps' }), 0);
    assert.equal(s.sum('relaygate_smtp_auth_total', { result: 'wrong-secret' }) - before.sum('relaygate_smtp_auth_total', { result: 'wrong-secret' }), 1);
    assert.equal(s.sum('relaygate_smtp_auth_total', { result: 'success' }) - before.sum('relaygate_smtp_auth_total', { result: 'success' }), 2);
    assert.equal(moved('relaygate_messages_accepted_total', { direction: 'outbound' }), 1);
    assert.equal(moved('relaygate_smtp_refusals_total', { stage: 'mail_from', status: '550 5.7.1' }), 1);
    assert.equal(moved('relaygate_messages_accepted_total', { direction: 'inbound' }), 0);
  });

  test('delivered and deferred recipients, delivery latency and queue depth', SLOW_OK, async () => {
    const waiting = (x: Scrape) => x.value('relaygate_queue_recipients', { status: 'queued' }) + x.value('relaygate_queue_recipients', { status: 'deferred' });
    // The earlier test's message may still be on its way to the smarthost.
    const before = await scrapeUntil('an empty queue', (now) => waiting(now) === 0 && now.has('relaygate_queue_recipients', { status: 'queued' }));
    await submit(gw.gateway.ports.smtp, credential, message('support@example.com', ['first@example.net', 'later@example.net']));
    const delivered = { direction: 'outbound', outcome: 'delivered', reason: 'none' };
    const deferred = { direction: 'outbound', outcome: 'deferred', reason: 'remote-reply' };
    const s = await scrapeUntil(
      'one recipient delivered and one deferred',
      (now) =>
        now.value('relaygate_delivery_attempts_total', delivered) > before.value('relaygate_delivery_attempts_total', delivered) &&
        now.value('relaygate_delivery_attempts_total', deferred) > before.value('relaygate_delivery_attempts_total', deferred),
    );
    const count = { direction: 'outbound' };
    assert.ok(s.value('relaygate_delivery_latency_seconds_count', count) > before.value('relaygate_delivery_latency_seconds_count', count), 'latency observed');
    assert.equal(s.value('relaygate_delivery_latency_seconds_bucket', { ...count, le: '+Inf' }), s.value('relaygate_delivery_latency_seconds_count', count));
    assert.equal(s.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'bounced', reason: 'remote-reply' }), 0);
    // later@ waits in the queue for its next attempt, so the depth gauges read from the store show it.
    assert.ok(waiting(s) >= 1, 'the deferred recipient is counted');
    assert.ok(s.has('relaygate_queue_oldest_age_seconds'));
    assert.equal(before.value('relaygate_queue_oldest_age_seconds'), 0, 'no age while nothing waits');
    assert.ok(s.value('relaygate_queue_oldest_age_seconds') > 0, 'age of the waiting message');
  });
});

describe('metrics wiring, without a gateway', () => {
  const message = { id: 'Q1', direction: 'outbound', receivedAt: 1_000 } as DueMessage;
  const evidence = { policy: 'dane', peerAuthentication: 'DANE-EE' } as DeliveryEvidence;
  const read = async (m: ReturnType<typeof gatewayMetrics>) => parseMetrics(await m.registry.metrics());

  test('each gateway has its own registry', () => {
    const a = gatewayMetrics();
    const b = gatewayMetrics();
    a.messagesAccepted.inc({ direction: 'inbound' });
    assert.notEqual(a.registry, b.registry);
  });

  test('recipient outcomes: counts by direction, outcome and reason; latency; TLS policy outcomes and refusals', async () => {
    const m = gatewayMetrics();
    countDeliveryAttempt(m, message, { id: 1, address: 'a@x.test', status: 'delivered', reply: '250 ok', nextAttemptAt: 0, evidence }, 3_500);
    countDeliveryAttempt(m, message, { id: 2, address: 'b@x.test', status: 'deferred', reason: 'dane', reply: '-', nextAttemptAt: 0 }, 3_500);
    countDeliveryAttempt(
      m,
      { ...message, direction: 'inbound' },
      { id: 3, address: 'c@x.test', status: 'failed', reason: 'expired', reply: '-', nextAttemptAt: 0 },
      3_500,
    );
    // A reason outside the closed set must not become a new label value.
    countDeliveryAttempt(m, message, { id: 4, address: 'd@x.test', status: 'bounced', reason: 'd@x.test said no', reply: '-', nextAttemptAt: 0 }, 3_500);
    const s = await read(m);
    assert.equal(s.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'delivered', reason: 'none' }), 1);
    assert.equal(s.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'deferred', reason: 'dane' }), 1);
    assert.equal(s.value('relaygate_delivery_attempts_total', { direction: 'inbound', outcome: 'parked', reason: 'expired' }), 1);
    assert.equal(s.value('relaygate_delivery_attempts_total', { direction: 'outbound', outcome: 'bounced', reason: 'unknown' }), 1);
    assert.equal(s.value('relaygate_delivery_latency_seconds_sum', { direction: 'outbound' }), 2.5);
    assert.equal(s.value('relaygate_delivery_latency_seconds_bucket', { direction: 'outbound', le: '1' }), 0);
    assert.equal(s.value('relaygate_delivery_latency_seconds_bucket', { direction: 'outbound', le: '5' }), 1);
    assert.equal(s.value('relaygate_tls_policy_deliveries_total', { policy: 'dane', peer_authentication: 'DANE-EE' }), 1);
    assert.equal(s.value('relaygate_tls_policy_refusals_total', { check: 'dane' }), 1);
    assert.equal(s.sum('relaygate_tls_policy_refusals_total'), 1, 'expired and unknown are not TLS checks');
  });

  test('DNS lookups by type and result, through the counting resolver', async () => {
    const m = gatewayMetrics();
    const answers: Record<string, Awaited<ReturnType<DnsResolver['query']>>> = {
      'mx.test': {
        kind: 'answer',
        server: 's',
        rcode: 'NOERROR',
        authenticated: false,
        answers: [{ type: 'MX', name: 'mx.test', data: { preference: 10, exchange: 'mx.mx.test' } }],
      },
      'nodata.test': { kind: 'answer', server: 's', rcode: 'NOERROR', authenticated: false, answers: [] },
      'gone.test': { kind: 'answer', server: 's', rcode: 'NXDOMAIN', authenticated: false, answers: [] },
      'odd.test': { kind: 'answer', server: 's', rcode: 'RCODE_9', authenticated: false, answers: [] },
      'slow.test': { kind: 'timeout', servers: ['s'], waitedMs: 1 },
    };
    const inner: DnsResolver = { query: async (name) => answers[name] ?? { kind: 'failed', servers: ['s'], detail: 'no' } };
    const resolver = countingResolver(inner, (type, response) => m.dnsLookups.inc({ type, result: dnsResultOf(type, response) }));
    for (const name of [...Object.keys(answers), 'broken.test'])
      assert.deepEqual(await resolver.query(name, 'MX'), answers[name] ?? (await inner.query(name, 'MX')));
    const s = await read(m);
    for (const result of ['noerror', 'nodata', 'nxdomain', 'other', 'timeout', 'failed'])
      assert.equal(s.value('relaygate_dns_lookups_total', { type: 'MX', result }), 1, result);
  });

  test('webhook results by outcome, through the counting client', async () => {
    const m = gatewayMetrics();
    const queue: WebhookAnswer[] = [
      { kind: 'answered', status: 204, body: '', ms: 1 },
      { kind: 'answered', status: 422, body: '{}', ms: 1 },
      { kind: 'answered', status: 503, body: '', ms: 1 },
      { kind: 'timeout', ms: 1 },
      { kind: 'failed', detail: 'ECONNREFUSED', ms: 1 },
      { kind: 'refused-destination', problem: 'private address' },
    ];
    const inner = { post: async () => queue.shift() as WebhookAnswer, close: async () => undefined };
    const client = countingWebhookClient(inner, (answer) => m.webhookRequests.inc({ outcome: webhookOutcomeOf(answer) }));
    for (let i = 0; i < 6; i++) await client.post({ url: 'https://app.test/hook', body: '{}', headers: {}, timeoutMs: 1000 });
    const s = await read(m);
    assert.equal(s.value('relaygate_webhook_requests_total', { outcome: 'accepted' }), 1);
    assert.equal(s.value('relaygate_webhook_requests_total', { outcome: 'refused' }), 1);
    assert.equal(s.value('relaygate_webhook_requests_total', { outcome: 'unavailable' }), 3);
    assert.equal(s.value('relaygate_webhook_requests_total', { outcome: 'timeout' }), 1);
  });
});

function message(from: string, to: string[]) {
  return { from, to, raw: applicationMessage('metrics') };
}
