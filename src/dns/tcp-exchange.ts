import { connect } from 'node:net';
import type { ServerAddress } from './server-address.js';

export type TcpOutcome = { kind: 'reply'; message: Buffer } | { kind: 'timeout' } | { kind: 'failed'; detail: string };

/**
 * One query over TCP, each message behind a two-byte length (RFC 1035 §4.2.2). Used when
 * the UDP reply came back truncated (TC bit), as RFC 7766 §5 requires of a stub resolver.
 */
export function tcpExchange(server: ServerAddress, query: Buffer, deadline: number): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const finish = (outcome: TcpOutcome) => {
      clearTimeout(giveUp);
      socket.destroy();
      resolve(outcome);
    };
    const giveUp = setTimeout(() => finish({ kind: 'timeout' }), Math.max(deadline - Date.now(), 0));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length >= 2 + size) finish({ kind: 'reply', message: received.subarray(2, 2 + size) });
    });
    socket.on('error', (err) => finish({ kind: 'failed', detail: `${server.text} over TCP: ${err.message}` }));
    socket.on('end', () => finish({ kind: 'failed', detail: `${server.text} closed the TCP connection without a complete answer` }));
  });
}
