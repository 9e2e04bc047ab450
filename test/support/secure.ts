import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import type { TestGateway } from './gateway.js';
import { HARNESS_ACTOR, startTestGateway } from './gateway.js';
import { insertDomain } from './gateway-process.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';
import { submit } from './submit.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

/** The secure sender subdomain the tests send from, as an operator sets it up: claimed, verified, routed `secure`. */
export const SECURE_SENDER = 'support@secure.example.com';

/**
 * Claims and verifies the secure subdomain, routes it `secure`, and adds the sending address
 * (replies and reports come back to it through the inbound leg, which knows only added addresses).
 */
export async function routeSecure(gw: TestGateway, domain = 'secure.example.com'): Promise<void> {
  await gw.db((db) => insertDomain(db, domain));
  await gw.services(async (s) => {
    await s.routes.add({ match: domain, action: 'secure' }, HARNESS_ACTOR);
    await s.addresses.add({ address: `${SECURE_SENDER.split('@')[0]}@${domain}`, kind: 'support' }, HARNESS_ACTOR);
  });
}

/** The portal link in a notification mail, read from its text part as a mail client would. */
export async function portalLinkIn(raw: Buffer): Promise<string> {
  const text = (await PostalMime.parse(raw)).text ?? '';
  const link = /https?:\/\/\S+\/m\/[A-Za-z0-9_-]{43}/.exec(text)?.[0];
  if (!link) throw new Error(`no portal link in:\n${raw.toString()}`);
  return link;
}

/**
 * Everything the portal tests need: a gateway whose smarthost is a local sink (notifications
 * and codes land there), whose inbound target is an HTTPS webhook receiver (replies and read
 * receipts land there), a secure route, and a submission credential.
 */
export interface PortalLab {
  gw: TestGateway;
  sink: SmtpSink;
  hook: WebhookReceiver;
  credential: { username: string; secret: string; id: string };
  /** Submits a secure message and returns each recipient's portal link, from the notifications at the sink. */
  sendSecure(raw: string | Buffer, recipients: string[]): Promise<Map<string, string>>;
  /** The code of the newest one-time code mail to `recipient` after the sink held `after` messages. */
  codeFor(recipient: string, after: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startPortalLab(settings: Record<string, unknown> = {}): Promise<PortalLab> {
  const sink = await startSmtpSink({ tls: 'none' });
  const hook = await startWebhookReceiver();
  const dir = await tempDir('relaygate-portal-');
  const caFile = join(dir.path, 'webhook-ca.pem');
  await writeFile(caFile, hook.caCert);
  const gw = await startTestGateway({
    smarthost: `smtp://127.0.0.1:${sink.port}?tls=none`,
    'inbound.allowPrivateWebhooks': true,
    'inbound.webhookCaFile': caFile,
    ...settings,
  });
  await routeSecure(gw);
  const { secret } = await gw.services((s) => s.inboundTargets.set({ kind: 'webhook', url: hook.url }, HARNESS_ACTOR));
  hook.secret = secret ?? '';
  const credential = await gw.createCredential('portal tests');
  return {
    gw,
    sink,
    hook,
    credential,
    async sendSecure(raw, recipients) {
      const before = sink.messages.length;
      await submit(gw.gateway.ports.smtp, credential, { from: SECURE_SENDER, to: recipients, raw });
      const arrived = (await sink.waitForMessages(before + recipients.length)).slice(before);
      const links = new Map<string, string>();
      for (const m of arrived) links.set(m.rcptTo[0] ?? '', await portalLinkIn(m.raw));
      return links;
    },
    async codeFor(recipient, after) {
      const mail = await waitFor(
        // In whichever language: the code mail is the automatic one with the code alone on a line.
        () =>
          sink.messages
            .slice(after)
            .findLast(
              (m) => m.rcptTo.includes(recipient) && /^Auto-Submitted: auto-generated\r?$/m.test(m.raw.toString()) && /^ {4}\d{6}\r?$/m.test(m.raw.toString()),
            ),
        {
          what: `a one-time code mail to ${recipient}`,
        },
      );
      const text = (await PostalMime.parse(mail.raw)).text ?? '';
      const code = /^\s*(\d{6})\s*$/m.exec(text)?.[1];
      if (!code) throw new Error(`no code in:\n${text}`);
      return code;
    },
    async stop() {
      await gw.stop();
      await hook.stop();
      await sink.stop();
      await dir.cleanup();
    },
  };
}
