import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { AdminServices } from '../../api/api-context.js';
import type { ConnectorStatus, LegCheck } from '../../connector/connector.js';
import { LEGS } from '../../connector/legs.js';
import type { Actor } from '../../directory/context.js';
import { formatDurationMs, parseDurationMs } from '../../lib/durations.js';
import { DirectoryError } from '../../model/directory-error.js';
import { withServices } from '../context.js';
import { CliError, formatTime, printJson, printTable } from '../output.js';

/** sysexits EX_TEMPFAIL: --wait ran out of time with the outcome still open; try again later. */
const EX_TEMPFAIL = 75;
const POLL_MS = 1000;
/** Beyond the checks' deadline: the gateway's sweep that ends them runs at most every 5 s. */
const SWEEP_SLACK_MS = 10_000;
const DEFAULT_HISTORY = 10;

/** The connector verbs of `relaygate domain`: verify-connection, disconnect, reconnect, connection. */
export function registerDomainConnection(domain: Command): void {
  registerVerifyConnection(domain);
  registerDisconnect(domain);
  registerReconnect(domain);
  registerConnection(domain);
}

function registerVerifyConnection(domain: Command): void {
  domain
    .command('verify-connection')
    .description(
      "send the two verification mails: one out through the domain's outbound connection, one back in through its mail server's authenticated relay; " +
        'exit status 1 when a leg failed, 75 when --wait ran out of time',
    )
    .argument('<name>', 'a verified domain with a support address')
    .option('--wait', 'poll every second until both legs are verified or failed')
    .option('--timeout <duration>', "with --wait, give up after this long (default: the checks' deadline, verification.timeout, plus 10s)")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate domain verify-connection example.com\n  relaygate domain verify-connection example.com --wait --timeout 5m')
    .action(async (name: string, opts: { wait?: boolean; timeout?: string; json?: boolean }, command: Command) => {
      const timeoutMs = opts.timeout === undefined ? undefined : duration('--timeout', opts.timeout);
      const status = await run(command, async (services, actor) => {
        const started = await services.connector.verify(name, actor);
        if (!opts.wait) return started;
        const deadline = Math.max(...LEGS.map((leg) => started.legs[leg]?.deadlineAt ?? 0));
        const waitMs = timeoutMs ?? Math.ceil((Math.max(0, deadline - Date.now()) + SWEEP_SLACK_MS) / 1000) * 1000;
        if (!opts.json) process.stdout.write(`Waiting up to ${formatDurationMs(waitMs)} for both legs of ${started.domain}…\n`);
        return poll(
          () => services.connector.status(name),
          (s) => LEGS.every((leg) => s.legs[leg]?.status !== 'pending'),
          waitMs,
        );
      });
      if (opts.json) printJson(connectorJson(status));
      else {
        process.stdout.write(`Connection check of ${status.domain}:\n`);
        printLegs(status);
      }
      const failed = LEGS.filter((leg) => status.legs[leg]?.status === 'failed');
      const pending = LEGS.filter((leg) => status.legs[leg]?.status === 'pending');
      if (failed.length > 0) throw new CliError(`${legsOf(failed, status.domain)} failed; fix what the reason says and run this again`);
      if (pending.length > 0 && opts.wait)
        throw new CliError(
          `${legsOf(pending, status.domain)} ${pending.length === 1 ? 'is' : 'are'} still pending; see "relaygate domain connection ${status.domain}"`,
          EX_TEMPFAIL,
        );
      if (pending.length > 0 && !opts.json) process.stdout.write(`Follow it: relaygate domain connection ${status.domain} (or run this with --wait)\n`);
      else if (!opts.json) process.stdout.write(`Both legs are verified: ${status.domain} is connected.\n`);
    });
}

function registerDisconnect(domain: Command): void {
  domain
    .command('disconnect')
    .description(
      "stop the domain's mail and drain its queue; once the queue is empty the running gateway revokes its inbound credentials and removes its outbound connection",
    )
    .argument('<name>', 'domain name')
    .option('--wait', 'poll every second until the gateway has completed the disconnect')
    .option('--timeout <duration>', 'with --wait, give up after this long', '10m')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  relaygate domain disconnect old.example.com\n  relaygate domain disconnect old.example.com --wait --timeout 1h')
    .action(async (name: string, opts: { wait?: boolean; timeout: string; json?: boolean }, command: Command) => {
      const timeoutMs = duration('--timeout', opts.timeout);
      const status = await run(command, async (services, actor) => {
        const current = await services.connector.status(name);
        // A disconnect already under way (started by someone else, or an earlier run without --wait) is waited for, not refused.
        const alreadyDraining = opts.wait && current.state === 'draining';
        const draining = alreadyDraining ? current : await services.connector.disconnect(name, actor);
        if (!opts.json) process.stdout.write(alreadyDraining ? `${current.domain} is already draining; waiting for it.\n` : drainingText(draining));
        if (!opts.wait) return draining;
        return poll(
          () => services.connector.status(name),
          (s) => s.state === 'disconnected',
          timeoutMs,
        );
      });
      if (opts.json) printJson(connectorJson(status));
      if (opts.wait && status.state !== 'disconnected')
        throw new CliError(
          `${status.domain} is still ${status.state} after ${opts.timeout} with ${messages(status.queued)} queued; is the gateway running? See "relaygate domain connection ${status.domain}"`,
          EX_TEMPFAIL,
        );
      if (opts.json) return;
      if (opts.wait) process.stdout.write(`${status.domain} is disconnected: its inbound credentials are revoked and its outbound connection removed.\n`);
      else process.stdout.write(`Follow it: relaygate domain connection ${status.domain} (or run this with --wait)\n`);
    });
}

function registerReconnect(domain: Command): void {
  domain
    .command('reconnect')
    .description(
      'take a disconnected domain back, keeping its DKIM keys, addresses and inbound target; it then needs a new inbound credential ' +
        'and outbound connection (the disconnect revoked and removed them) and a connection check',
    )
    .argument('<name>', 'a disconnected domain')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain reconnect old.example.com')
    .action(async (name: string, opts: { json?: boolean }, command: Command) => {
      const [status, addresses] = await run(command, async (services, actor) => {
        const reconnected = await services.connector.reconnect(name, actor);
        return [reconnected, (await services.domains.get(reconnected.domain)).addressCount] as const;
      });
      if (opts.json) return printJson(connectorJson(status));
      const d = status.domain;
      process.stdout.write(
        `${d} is reconnected (${status.state} until both legs are verified again). Kept: its DKIM keys, its ${addresses} address${addresses === 1 ? '' : 'es'} and its inbound target.\n` +
          `The disconnect revoked its inbound credentials and removed its outbound connection, so it needs new ones:\n` +
          `  relaygate credential create --kind inbound --domain ${d} --description "…"   (give your mail server the new secret)\n` +
          `  relaygate connection add --domain ${d} --host … --username … --secret-stdin\n` +
          `  relaygate domain verify-connection ${d} --wait\n`,
      );
    });
}

function registerConnection(domain: Command): void {
  domain
    .command('connection')
    .description("the domain's connector: its state, each leg's latest check, and the history of checks")
    .argument('<name>', 'domain name')
    .option('--history <n>', 'how many past checks to show (1 to 1000)', String(DEFAULT_HISTORY))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  relaygate domain connection example.com --history 20')
    .action(async (name: string, opts: { history: string; json?: boolean }, command: Command) => {
      const limit = Number(opts.history);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--history must be a whole number from 1 to 1000, not "${opts.history}"`);
      const [status, history] = await run(command, (services) =>
        Promise.all([services.connector.status(name), services.connector.history(name, limit)] as const),
      );
      if (opts.json) return printJson({ ...connectorJson(status), history: history.map(legJson) });
      process.stdout.write(`Connection of ${status.domain}\n${connectorLines(status).join('\n')}\n\nHistory (latest ${limit})\n`);
      printTable(
        history.map((c) => ({
          started: formatTime(c.startedAt),
          leg: c.leg,
          trigger: c.trigger,
          status: c.beforeDisconnect ? `${c.status} (before the disconnect)` : c.status,
          finished: formatTime(c.finishedAt),
          reason: c.reason ?? '-',
        })),
        ['started', 'leg', 'trigger', 'status', 'finished', 'reason'],
      );
    });
}

/** The connector state and each leg's latest check, as `domain show` and `domain connection` print them. */
export function connectorLines(s: ConnectorStatus): string[] {
  const since = s.changedAt === null ? '' : ` since ${formatTime(s.changedAt)}`;
  const queued = s.state === 'draining' ? `, ${messages(s.queued)} still queued` : '';
  const pending = s.state === 'pending' ? `, until both legs are verified ("relaygate domain verify-connection ${s.domain}")` : '';
  return [`  connector:    ${s.state}${since}${queued}${pending}`, `  outbound leg: ${legText(s.legs.outbound)}`, `  inbound leg:  ${legText(s.legs.inbound)}`];
}

export function connectorJson(s: ConnectorStatus) {
  return {
    ...s,
    changedAt: s.changedAt === null ? null : formatTime(s.changedAt),
    legs: { outbound: legOrNull(s.legs.outbound), inbound: legOrNull(s.legs.inbound) },
  };
}

function legText(check: LegCheck | null): string {
  if (!check) return 'never checked';
  if (check.status === 'pending') return `pending since ${formatTime(check.startedAt)} (deadline ${formatTime(check.deadlineAt)})`;
  const text = `${check.status} ${formatTime(check.finishedAt)}${check.reason ? `: ${check.reason}` : ''}`;
  return check.beforeDisconnect ? `not checked since the disconnect (before it: ${text})` : text;
}

function printLegs(s: ConnectorStatus): void {
  printTable(
    LEGS.map((leg) => {
      const check = s.legs[leg];
      const when = check?.status === 'pending' ? `deadline ${formatTime(check.deadlineAt)}` : formatTime(check?.finishedAt);
      return { leg, status: check?.status ?? 'never checked', when, reason: check?.reason ?? '-' };
    }),
    ['leg', 'status', 'when', 'reason'],
  );
}

function drainingText(s: ConnectorStatus): string {
  const head = `${s.domain} is ${s.state}: the gateway takes no new mail for it or from it.`;
  if (s.queued === 0)
    return `${head}\nNothing is queued for it: the running gateway revokes its inbound credentials and removes its outbound connection within seconds.\n`;
  return (
    `${head}\n${messages(s.queued)} ${s.queued === 1 ? 'is' : 'are'} still queued. Once they have left the queue (delivered, bounced or expired), ` +
    `the running gateway revokes the domain's inbound credentials and removes its outbound connection.\n`
  );
}

async function poll(read: () => Promise<ConnectorStatus>, done: (s: ConnectorStatus) => boolean, timeoutMs: number): Promise<ConnectorStatus> {
  const until = Date.now() + timeoutMs;
  let status = await read();
  while (!done(status) && Date.now() < until) {
    await sleep(Math.min(POLL_MS, until - Date.now()));
    status = await read();
  }
  return status;
}

/** The connector's refusals as one line; its messages already carry the next step. */
async function run<T>(command: Command, work: (services: AdminServices, actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await withServices(command, work);
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliError(err.message);
    throw err;
  }
}

function duration(flag: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new CliError(`${flag} must be a duration such as 30s, 5m or 1h, not "${text}"`);
  return ms;
}

const legsOf = (legs: string[], domain: string) => `the ${legs.join(' and ')} leg${legs.length === 1 ? '' : 's'} of ${domain}`;
const messages = (n: number) => `${n} message${n === 1 ? '' : 's'}`;
const legOrNull = (check: LegCheck | null) => (check ? legJson(check) : null);
const legJson = (c: LegCheck) => ({
  ...c,
  startedAt: formatTime(c.startedAt),
  deadlineAt: formatTime(c.deadlineAt),
  finishedAt: c.finishedAt === null ? null : formatTime(c.finishedAt),
});
