import type { ConnectorStatus } from '../../connector/connector.js';
import type { Address } from '../../directory/addresses.js';
import type { Connection } from '../../directory/connections.js';
import type { Credential } from '../../directory/credentials.js';
import type { Domain } from '../../directory/domains.js';
import { html, type SafeHtml } from '../../web/html.js';

/** Everything the domain page shows, read once per request. */
export interface DomainSetup {
  domain: Domain;
  addresses: Address[];
  /** The domain's inbound credentials that still work (active or retiring). */
  inboundCredentials: Credential[];
  /** Outbound connections for the domain or one of its addresses. */
  connections: Connection[];
  status: ConnectorStatus;
}

interface Step {
  label: string;
  done: boolean;
  href: string;
  /** What is missing, or what is there. */
  detail: string;
}

/** The path from nothing to verified, in the order it must be walked: each step needs the ones before it. */
export function setupSteps(s: DomainSetup): Step[] {
  const legs = [s.status.legs.outbound, s.status.legs.inbound];
  const verified = s.domain.status === 'verified';
  return [
    { label: 'Claimed', done: true, href: '#ownership', detail: `claimed for your organisation` },
    {
      label: 'Ownership verified',
      done: verified,
      href: '#ownership',
      detail: verified ? 'the TXT record was found' : 'publish the TXT record below, then check again',
    },
    {
      label: 'Addresses',
      done: s.addresses.length > 0,
      href: '#addresses',
      detail: s.addresses.length > 0 ? `${s.addresses.length} address(es)` : 'add the support address the verification mails go to',
    },
    {
      label: 'Credentials',
      done: s.inboundCredentials.length > 0,
      href: '#credentials',
      detail: s.inboundCredentials.length > 0 ? 'the mail server can relay back' : "create the inbound credential of the domain's mail server",
    },
    {
      label: 'Outbound connection',
      done: s.connections.length > 0,
      href: '#outbound',
      detail: s.connections.length > 0 ? `through ${s.connections[0]?.host}` : "set the smarthost the domain's mail leaves through",
    },
    {
      label: 'Both legs verified',
      done: legs.every((l) => l?.status === 'verified'),
      href: '#legs',
      detail: legs.every((l) => l?.status === 'verified') ? 'mail goes out and comes back' : 'verify the connection once the steps above are done',
    },
  ];
}

/** An ordered list, each step with its state in words (never colour alone) and a link to its section. */
export function setupChecklist(s: DomainSetup): SafeHtml {
  const steps = setupSteps(s);
  const next = steps.findIndex((step) => !step.done);
  return html`<nav class="checklist card" aria-labelledby="checklist-title"><h2 id="checklist-title">Setup checklist</h2>
<p class="muted">${next === -1 ? 'Every step is done: the domain is connected and verified.' : `Step ${next + 1} of ${steps.length} is next.`}</p>
<ol>${steps.map((step, i) => {
    const state = step.done ? 'done' : i === next ? 'next' : 'to do';
    return html`<li class="${step.done ? 'done' : 'todo'}"${i === next ? html` aria-current="step"` : ''}><a href="${step.href}">${step.label}</a> <span class="badge ${
      step.done ? 'pass' : i === next ? 'warn' : 'info'
    }">${state}</span> <span class="muted">${step.detail}</span></li>`;
  })}</ol></nav>`;
}
