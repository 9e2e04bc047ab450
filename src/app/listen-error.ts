import { EX_CONFIG } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import { errnoInWords, isSystemError } from '../lib/system-error.js';
import { EnvironmentError, EX_UNAVAILABLE } from './environment-error.js';

interface Listener {
  portKey: string;
  portEnv: string;
  hostKey: string;
  hostEnv: string;
  host: string;
  port: number;
}

/**
 * Turns the error of a listener that could not bind into an EnvironmentError naming the key
 * (`smtp.port`, RELAYGATE_SMTP_PORT …), the address, the errno and the fix; anything else is
 * rethrown as it is. For `.catch()` on the start of the SMTP or HTTP listeners.
 */
export function listenFailed(config: Pick<Config, 'http' | 'smtp'>, part: 'smtp' | 'http'): (err: unknown) => never {
  return (err) => {
    // 'bind': an SMTP worker's listen, which node:cluster's primary binds for it (smtp-workers.ts).
    if (!isSystemError(err) || (err.syscall !== 'listen' && err.syscall !== 'bind')) throw err;
    const port = (err as { port?: number }).port;
    throw describe(listenerOf(config, part, port), err.code);
  };
}

function listenerOf(config: Pick<Config, 'http' | 'smtp'>, part: 'smtp' | 'http', port: number | undefined): Listener {
  if (part === 'http') {
    return {
      portKey: 'http.port',
      portEnv: 'RELAYGATE_HTTP_PORT',
      hostKey: 'http.listenHost',
      hostEnv: 'RELAYGATE_HTTP_HOST',
      host: config.http.listenHost,
      port: port ?? config.http.port,
    };
  }
  const smtps = port !== undefined && port === config.smtp.smtpsPort && port !== config.smtp.port;
  const relay = port !== undefined && port === config.smtp.relayPort && port !== config.smtp.port && port !== config.smtp.smtpsPort;
  return {
    portKey: relay ? 'smtp.relayPort' : smtps ? 'smtp.smtpsPort' : 'smtp.port',
    portEnv: relay ? 'RELAYGATE_SMTP_RELAY_PORT' : smtps ? 'RELAYGATE_SMTPS_PORT' : 'RELAYGATE_SMTP_PORT',
    hostKey: 'smtp.listenHost',
    hostEnv: 'RELAYGATE_SMTP_HOST',
    host: config.smtp.listenHost,
    port: port ?? config.smtp.port,
  };
}

function describe(l: Listener, code: string): EnvironmentError {
  const address = `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
  const words = errnoInWords(code);
  if (code === 'EADDRINUSE') {
    return new EnvironmentError(
      `cannot listen on ${address} (${l.portKey}, ${l.portEnv})`,
      words,
      `another process listens there (an earlier relaygate still stopping, or a mail server on ${l.port}): ss -ltnp 'sport = :${l.port}' names it; stop it, or set ${l.portEnv} to a free port`,
      EX_UNAVAILABLE,
    );
  }
  if (code === 'EACCES') {
    return new EnvironmentError(
      `cannot listen on ${address} (${l.portKey}, ${l.portEnv})`,
      words,
      `ports below 1024 need privileges: give the process CAP_NET_BIND_SERVICE (AmbientCapabilities= in the systemd unit), or set ${l.portEnv} to a port of 1024 or more`,
      EX_CONFIG,
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new EnvironmentError(
      `cannot listen on ${address} (${l.hostKey}, ${l.hostEnv})`,
      words,
      `${l.host} is not an address of this machine: set ${l.hostEnv} to one that ip -brief address lists, 127.0.0.1, or 0.0.0.0 for every address`,
      EX_CONFIG,
    );
  }
  return new EnvironmentError(`cannot listen on ${address} (${l.portKey}, ${l.portEnv})`, words, `check ${l.hostEnv} and ${l.portEnv}`, EX_UNAVAILABLE);
}
