import type { Command } from 'commander';
import type { OpenStore } from '../../app/open-store.js';
import type { Config } from '../../config/index.js';
import type { EventView, MessageView, QueueStore } from '../../queue/queue-store.js';
import { descriptionOf } from '../commands-table.js';
import { withStore } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description(descriptionOf('queue'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate queue list --all\n  relaygate queue show 01JD3V6Q9ZK5M2X8T4R7W1B0CE\n  relaygate queue retry 01JD3V6Q9ZK5M2X8T4R7W1B0CE',
    );

  queue
    .command('list')
    .description('messages still to deliver (with --all, finished ones too), newest first')
    .option('--all', 'include delivered and bounced messages')
    .option('--limit <n>', 'at most this many', (v) => positiveInt(v, '--limit'), 100)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate queue list\n  relaygate queue list --all --limit 20 --json')
    .action(async (opts: { all?: boolean; limit: number; json?: boolean }, command: Command) => {
      const list = await withQueue(command, (queue) => queue.list({ includeCompleted: Boolean(opts.all), limit: opts.limit }));
      if (opts.json) return printJson(list.map(toJson));
      printTable(
        list.flatMap((m) =>
          m.recipients.map((r, i) => ({
            id: i === 0 ? m.id : '',
            from: i === 0 ? m.mailFrom || '<>' : '',
            received: i === 0 ? formatTime(m.receivedAt) : '',
            recipient: r.address,
            state: r.status,
            attempts: String(r.attempts),
            next: formatTime(r.nextAttemptAt),
            'last reply': (r.lastReply ?? '').slice(0, 60),
          })),
        ),
        ['id', 'from', 'received', 'recipient', 'state', 'attempts', 'next', 'last reply'],
      );
    });

  queue
    .command('show')
    .description('one message: envelope, per-recipient state, last remote reply, history')
    .argument('<id>', 'queue id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate queue show 01JD3V6Q9ZK5M2X8T4R7W1B0CE')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const message = await withQueue(command, (queue) => queue.show(id.toUpperCase()));
      if (!message) throw new CliError(`no message ${id} in the queue; see "relaygate queue list --all"`);
      if (opts.json) return printJson({ ...toJson(message), events: message.events.map((e) => ({ ...e, at: formatTime(e.at) })) });
      process.stdout.write(
        `Message ${message.id}\n  from:      ${message.mailFrom || '<>'}${message.isDsn ? ' (delivery status notification)' : ''}\n  size:      ${message.sizeBytes} bytes\n  received:  ${formatTime(message.receivedAt)}\n  expires:   ${formatTime(message.expiresAt)}\n  completed: ${formatTime(message.completedAt)}\n\n`,
      );
      printTable(
        message.recipients.map((r) => ({
          recipient: r.address,
          state: r.status,
          attempts: String(r.attempts),
          'last attempt': formatTime(r.lastAttemptAt),
          next: formatTime(r.nextAttemptAt),
          'last reply': r.lastReply ?? '-',
        })),
        ['recipient', 'state', 'attempts', 'last attempt', 'next', 'last reply'],
      );
      process.stdout.write('\nHistory\n');
      printTable(
        message.events.map((e) => ({ at: formatTime(e.at), event: e.kind, recipient: e.recipient ?? '', detail: e.detail ?? '' })),
        ['at', 'event', 'recipient', 'detail'],
      );
      const evidence = message.events.filter((e) => e.evidence !== null);
      if (evidence.length > 0) process.stdout.write(`\nDelivery evidence\n${evidence.map(describeEvidence).join('')}`);
    });

  queue
    .command('retry')
    .description('make every deferred or parked recipient of a message due now')
    .argument('<id>', 'queue id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate queue retry 01JD3V6Q9ZK5M2X8T4R7W1B0CE')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const now = Date.now();
      const count = await withQueue(command, (queue, _store, config) => queue.retry(id.toUpperCase(), now, now + config.queue.expireAfter));
      if (opts.json) return printJson({ id: id.toUpperCase(), rescheduled: count });
      if (count === 0) throw new CliError(`message ${id} has no recipient waiting for delivery; see "relaygate queue show ${id}"`);
      process.stdout.write(`${count} recipient(s) of ${id.toUpperCase()} will be tried now\n`);
    });

  queue
    .command('delete')
    .description('remove a message from the queue without delivering it')
    .argument('<id>', 'queue id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate queue delete 01JD3V6Q9ZK5M2X8T4R7W1B0CE')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      const queueId = id.toUpperCase();
      const removed = await withQueue(command, async (queue, store, config) => {
        const done = await queue.remove(queueId, Date.now());
        if (done) {
          const { removeBody } = await import('../../app/queue-admin.js');
          await removeBody(store, config.dataDir, queueId);
        }
        return done;
      });
      if (opts.json) return printJson({ id: queueId, deleted: removed });
      if (!removed) throw new CliError(`no message ${id} in the queue; see "relaygate queue list --all"`);
      process.stdout.write(`Deleted ${queueId}\n`);
    });
}

async function withQueue<T>(command: Command, work: (queue: QueueStore, store: OpenStore, config: Config) => Promise<T>): Promise<T> {
  const { queueOf } = await import('../../app/queue-admin.js');
  return withStore(command, (store, config) => work(queueOf(store), store, config));
}

function toJson(m: MessageView) {
  return {
    id: m.id,
    mailFrom: m.mailFrom,
    sizeBytes: m.sizeBytes,
    receivedAt: formatTime(m.receivedAt),
    expiresAt: formatTime(m.expiresAt),
    completedAt: m.completedAt ? formatTime(m.completedAt) : null,
    isDsn: m.isDsn,
    recipients: m.recipients.map((r) => ({
      ...r,
      nextAttemptAt: r.nextAttemptAt ? formatTime(r.nextAttemptAt) : null,
      lastAttemptAt: r.lastAttemptAt ? formatTime(r.lastAttemptAt) : null,
    })),
  };
}

/** How one recipient was delivered: the policy, what DNSSEC vouched for, the TLS session and who the peer proved to be. */
function describeEvidence(event: EventView): string {
  const e = event.evidence;
  if (!e) return '';
  const override = e.override ? ` (${e.override})` : '';
  const lines = [
    `  ${event.recipient ?? '?'} at ${formatTime(event.at)}`,
    `    policy:    ${e.policy}${override}${e.tlsRequired ? `, sender asked ${e.tlsRequired === 'requiretls' ? 'REQUIRETLS' : 'TLS-Required: No'}` : ''}`,
    `    mx:        ${e.mxHost} (${e.mxAddress}); DNSSEC: MX ${e.dnssec.mx}, TLSA ${e.dnssec.tlsa}`,
    `    mta-sts:   ${e.mtaSts ? `${e.mtaSts.mode} (id ${e.mtaSts.id})` : 'none'}`,
    `    tls:       ${e.tls ? `${e.tls.version} ${e.tls.cipher}` : 'none (plaintext)'}`,
    `    peer:      ${e.peerAuthentication}${e.tlsaMatch ? ` (TLSA ${e.tlsaMatch})` : ''}; SPKI SHA-256 ${e.spkiSha256 ?? '-'}`,
    ...e.policyFailures.map((f) => `    not enforced: ${f}`),
    `    reply:     ${e.reply}`,
  ];
  return `${lines.join('\n')}\n`;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number of at least 1, not "${value}"`);
  return n;
}
