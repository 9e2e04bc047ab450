import type { Config } from '../config/schema.js';
import type { SmtpEndpoints } from '../console/index.js';
import type { SmtpListeners } from '../smtp/listeners.js';
import type { Listening } from '../store/postgres/listen-connection.js';

/**
 * What the metrics, the readiness probe, the links and the console read, but which comes up
 * after they are built: src/app/lifecycle.ts sets each field once, when its part has started
 * (the HTTP listener settles the public URL, then the worker's NOTIFY wake-ups, then the SMTP
 * listeners), and clears `accepting` when the stop begins.
 */
export interface LateParts {
  /** False once shutdown has begun. */
  accepting: boolean;
  /** http.publicUrl; until the HTTP listener is bound and when none is configured, ''. */
  publicUrl: string;
  /** The configured ports until the listeners are bound (port 0 picks one; an http-only role binds none). */
  smtpEndpoints: SmtpEndpoints;
  /** 'starting' until the SMTP part has started; then the listeners, or undefined on a role without them. */
  smtp: SmtpListeners | 'starting' | undefined;
  /** The worker's NOTIFY wake-ups (PostgreSQL only), once the worker exists. */
  listening: Listening | undefined;
}

export function lateParts(config: Pick<Config, 'http' | 'hostname' | 'smtp'>): LateParts {
  return {
    accepting: true,
    publicUrl: config.http.publicUrl ?? '',
    smtpEndpoints: {
      host: config.hostname,
      submissionPort: config.smtp.port,
      implicitTlsPort: config.smtp.smtpsPort,
      relayPort: config.smtp.relayPort,
    },
    smtp: 'starting',
    listening: undefined,
  };
}

/** For /readyz: the SMTP listeners not accepting connections. */
export function smtpNotListening(late: Pick<LateParts, 'smtp'>): string[] {
  if (late.smtp === 'starting') return ['the SMTP listeners have not started yet'];
  return late.smtp?.notListening() ?? [];
}

/** For /metrics: the SMTP sessions open per listener; none until the listeners start (they start last). */
export async function openSmtpSessions(late: Pick<LateParts, 'smtp'>): Promise<Record<string, number>> {
  return late.smtp && late.smtp !== 'starting' ? late.smtp.openSessions() : {};
}
