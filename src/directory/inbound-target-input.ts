import type { Config } from '../config/schema.js';
import { checkWebhookUrl } from '../inbound/destination-guard.js';
import { invalid } from '../model/directory-error.js';
import type { InboundTargetKind } from '../model/states.js';

export interface InboundTargetInput {
  /** A claimed domain; omitted for the organisation's default target. */
  domain?: string | undefined;
  kind: string;
  url?: string | undefined;
  forwardTo?: string | undefined;
  synchronous?: boolean | undefined;
}

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** What a target's input sets. */
export interface TargetFields {
  kind: InboundTargetKind;
  url: string | null;
  forwardTo: string | null;
  synchronous: boolean;
}

/** The fields a target's input sets, or the DirectoryError naming the field that is wrong. */
export function checkTargetInput(input: InboundTargetInput, config: Pick<Config, 'inbound'>): TargetFields {
  if (input.kind === 'webhook') {
    if (!input.url) throw invalid('url', 'a webhook target needs url, e.g. https://app.example.com/hooks/mail');
    // The same check as at each delivery; names are judged by their addresses then.
    const checked = checkWebhookUrl(input.url, { allowPrivate: config.inbound.allowPrivateWebhooks });
    if (!checked.ok) throw invalid('url', `webhook URL refused: ${checked.problem}`);
    const { url } = checked;
    if (input.forwardTo !== undefined) throw invalid('forwardTo', 'a webhook target has no forwardTo; use kind smtp to forward');
    return { kind: 'webhook', url: url.href, forwardTo: null, synchronous: Boolean(input.synchronous) };
  }
  if (input.kind === 'smtp') {
    if (!input.forwardTo || !ADDRESS.test(input.forwardTo))
      throw invalid('forwardTo', "an smtp target needs forwardTo, the application's inbound address, e.g. support@helpdesk.example");
    if (input.url !== undefined) throw invalid('url', 'an smtp target has no url; use kind webhook for a webhook');
    if (input.synchronous) throw invalid('synchronous', 'synchronous mode needs a webhook: a forward cannot answer for the application');
    return { kind: 'smtp', url: null, forwardTo: input.forwardTo.toLowerCase(), synchronous: false };
  }
  throw invalid('kind', `kind must be webhook or smtp, not "${input.kind}"`);
}
