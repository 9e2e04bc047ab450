import { type Command, Option } from 'commander';
import type { Gateway } from '../../app/gateway.js';
import { storeDescription } from '../../app/store-description.js';
import type { Config } from '../../config/index.js';
import { descriptionOf } from '../commands-table.js';
import { configFrom } from '../context.js';
import { keepServingOnClosedPipe } from '../output.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description(descriptionOf('start'))
    .option('--sandbox', 'capture every outgoing mail in the local sandbox mailbox instead of sending it (sandbox: true)')
    .addOption(
      new Option('--role <role>', 'run one part only, sharing the queue with the other instances through PostgreSQL (role; RELAYGATE_ROLE)').choices([
        'all',
        'smtp',
        'worker',
        'http',
      ]),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  relaygate start --sandbox\n  RELAYGATE_SMARTHOST=smtp://user:pass@mail.example.com:587 relaygate start\n' +
        '  RELAYGATE_DATABASE_URL=postgres://relaygate:secret@db.example.com/relaygate relaygate start --role smtp\n' +
        '  RELAYGATE_DATABASE_URL=postgres://relaygate:secret@db.example.com/relaygate relaygate start --role worker',
    )
    .action(async (opts: { sandbox?: boolean; role?: string }, command: Command) => {
      const config = await configFrom(command, { ...(opts.sandbox ? { sandbox: true } : {}), ...(opts.role ? { role: opts.role } : {}) });
      keepServingOnClosedPipe();
      // Loaded here, not at the top: the whole gateway (HTTP server, mail parsers, DNS)
      // would otherwise be imported by every other command of the CLI too.
      (await import('../../app/heap-growth.js')).boundHeapGrowth();
      const { startGateway } = await import('../../app/gateway.js');
      const gateway = await startGateway(config);
      process.stdout.write(banner(config, gateway));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`relaygate: ${signal} received, finishing sessions in progress (up to ${config.shutdownTimeout / 1000}s)\n`);
        gateway.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`relaygate: shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

function banner(config: Config, gateway: Gateway): string {
  const host = config.smtp.listenHost;
  const certificate = gateway.tls.generated
    ? `development certificate generated in ${gateway.tls.path} (clients will not trust it; set RELAYGATE_TLS_CERT and RELAYGATE_TLS_KEY for production)`
    : gateway.tls.path;
  const smtp = config.role === 'all' || config.role === 'smtp';
  const rows: [string, string][] = [
    ['Role', config.role === 'all' ? 'all (SMTP, delivery workers, HTTP)' : config.role],
    ['Store', storeDescription(config)],
    ...(smtp
      ? ([
          ['SMTP submission (STARTTLS)', `${host}:${gateway.ports.smtp}`],
          ['SMTP submission (TLS)', `${host}:${gateway.ports.smtps}`],
          ['SMTP relay (mail servers)', `${host}:${gateway.ports.relay}`],
        ] as [string, string][])
      : []),
    [
      config.role === 'all' || config.role === 'http' ? 'HTTP health and admin API' : 'HTTP health and metrics',
      `http://${config.http.listenHost}:${gateway.ports.http}/healthz${config.role === 'all' || config.role === 'http' ? ', /api/docs' : ', /metrics'}`,
    ],
    ['Data directory', config.dataDir],
    ['TLS certificate', certificate],
    ['Outgoing mail goes', outgoingMail(config, gateway)],
  ];
  const table = rows.map(([label, value]) => `  ${label.padEnd(28)} ${value}`).join('\n') + warningsOf(gateway);
  if (config.role !== 'all') return `\nRelaygate is running (role ${config.role})\n${table}\n\n`;
  if (gateway.sandbox) return `${SANDBOX_BANNER}${table}\n${sandboxSteps(config, gateway)}`;
  return `
Relaygate is running
${table}

Next steps, in another shell:
  npx relaygate domain add example.com              # claim your sender domain, publish the TXT record it prints
  npx relaygate domain verify example.com           # (--force verifies by hand, recorded in the audit log)
  npx relaygate credential create --kind submission --description "My application"
then send through port ${gateway.ports.smtp} with STARTTLS and AUTH.
The web console: npx relaygate admin create you@example.com, then sign in at http://${config.http.listenHost}:${gateway.ports.http}/console

`;
}

/**
 * Where accepted mail leaves in this mode. Per-domain connections and routes can send some of
 * it elsewhere (`relaygate connection list`, `relaygate route list`).
 */
function outgoingMail(config: Config, gateway: Gateway): string {
  if (gateway.sandbox) return 'nowhere: SANDBOX MODE, every outgoing mail is captured in the sandbox mailbox (relaygate sandbox list)';
  if (gateway.smarthost) return `to the smarthost ${gateway.smarthost}`;
  if (config.delivery.direct)
    return `straight to each recipient domain's MX hosts on port ${config.delivery.mxPort}, under DANE, MTA-STS and the TLS policies (no smarthost is set)`;
  return 'nowhere yet: no smarthost is set and delivery.direct is off, so accepted mail waits in the queue until RELAYGATE_SMARTHOST is set';
}

function warningsOf(gateway: Gateway): string {
  return gateway.warnings.map((warning) => `\n\n  WARNING: ${warning}.`).join('');
}

const SANDBOX_BANNER = `
################################################################################
##  SANDBOX MODE: NOTHING LEAVES THIS MACHINE.                                ##
##  Every delivery, report, notification and verification mail is captured   ##
##  in the sandbox mailbox instead of being sent. Set a smarthost (or         ##
##  sandbox: false) to deliver for real.                                      ##
################################################################################
Relaygate is running in the sandbox
`;

/** A first message end to end, with the example.test domain the sandbox lets an operator claim by hand. */
function sandboxSteps(config: Config, gateway: Gateway): string {
  const host = config.smtp.listenHost;
  return `
Send a first message, in another shell:
  npx relaygate domain add example.test && npx relaygate domain verify example.test --force
  npx relaygate credential create --kind submission --description "First try"    # prints USER and SECRET
  swaks --server ${host}:${gateway.ports.smtp} --tls --auth-user USER --auth-password SECRET \\
        --from app@example.test --to someone@example.net
  (or: curl --url smtp://${host}:${gateway.ports.smtp} --ssl-reqd -k --user USER:SECRET \\
        --mail-from app@example.test --mail-rcpt someone@example.net --upload-file message.eml)
Then see what would have been sent:
  npx relaygate sandbox list
  npx relaygate sandbox show ID      (or GET http://${config.http.listenHost}:${gateway.ports.http}/api/v1/sandbox/messages)
The web console shows it too: npx relaygate admin create you@example.com, then sign in at http://${config.http.listenHost}:${gateway.ports.http}/console

`;
}
