import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InboundRecipient } from '../src/directory/inbound-recipients.js';
import { type InboundSender, inboundRecipientObjection } from '../src/policy/inbound-relay.js';

const credentialFor: InboundSender = { kind: 'inbound-credential', domainId: 'dom_a', domain: 'a.example' };
const anonymous: InboundSender = { kind: 'unauthenticated' };
const known = (domainId: string, state: 'connected' | 'draining' | 'disconnected' = 'connected', targetDisabled = false): InboundRecipient => ({
  kind: 'known',
  domainId,
  domain: domainId === 'dom_a' ? 'a.example' : 'b.example',
  connectorState: state,
  organisationId: 'org_default',
  targetDisabled,
});

const cases: Array<{ name: string; sender: InboundSender; recipient: InboundRecipient; reply: string | undefined }> = [
  // The credential's own domain, a known address or alias: relayed.
  { name: 'own domain, known', sender: credentialFor, recipient: known('dom_a'), reply: undefined },
  // Its own domain, but no such address: the address is unknown (5.1.1), not a relay question.
  { name: 'own domain, unknown', sender: credentialFor, recipient: { kind: 'unknown-address', domainId: 'dom_a', domain: 'a.example' }, reply: '550 5.1.1' },
  // A known address of another claimed domain: this credential may not relay there.
  { name: 'other domain, known', sender: credentialFor, recipient: known('dom_b'), reply: '550 5.7.1' },
  {
    name: 'other claimed domain, unknown',
    sender: credentialFor,
    recipient: { kind: 'unknown-address', domainId: 'dom_b', domain: 'b.example' },
    reply: '550 5.7.1',
  },
  { name: 'foreign domain', sender: credentialFor, recipient: { kind: 'foreign' }, reply: '550 5.7.1' },
  // A disconnect drains the domain: temporary, the organisation's server keeps the mail.
  { name: 'own domain draining', sender: credentialFor, recipient: known('dom_a', 'draining'), reply: '450 4.7.1' },
  { name: 'own domain disconnected', sender: credentialFor, recipient: known('dom_a', 'disconnected'), reply: '550 5.7.1' },
  // Unauthenticated (when allowed): known addresses only, in any verified domain, even after a disconnect.
  { name: 'anonymous, known', sender: anonymous, recipient: known('dom_b'), reply: undefined },
  { name: 'anonymous, known after disconnect', sender: anonymous, recipient: known('dom_a', 'disconnected'), reply: undefined },
  { name: 'anonymous, unknown address', sender: anonymous, recipient: { kind: 'unknown-address', domainId: 'dom_a', domain: 'a.example' }, reply: '550 5.1.1' },
  { name: 'anonymous, foreign: no open relay', sender: anonymous, recipient: { kind: 'foreign' }, reply: '550 5.7.1' },
  // The domain's inbound target is disabled (its webhook answered 410 Gone): temporary, the organisation's server keeps the mail.
  { name: 'own domain, target disabled', sender: credentialFor, recipient: known('dom_a', 'connected', true), reply: '450 4.2.1' },
  { name: 'anonymous, target disabled', sender: anonymous, recipient: known('dom_b', 'connected', true), reply: '450 4.2.1' },
  // A relay refusal still wins over the held answer: the other domain is not this credential's to reach at all.
  { name: 'other domain, target disabled', sender: credentialFor, recipient: known('dom_b', 'connected', true), reply: '550 5.7.1' },
];

for (const c of cases) {
  test(`inbound relay policy: ${c.name}`, () => {
    const objection = inboundRecipientObjection(c.sender, 'x@a.example', c.recipient);
    assert.equal(objection && `${objection.code} ${objection.enhanced}`, c.reply);
  });
}
