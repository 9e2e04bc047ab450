import type { WebhookAnswer, WebhookClient } from './webhook-client.js';

/** Reports what came of every webhook call, for the metrics; the answer passes through unchanged. */
export function countingWebhookClient(inner: WebhookClient, count: (answer: WebhookAnswer) => void): WebhookClient {
  return {
    async post(request) {
      const answer = await inner.post(request);
      count(answer);
      return answer;
    },
    close: () => inner.close(),
  };
}
