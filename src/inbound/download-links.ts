import { createHmac } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { signPath } from './signed-url.js';

/** Signed, expiring links to an inbound message's raw MIME and its attachments, served by the HTTP server. */
export interface DownloadLinks {
  raw(queueId: string): string;
  attachment(queueId: string, index: number): string;
}

export const rawPath = (queueId: string) => `/inbound/messages/${queueId}/raw`;
export const attachmentPath = (queueId: string, index: number) => `/inbound/messages/${queueId}/attachments/${index}`;

/** Its own key, derived from the store's hash key, so a link never doubles as anything else. */
export function downloadLinkKey(hashKey: Buffer): Buffer {
  return createHmac('sha256', hashKey).update('relaygate inbound download links v1').digest();
}

/** A link lives as long as the body is kept (inbound.retainBodies); the base URL is known once HTTP listens. */
export function downloadLinks(o: { baseUrl: () => string; key: Buffer; clock: Clock; validForMs: number }): DownloadLinks {
  const link = (path: string) => `${o.baseUrl().replace(/\/+$/, '')}${signPath(o.key, path, o.clock.now() + o.validForMs)}`;
  return {
    raw: (queueId) => link(rawPath(queueId)),
    attachment: (queueId, index) => link(attachmentPath(queueId, index)),
  };
}
