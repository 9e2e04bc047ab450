// Fallback downstream sink for machines without Postfix's smtp-sink: accepts every message on
// 127.0.0.1, throws it away, and prints smtp-sink -c style counters ("sess=N mesg=N\r")
// so sink.ts reads both the same way. Its own process, so its CPU is not the runner's.
//
//   node --import tsx bench/node-sink.ts --port P   (0 = ephemeral; prints "listening PORT\n" first)
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const { values: o } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

// smtp-server waits 100 ms before every greeting; a sink must not add that to delivery times.
SMTPConnection.prototype.init = function init(this: SMTPConnection) {
  this._setListeners(() => this.connectionReady());
};

let sessions = 0;
let messages = 0;
const report = () => process.stdout.write(`sess=${sessions} mesg=${messages}\r`);

const server = new SMTPServer({
  name: 'sink.bench.invalid',
  logger: false,
  disableReverseLookup: true, // never ask the system resolver
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  size: 1024 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on('data', () => {}); // discard
    stream.once('end', () => {
      messages++;
      report();
      callback(null, '2.0.0 Ok: discarded');
    });
  },
  onClose() {
    sessions++;
    report();
  },
});
server.on('error', () => {}); // client resets are not the sink's concern
server.listen(Number(o.port), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.server.address() as AddressInfo).port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
