/**
 * Local SMTP servers playing remote MX hosts: one per host, each on its own loopback address,
 * all on one port (the gateway's `delivery.mxPort`), with STARTTLS and the certificate a test
 * gives each.
 */
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

export interface MxHostSpec {
  /** The MX host name, for the greeting. */
  name: string;
  address: string;
  cert: { cert: string; key: string };
}

export interface MxHosts {
  port: number;
  /** By host name. */
  sinks: Map<string, SmtpSink>;
  /** The host starts presenting another certificate (a key change), on the same address and port. */
  recertify(name: string, cert: { cert: string; key: string }): Promise<SmtpSink>;
  stop(): Promise<void>;
}

/** If another process holds the port on one of the addresses, starts over on another. */
export async function startMxHosts(specs: MxHostSpec[]): Promise<MxHosts> {
  const sinks = new Map<string, SmtpSink>();
  const stopAll = () => Promise.all([...sinks.values()].map((sink) => sink.stop())).then(() => undefined);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      port = 0;
      for (const spec of specs) {
        const sink = await startSmtpSink({ tls: 'starttls', cert: spec.cert, host: spec.address, port, name: spec.name });
        sinks.set(spec.name, sink);
        port = sink.port;
      }
      break;
    } catch (err) {
      await stopAll();
      sinks.clear();
      if (attempt === 5) throw err;
    }
  }
  return {
    port,
    sinks,
    async recertify(name, cert) {
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new Error(`no MX host ${name}`);
      await sinks.get(name)?.stop();
      const sink = await startSmtpSink({ tls: 'starttls', cert, host: spec.address, port, name });
      sinks.set(name, sink);
      return sink;
    },
    stop: stopAll,
  };
}
