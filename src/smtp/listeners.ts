import type { AddressInfo } from 'node:net';
import { rootCertificates, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ConnectionsPerAddress } from './connections-per-address.js';
import { GatewaySmtpServer, type SessionBudgets } from './gateway-connection.js';
import { type SessionDeps, sessionHandlers } from './session-handlers.js';

export interface SmtpListenerOptions {
  host: string;
  /** Submission with STARTTLS (RFC 6409 / RFC 3207). */
  port: number;
  /** Implicit TLS (RFC 8314). */
  smtpsPort: number;
  /** Organisation servers relaying inbound mail: STARTTLS with a client certificate requested, or AUTH. */
  relayPort: number;
  /** Trust anchors (PEM) of client certificates on the relay port; the system store when undefined. */
  clientCa: string | undefined;
  hostname: string;
  tls: { key: string; cert: string };
  maxMessageBytes: number;
  maxRecipients: number;
  maxConnections: number;
  /** Per client address (IPv6: per /64) across the three listeners; 0 turns it off. */
  maxConnectionsPerIp: number;
  idleTimeoutMs: number;
  budgets: SessionBudgets;
  /** MAIL without AUTH, for unauthenticated inbound (the session handlers still require TLS and known recipients). */
  authOptional: boolean;
  log: Logger;
  /** Told of each connection accepted, for the metrics. */
  sessions?: SessionCounter | undefined;
}

export type ListenerName = 'submission' | 'smtps' | 'relay';

export interface SessionCounter {
  opened(listener: ListenerName): void;
}

export interface SmtpListeners {
  ports: { smtp: number; smtps: number; relay: number };
  /** TCP connections open now, by listener. */
  openSessions(): Promise<Record<ListenerName, number>>;
  /** Stops accepting connections; sessions in progress get up to graceMs to finish. */
  close(graceMs: number): Promise<void>;
  /** The listeners not accepting connections now, by name and port (empty when all are). */
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
  const perAddress = new ConnectionsPerAddress(o.maxConnectionsPerIp);
  const make = (name: ListenerName) => {
    const handlers = sessionHandlers(deps, { relay: name === 'relay' });
    const relay = name === 'relay';
    return new GatewaySmtpServer(
      {
        secure: name === 'smtps',
        name: o.hostname,
        key: o.tls.key,
        cert: o.tls.cert,
        ...TLS_SETTINGS,
        // The relay port asks for a client certificate and judges it itself (session-handlers.ts):
        // a server without one (or with one we do not trust) may still AUTH.
        ...(relay ? { requestCert: true, rejectUnauthorized: false, ca: o.clientCa ?? [...rootCertificates] } : {}),
        authMethods: ['PLAIN', 'LOGIN'],
        allowInsecureAuth: false,
        // A certificate is no AUTH to smtp-server: the relay port takes MAIL from every session and refuses at RCPT whatever did not authenticate.
        authOptional: relay || o.authOptional,
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
        onSecure(socket, session, callback) {
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
          handlers.onSecure(tlsSocket, session);
          callback();
        },
        onAuth: handlers.onAuth,
        onMailFrom: handlers.onMailFrom,
        onRcptTo: handlers.onRcptTo,
        onData: handlers.onData,
      },
      o.budgets,
      { log: o.log, observe: deps.observe },
      perAddress,
    );
  };
  const servers: [ListenerName, GatewaySmtpServer][] = [
    ['submission', make('submission')],
    ['smtps', make('smtps')],
    ['relay', make('relay')],
  ];
  for (const [, server] of servers) {
    server.on('error', (err: Error) => o.log.debug({ err: err.message }, 'smtp session error'));
  }
  const { sessions } = o;
  // Counted at the TCP level: a connection turned away (too many clients, a failed TLS handshake) was a session too.
  if (sessions) for (const [name, server] of servers) server.server.on('connection', () => sessions.opened(name));
  const portOf: Record<ListenerName, number> = { submission: o.port, smtps: o.smtpsPort, relay: o.relayPort };
  const bound = {} as Record<ListenerName, number>;
  for (const [name, server] of servers) bound[name] = await listen(server, portOf[name], o.host);

  return {
    ports: { smtp: bound.submission, smtps: bound.smtps, relay: bound.relay },
    async openSessions() {
      // The server's own count: smtp-server drops a socket's listeners at STARTTLS, so a 'close' listener would miss it.
      const open = await Promise.all(servers.map(([, server]) => openConnections(server)));
      return { submission: open[0] ?? 0, smtps: open[1] ?? 0, relay: open[2] ?? 0 };
    },
    notListening() {
      return servers.filter(([, server]) => !server.server.listening).map(([name]) => `${name} port ${bound[name]}`);
    },
    async close(graceMs) {
      await Promise.all(servers.map(([, server]) => server.drain(graceMs)));
    },
  };
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
