/**
 * Finds a loopback port that was free a moment ago. Prefer binding to port 0
 * directly; this is for the few cases where a port must be known before the
 * thing that listens on it starts (e.g. a config file written up front).
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`unexpected listen address: ${String(address)}`));
        return;
      }
      // Resolve only once closed, so the caller can bind the port straight away.
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
