import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addCounted, countedValues } from '../src/app/acceptor-counters.js';
import { gatewayMetrics } from '../src/http/metrics.js';

// An SMTP acceptor's counters reach the primary's /metrics as growth (src/app/smtp-workers.ts):
// reports are cumulative per process, and a process started again counts from 0.
test("an acceptor's counters are added to the primary's as they grow, and a restarted acceptor's from 0", async () => {
  const acceptor = gatewayMetrics();
  const primary = gatewayMetrics();
  const accepted = async () => (await primary.messagesAccepted.get()).values.find((v) => v.labels.direction === 'outbound')?.value ?? 0;

  acceptor.messagesAccepted.inc({ direction: 'outbound' }, 3);
  acceptor.smtpConnections.inc({ listener: 'submission' });
  const first = new Map<string, number>();
  addCounted(primary.registry, first, await countedValues(acceptor.registry));
  assert.equal(await accepted(), 3);

  acceptor.messagesAccepted.inc({ direction: 'outbound' }, 2);
  addCounted(primary.registry, first, await countedValues(acceptor.registry));
  addCounted(primary.registry, first, await countedValues(acceptor.registry));
  assert.equal(await accepted(), 5, 'the same report twice adds nothing');

  const restarted = gatewayMetrics();
  restarted.messagesAccepted.inc({ direction: 'outbound' });
  addCounted(primary.registry, new Map(), await countedValues(restarted.registry));
  assert.equal(await accepted(), 6);
  assert.equal((await primary.smtpConnections.get()).values.find((v) => v.labels.listener === 'submission')?.value, 1);
});
