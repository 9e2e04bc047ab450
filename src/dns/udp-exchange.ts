import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { ServerAddress } from './server-address.js';

export type UdpOutcome = { kind: 'reply'; server: ServerAddress; message: Buffer } | { kind: 'timeout' } | { kind: 'failed'; detail: string };

export interface UdpTiming {
  /** When to give up, epoch ms. */
  deadline: number;
  /** Resend after this long without an answer (RFC 1035 §4.2.1), to the next server in turn. */
  retransmitMs: number;
}

/**
 * Sends one query over UDP and waits for the reply that `accepts` recognises, from the
 * server it was sent to. Datagrams from elsewhere, or with the wrong id or question, are
 * ignored rather than failing the query: that is what makes off-path spoofing hard
 * (RFC 5452 §4.1, §9.1; the source port is chosen at random by the OS).
 */
export function udpExchange(servers: ServerAddress[], query: Buffer, accepts: (message: Buffer) => boolean, timing: UdpTiming): Promise<UdpOutcome> {
  return new Promise((resolve) => {
    const sockets = new Map<4 | 6, Socket>();
    let attempt = 0;
    let lastError: string | undefined;
    let retransmit: NodeJS.Timeout | undefined;
    const finish = (outcome: UdpOutcome) => {
      clearTimeout(retransmit);
      clearTimeout(giveUp);
      for (const socket of sockets.values()) socket.close();
      sockets.clear();
      resolve(outcome);
    };
    const onMessage = (message: Buffer, from: RemoteInfo) => {
      const server = servers.find((s) => s.host === from.address && s.port === from.port);
      if (server && accepts(message)) finish({ kind: 'reply', server, message });
    };
    const socketFor = (family: 4 | 6): Socket => {
      const existing = sockets.get(family);
      if (existing) return existing;
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      socket.on('message', onMessage);
      socket.on('error', (err) => {
        lastError = err.message;
      });
      sockets.set(family, socket);
      return socket;
    };
    const send = () => {
      const server = servers[attempt % servers.length] as ServerAddress;
      attempt += 1;
      socketFor(server.family).send(query, server.port, server.host, (err) => {
        if (err) lastError = `${server.text}: ${err.message}`;
      });
      retransmit = setTimeout(send, timing.retransmitMs);
    };
    const giveUp = setTimeout(() => finish(lastError ? { kind: 'failed', detail: lastError } : { kind: 'timeout' }), Math.max(timing.deadline - Date.now(), 0));
    send();
  });
}
