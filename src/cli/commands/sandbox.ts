import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { systemClock } from '../../lib/clock.js';
import type { CapturedMessage, SandboxMailbox } from '../../sandbox/mailbox.js';
import { descriptionOf } from '../commands-table.js';
import { withStore } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

export function registerSandbox(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description(descriptionOf('sandbox'))
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate sandbox list\n  relaygate sandbox raw sbx_2m4q8t0v3x6z9c1e5g7j > message.eml\n  relaygate sandbox inject --to support@example.test message.eml',
    );

  const mailboxOf = (command: Command) => async (work: (mailbox: SandboxMailbox) => Promise<void>) => {
    const [{ CaptureNotFound }, { sandboxMailboxOn }] = await Promise.all([import('../../sandbox/mailbox.js'), import('../../app/sandbox-parts.js')]);
    await withStore(command, (store, config) => work(sandboxMailboxOn(store, config, systemClock))).catch((err: unknown) => {
      throw err instanceof CaptureNotFound ? new CliError(err.message) : err;
    });
  };

  sandbox
    .command('list')
    .description('captured messages, newest first')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate sandbox list --limit 10')
    .action(async (opts: { limit: number; json?: boolean }, command: Command) => {
      await mailboxOf(command)(async (mailbox) => {
        const page = await mailbox.list({ limit: opts.limit, offset: 0 });
        if (opts.json) return printJson({ ...page, items: page.items.map(forJson) });
        printTable(
          page.items.map((m) => ({
            id: m.id,
            captured: formatTime(m.capturedAt),
            kind: m.kind,
            from: m.mailFrom || '<>',
            to: m.recipients.join(', '),
            subject: (m.subject ?? '').slice(0, 40),
            'next hop': m.decision.nextHop,
          })),
          ['id', 'captured', 'kind', 'from', 'to', 'subject', 'next hop'],
        );
      });
    });

  sandbox
    .command('show')
    .description('one captured message: envelope, headers, DKIM result and the delivery decision')
    .argument('<id>', 'captured message id (see sandbox list)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate sandbox show sbx_2m4q8t0v3x6z9c1e5g7j')
    .action(async (id: string, opts: { json?: boolean }, command: Command) => {
      await mailboxOf(command)(async (mailbox) => {
        const captured = await mailbox.show(id);
        const raw = await mailbox.raw(id);
        const head = headOf(raw, captured);
        if (opts.json) return printJson({ ...forJson(captured), headers: head });
        const dkim =
          captured.dkim.length === 0 ? 'no signature' : captured.dkim.map((d) => `${d.result} (d=${d.domain} s=${d.selector}: ${d.comment})`).join('; ');
        const rows: [string, string][] = [
          ['Captured', `${formatTime(captured.capturedAt)} (${captured.kind}, queue id ${captured.queueId})`],
          ['Envelope', `${captured.mailFrom || '<>'} -> ${captured.recipients.join(', ')}`],
          ['Route', captured.decision.route],
          ['Would go to', captured.decision.nextHop],
          ['TLS', captured.decision.tls],
          ['DKIM', dkim],
        ];
        process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n')}\n\n${head}\n`);
      });
    });

  sandbox
    .command('raw')
    .description('the captured message exactly as it would have been sent (a webhook: its headers and JSON)')
    .argument('<id>', 'captured message id (see sandbox list)')
    .addHelpText('after', '\nExample:\n  relaygate sandbox raw sbx_2m4q8t0v3x6z9c1e5g7j > captured.eml')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await mailboxOf(command)(async (mailbox) => {
        process.stdout.write(await mailbox.raw(id));
      });
    });

  sandbox
    .command('clear')
    .description('empty the sandbox mailbox')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate sandbox clear')
    .action(async (opts: { json?: boolean }, command: Command) => {
      await mailboxOf(command)(async (mailbox) => {
        const removed = await mailbox.clear();
        if (opts.json) return printJson({ removed });
        process.stdout.write(`Removed ${removed} captured message(s)\n`);
      });
    });

  sandbox
    .command('inject')
    .description("relay a message into the gateway as the organisation's mail server would (inbound leg)")
    .argument('[file]', 'the message (.eml); standard input when omitted')
    .requiredOption('--to <address...>', 'an address of a verified domain (repeatable)')
    .option('--from <address>', 'the envelope sender', 'someone@example.net')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate sandbox inject --to support@example.test message.eml\n  relaygate sandbox inject --to support@example.test --from customer@example.net < message.eml',
    )
    .action(async (file: string | undefined, opts: { to: string[]; from: string; json?: boolean }, command: Command) => {
      const raw = file ? await readFile(file) : Buffer.concat(await process.stdin.toArray());
      const [{ InjectRefused, injectInbound }, { sandboxInjection }] = await Promise.all([
        import('../../sandbox/inject.js'),
        import('../../app/sandbox-parts.js'),
      ]);
      const accepted = await withStore(command, (store, config) =>
        injectInbound(sandboxInjection(store, config, systemClock), { raw, to: opts.to, from: opts.from }),
      ).catch((err: unknown) => {
        throw err instanceof InjectRefused ? new CliError(err.message) : err;
      });
      if (opts.json) return printJson(accepted);
      if (accepted.kind === 'verification')
        return void process.stdout.write('A verification token came back: its check is complete (relaygate domain connection DOMAIN)\n');
      process.stdout.write(`Relayed in as ${accepted.id}; the running gateway hands it to the application (or the sandbox capture: relaygate sandbox list)\n`);
    });
}

function forJson(m: CapturedMessage) {
  return { ...m, capturedAt: formatTime(m.capturedAt) };
}

/** The header section as captured, our marker included. */
function headOf(raw: Buffer, captured: CapturedMessage): string {
  if (captured.kind === 'webhook') return raw.toString('utf8');
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}
