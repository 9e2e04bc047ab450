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
  return `
Relaygate is running
  SMTP submission (STARTTLS)   ${host}:${gateway.ports.smtp}
  SMTP submission (implicit TLS) ${host}:${gateway.ports.smtps}
  HTTP health                  http://${config.http.listenHost}:${gateway.ports.http}/healthz
  Data directory               ${config.dataDir}
  TLS certificate              ${certificate}
  Smarthost                    ${smarthost}

Next step: create a credential for your application, then send through port ${gateway.ports.smtp}:
  npx relaygate credential create --kind submission --description "My application"

`;
}
