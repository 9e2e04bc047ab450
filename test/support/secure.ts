import PostalMime from 'postal-mime';
import type { TestGateway } from './gateway.js';
import { HARNESS_ACTOR } from './gateway.js';
import { insertDomain } from './gateway-process.js';

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
