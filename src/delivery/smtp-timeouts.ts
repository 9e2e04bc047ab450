import type { Readable } from 'node:stream';
import type { Config } from '../config/schema.js';

/**
 * How long an SMTP client of ours waits for the next hop (smarthost or MX), from the
 * `delivery.*Timeout` settings. Defaults follow RFC 5321 §4.5.3.2: 5 minutes for the greeting
 * and for each command's reply, 10 minutes for the reply to the final dot (§4.5.3.2.6, long
 * because the server may still be working on the message).
 */
export interface DeliveryTimeouts {
  connectMs: number;
  greetingMs: number;
  commandMs: number;
  dataMs: number;
}

export function deliveryTimeouts(config: Pick<Config, 'delivery'>): DeliveryTimeouts {
  const d = config.delivery;
  return { connectMs: d.connectTimeout, greetingMs: d.greetingTimeout, commandMs: d.commandTimeout, dataMs: d.dataTimeout };
}

/** The nodemailer options for them; its one idle timer (socketTimeout) is the command timeout until the final dot. */
export function clientTimeouts(t: DeliveryTimeouts, idleMs = t.commandMs) {
  return { connectionTimeout: t.connectMs, greetingTimeout: t.greetingMs, socketTimeout: idleMs, dnsTimeout: t.connectMs };
}

/**
 * Marks an error as met after the whole body was handed over, which is when the final dot
 * goes out: the next hop may have taken the message even though no reply came (RFC 5321 §6.1,
 * the duplicate risk of §4.5.3.2.6), so classifyFailure() records it apart.
 */
export function watchFinalDot(body: Readable, onSent?: () => void): (err: unknown) => unknown {
  let sent = false;
  body.once('end', () => {
    sent = true;
    onSent?.();
  });
  return (err) => {
    if (sent && err && typeof err === 'object' && (err as { code?: string }).code === 'ETIMEDOUT') Object.assign(err, { afterFinalDot: true });
    return err;
  };
}
