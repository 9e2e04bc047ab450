import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deliveryEvents } from '../src/events/delivery-events.js';
import type { DueMessage, RecipientUpdate } from '../src/queue/queue-store.js';

const NOW = Date.UTC(2026, 11, 7, 10, 30);
const message = (over: Partial<DueMessage>): DueMessage => ({
  id: '06H4YBRKYCEV7Q1ERYW01JQP7M',
  mailFrom: 'support@example.com',
  sizeBytes: 100,
  receivedAt: NOW,
  expiresAt: NOW + 86_400_000,
  envId: undefined,
  ret: undefined,
  isDsn: false,
  direction: 'outbound',
  tlsRequired: undefined,
  credentialId: 'cred_app',
  recipients: [{ id: 1, address: 'customer@example.net', attempts: 1, notify: undefined, orcpt: undefined }],
  ...over,
});
const delivered: RecipientUpdate[] = [{ id: 1, address: 'customer@example.net', status: 'delivered', nextAttemptAt: 0, reply: '250 2.0.0 Ok' }];

test("delivery events: the application's mail reports each final recipient; the gateway's own mail, DSNs and inbound mail report nothing", async () => {
  const events = deliveryEvents({ wanted: async () => true, expireAfterMs: 1000 });
  const sent = await events(message({}), delivered, NOW);
  assert.deepEqual(
    sent.map((e) => [e.senderDomain, (JSON.parse(e.payload) as { type: string; recipient: string }).type]),
    [['example.com', 'message.delivered']],
  );
  // A connection check, a portal code or notification: submitted by no credential.
  assert.deepEqual(await events(message({ credentialId: null }), delivered, NOW), []);
  assert.deepEqual(await events(message({ isDsn: true, mailFrom: '' }), delivered, NOW), []);
  assert.deepEqual(await events(message({ direction: 'inbound' }), delivered, NOW), []);
  assert.deepEqual(await deliveryEvents({ wanted: async () => false, expireAfterMs: 1000 })(message({}), delivered, NOW), [], 'no webhook, nothing stored');
});
