import type { DeliveryEvidence } from '../../model/outcome.js';
import type { EventView, MessageView } from '../../queue/queue-store.js';
import type { SecureMessageDetail } from '../../secure/secure-messages.js';
import { html, type SafeHtml } from '../../web/html.js';
import { badge } from '../layout.js';
import { formatBytes, formatDuration, timeEl } from './format.js';
import type { MessageOrigin } from './message-log-records.js';

export type TimelineMessage = MessageView & { events: EventView[] };

const ROUTED: Record<MessageView['direction'], string> = {
  outbound: 'Outbound: relayed to the recipients’ mail servers (or the smarthost), signed with the domain’s DKIM key.',
  inbound: 'Inbound: for the application, handed over by its webhook or forwarded to its mail server.',
  secure:
    'A secure message: encrypted on arrival; each recipient gets a notification with a link to the portal, or a direct delivery where the domain proves its transport.',
};

/** The receiving event's detail is JSON written by the queue store; anything else shows as written. */
function receivedFacts(detail: string | null): { size?: number; ip?: string } {
  try {
    const parsed = JSON.parse(detail ?? '') as { size?: unknown; ip?: unknown };
    return { ...(typeof parsed.size === 'number' ? { size: parsed.size } : {}), ...(typeof parsed.ip === 'string' ? { ip: parsed.ip } : {}) };
  } catch {
    return {};
  }
}

/** What proved the delivery safe: the TLS policy, DNSSEC, the session and the peer's identity. */
export function evidenceList(e: DeliveryEvidence): SafeHtml {
  return html`<dl class="evidence">
<dt>TLS policy</dt><dd>${e.policy}${e.override ? ` (${e.override})` : ''}${e.tlsRequired ? `; sender asked ${e.tlsRequired === 'requiretls' ? 'REQUIRETLS' : 'TLS-Required: No'}` : ''}</dd>
<dt>MX</dt><dd>${e.mxHost} (${e.mxAddress})</dd>
<dt>DNSSEC</dt><dd>MX ${e.dnssec.mx}, TLSA ${e.dnssec.tlsa}</dd>
<dt>MTA-STS</dt><dd>${e.mtaSts ? `${e.mtaSts.mode} (policy id ${e.mtaSts.id})` : 'none'}</dd>
<dt>TLS</dt><dd>${e.tls ? `${e.tls.version}, ${e.tls.cipher}` : 'none: plaintext'}</dd>
<dt>Peer authentication</dt><dd>${e.peerAuthentication}${e.tlsaMatch ? ` (TLSA ${e.tlsaMatch} matched)` : ''}</dd>
<dt>Peer key (SPKI SHA-256)</dt><dd>${e.spkiSha256 ? html`<code>${e.spkiSha256}</code>` : '–'}</dd>
${e.policyFailures.map((f) => html`<dt>Not enforced</dt><dd>${f}</dd>`)}
</dl>`;
}

function isEvidence(value: unknown): value is DeliveryEvidence {
  return typeof value === 'object' && value !== null && 'policy' in value && 'peerAuthentication' in value && 'dnssec' in value;
}

function received(message: TimelineMessage, origin: MessageOrigin | undefined, event: EventView | undefined): SafeHtml {
  const facts = receivedFacts(event?.detail ?? null);
  const credential = origin?.credential;
  return html`<li><h3>Received</h3><p>${timeEl(message.receivedAt)}</p><dl>
<dt>Size</dt><dd>${formatBytes(facts.size ?? message.sizeBytes)}</dd>
<dt>Client IP</dt><dd>${facts.ip ?? origin?.clientIp ?? '–'}</dd>
<dt>Credential</dt><dd>${credential ? html`<code>${credential.username}</code> ${credential.description}` : message.isDsn ? 'none: made by the gateway' : 'none (inbound relay or the gateway itself)'}</dd>
${origin?.tlsRequired ? html`<dt>TLS request</dt><dd>${origin.tlsRequired === 'requiretls' ? 'REQUIRETLS (RFC 8689)' : 'TLS-Required: No'}</dd>` : ''}
${origin?.envId ? html`<dt>Envelope id</dt><dd><code>${origin.envId}</code></dd>` : ''}
</dl></li>`;
}

function attempt(message: TimelineMessage, event: EventView, n: number): SafeHtml {
  const what = message.direction === 'inbound' ? 'Hand-off to the application (webhook or forward)' : 'Delivery attempt';
  const after = event.kind === 'delivered' ? html` <span class="muted">${formatDuration(event.at - message.receivedAt)} after acceptance</span>` : '';
  return html`<li><h3>${what} ${n} ${badge(event.kind)}</h3><p>${timeEl(event.at)}${after}</p><dl>
${event.recipient ? html`<dt>Recipient</dt><dd>${event.recipient}</dd>` : ''}
<dt>${message.direction === 'inbound' ? 'Answer' : 'Remote reply'}</dt><dd><code>${event.detail ?? '–'}</code></dd></dl>
${event.evidence ? html`<h4>TLS evidence</h4>${evidenceList(event.evidence)}` : ''}</li>`;
}

function otherEvent(event: EventView): SafeHtml {
  if (event.kind === 'dsn')
    return html`<li><h3>Delivery status notification sent</h3><p>${timeEl(event.at)}</p><p>The bounce report to the sender: <a href="/console/messages/${event.detail ?? ''}">message ${event.detail ?? ''}</a>.</p></li>`;
  if (event.kind === 'portal-locked')
    return html`<li><h3>Portal link locked ${badge('locked')}</h3><p>${timeEl(event.at)}</p><p>${event.recipient ?? ''}: ${event.detail ?? ''}</p></li>`;
  if (event.kind === 'portal-unlocked')
    return html`<li><h3>Portal link unlocked</h3><p>${timeEl(event.at)}</p><p>${event.recipient ?? ''}: ${event.detail ?? ''}</p></li>`;
  if (event.kind === 'retry') return html`<li><h3>Retried by an operator</h3><p>${timeEl(event.at)}</p><p>${event.detail ?? ''}</p></li>`;
  return html`<li><h3>${event.kind}</h3><p>${timeEl(event.at)}</p>${event.recipient ? html`<p>${event.recipient}</p>` : ''}<p>${event.detail ?? ''}</p></li>`;
}

const ATTEMPTS = new Set(['delivered', 'deferred', 'bounced', 'failed']);

/** Received, routed, then every recorded event in order: attempts numbered per recipient, with reply and evidence. */
export function timeline(message: TimelineMessage, origin: MessageOrigin | undefined): SafeHtml {
  const tries = new Map<string, number>();
  const items = message.events
    .filter((e) => e.kind !== 'received')
    .map((event) => {
      if (!ATTEMPTS.has(event.kind)) return otherEvent(event);
      const key = event.recipient ?? '';
      const n = (tries.get(key) ?? 0) + 1;
      tries.set(key, n);
      return attempt(message, event, n);
    });
  return html`<ol class="timeline">${received(
    message,
    origin,
    message.events.find((e) => e.kind === 'received'),
  )}<li><h3>Routed</h3><p>${ROUTED[message.direction]}</p></li>${items}</ol>`;
}

/** The portal link's state: open, or locked by wrong codes with the form that unlocks it (audited). */
function portalLink(r: SecureMessageDetail['recipients'][number], unlock: SafeHtml | undefined, action: string): SafeHtml {
  if (r.lockedAt === null) return html`${r.wrongCodes > 0 ? `${r.wrongCodes} wrong code(s)` : '–'}`;
  return html`${badge('locked')} ${timeEl(r.lockedAt)}<br><span class="muted">${r.wrongCodes} wrong code(s)</span>${
    unlock
      ? html`<form method="post" action="${action}" class="inline">${unlock}<input type="hidden" name="address" value="${r.address}"><button type="submit">Unlock</button></form>`
      : ''
  }`;
}

/**
 * Per-recipient state of a secure message, from the secure-message service (status, channel,
 * evidence of a direct delivery, a portal link locked by wrong codes). `csrfField`: the
 * signed-in admin's CSRF field, for the unlock form, which posts to `unlockAction`.
 */
export function secureRecipients(detail: SecureMessageDetail, csrfField?: SafeHtml, unlockAction = `/console/messages/${detail.id}/unlock`): SafeHtml {
  return html`<div class="table-wrap"><table><caption class="visually-hidden">Recipients of the secure message</caption>
<thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Delivered via</th><th scope="col">Notified</th><th scope="col">Opened</th><th scope="col">Portal link</th></tr></thead>
<tbody>${detail.recipients.map(
    (r) => html`<tr><td>${r.address}${r.revoked ? ' (access revoked)' : ''}</td><td>${badge(r.status)}</td>
<td>${r.deliveredVia ?? '–'}${r.fallbackReason ? html`<br><span class="muted">portal instead: ${r.fallbackReason}</span>` : ''}${isEvidence(r.evidence) ? html`<details><summary>TLS evidence</summary>${evidenceList(r.evidence)}</details>` : ''}</td>
<td>${timeEl(r.notifiedAt)}</td><td>${timeEl(r.openedAt)}</td><td>${portalLink(r, csrfField, unlockAction)}</td></tr>`,
  )}</tbody></table></div>`;
}
