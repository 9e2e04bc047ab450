import type { Command } from 'commander';
import { type Gateway, startGateway } from '../../app/gateway.js';
import type { Config } from '../../config/index.js';
import { configFrom } from '../context.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the gateway: SMTP submission, delivery workers and HTTP, on the embedded store')
    .addHelpText('after', '\nExample:\n  RELAYGATE_SMARTHOST=smtp://user:pass@mail.example.com:587 relaygate start')
    .action(async (_opts: unknown, command: Command) => {
      const config = configFrom(command);
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
  const smarthost = gateway.smarthost ?? 'not configured: accepted mail waits in the queue until RELAYGATE_SMARTHOST is set';
  const rows: [string, string][] = [
    ['SMTP submission (STARTTLS)', `${host}:${gateway.ports.smtp}`],
    ['SMTP submission (TLS)', `${host}:${gateway.ports.smtps}`],
    ['HTTP health and admin API', `http://${config.http.listenHost}:${gateway.ports.http}/healthz, /api/docs`],
    ['Data directory', config.dataDir],
    ['TLS certificate', certificate],
    ['Smarthost', smarthost],
  ];
  const table = rows.map(([label, value]) => `  ${label.padEnd(28)} ${value}`).join('\n');
  return `
Relaygate is running
${table}

Next steps, in another shell:
  npx relaygate domain add example.com              # claim your sender domain, publish the TXT record it prints
  npx relaygate domain verify example.com           # (--force verifies by hand, recorded in the audit log)
  npx relaygate credential create --kind submission --description "My application"
then send through port ${gateway.ports.smtp} with STARTTLS and AUTH.

`;
}
