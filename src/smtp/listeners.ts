import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { GatewaySmtpServer, type SessionBudgets } from './gateway-connection.js';
import { type SessionDeps, sessionHandlers } from './session-handlers.js';

export interface SmtpListenerOptions {
  host: string;
  /** Submission with STARTTLS (RFC 6409 / RFC 3207). */
  port: number;
  /** Implicit TLS (RFC 8314). */
  smtpsPort: number;
  hostname: string;
  tls: { key: string; cert: string };
  maxMessageBytes: number;
  maxRecipients: number;
  maxConnections: number;
  idleTimeoutMs: number;
  budgets: SessionBudgets;
  /** MAIL without AUTH, for unauthenticated inbound (the session handlers still require TLS and known recipients). */
  authOptional: boolean;
  log: Logger;
  /** Told of each connection accepted, for the metrics. */
  sessions?: SessionCounter | undefined;
}

export type ListenerName = 'submission' | 'smtps';

export interface SessionCounter {
  opened(listener: ListenerName): void;
}

export interface SmtpListeners {
  ports: { smtp: number; smtps: number };
  /** TCP connections open now, by listener. */
  openSessions(): Promise<Record<ListenerName, number>>;
  /** Stops accepting connections; sessions in progress get up to graceMs to finish. */
  close(graceMs: number): Promise<void>;
  /** The listeners not accepting connections now, by name and port (empty when both are). */
  notListening(): string[];
}

/** TLS 1.2 and up with AEAD ciphers only (TLS 1.3's suites are all AEAD), RFC 7525 §4.2. */
const TLS_SETTINGS = {
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
};

export async function startSmtpListeners(o: SmtpListenerOptions, deps: SessionDeps): Promise<SmtpListeners> {
  const handlers = sessionHandlers(deps);
  const make = (secure: boolean) =>
    new GatewaySmtpServer(
      {
        secure,
        name: o.hostname,
        key: o.tls.key,
        cert: o.tls.cert,
        ...TLS_SETTINGS,
        authMethods: ['PLAIN', 'LOGIN'],
        allowInsecureAuth: false,
        authOptional: o.authOptional,
        size: o.maxMessageBytes,
        maxRecipients: o.maxRecipients,
        maxClients: o.maxConnections,
        socketTimeout: o.idleTimeoutMs,
        // Reverse lookups would ask the system resolver; the gateway does not need them.
        disableReverseLookup: true,
        hideDSN: false,
        hideENHANCEDSTATUSCODES: false,
        // RFC 8689: a message sent with REQUIRETLS is only relayed over verified TLS (delivery/mx-courier.ts).
        hideREQUIRETLS: false,
        logger: false,
        onSecure(socket, _session, callback) {
          // RFC 7457 §2.2: no client-initiated renegotiation on a session we have authenticated.
          const tlsSocket = socket as TLSSocket;
          tlsSocket.disableRenegotiation?.();
          // On a TLS socket that tls.Server did not create (smtp-server wraps its sockets
          // itself), Node reports TLS errors after the handshake only as '_tlsError': a refused
          // renegotiation (whose handshake it then lets go on) or a corrupt record. smtp-server
          // listens for that during STARTTLS only, so on the implicit TLS port a renegotiation
          // used to complete and a session broken by a bad record stayed open until the idle
          // timeout. Either way the session is over: end it.
          tlsSocket.on('_tlsError', (err: Error) => {
            o.log.debug({ err: err.message }, 'tls error, session ended');
            tlsSocket.destroy();
          });
          callback();
        },
        onAuth: handlers.onAuth,
        onMailFrom: handlers.onMailFrom,
        onRcptTo: handlers.onRcptTo,
        onData: handlers.onData,
      },
      o.budgets,
    );
  const submission = make(false);
  const smtps = make(true);
  for (const server of [submission, smtps]) {
    server.on('error', (err: Error) => o.log.debug({ err: err.message }, 'smtp session error'));
  }
  const { sessions } = o;
  // Counted at the TCP level: a connection turned away (too many clients, a failed TLS handshake) was a session too.
  if (sessions) for (const [name, server] of listeners(submission, smtps)) server.server.on('connection', () => sessions.opened(name));
  const smtpPort = await listen(submission, o.port, o.host);
  const smtpsPort = await listen(smtps, o.smtpsPort, o.host);

  return {
    ports: { smtp: smtpPort, smtps: smtpsPort },
    async openSessions() {
      // The server's own count: smtp-server drops a socket's listeners at STARTTLS, so a 'close' listener would miss it.
      const open = await Promise.all(listeners(submission, smtps).map(([, server]) => openConnections(server)));
      return { submission: open[0] ?? 0, smtps: open[1] ?? 0 };
    },
    notListening() {
      const listeners = [
        { name: `submission port ${smtpPort}`, server: submission },
        { name: `smtps port ${smtpsPort}`, server: smtps },
      ];
      return listeners.filter((l) => !l.server.server.listening).map((l) => l.name);
    },
    async close(graceMs) {
      await Promise.all([submission.drain(graceMs), smtps.drain(graceMs)]);
    },
  };
}

function listeners(submission: GatewaySmtpServer, smtps: GatewaySmtpServer): [ListenerName, GatewaySmtpServer][] {
  return [
    ['submission', submission],
    ['smtps', smtps],
  ];
}

function openConnections(server: GatewaySmtpServer): Promise<number> {
  return new Promise((resolve) => server.server.getConnections((err, count) => resolve(err ? 0 : count)));
}

function listen(server: GatewaySmtpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(port, host, () => {
      server.server.off('error', reject);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}
