import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { attachmentPath, rawPath } from '../inbound/download-links.js';
import { verifySignedPath } from '../inbound/signed-url.js';
import { attachmentAt } from '../inbound/webhook-payload.js';
import type { Clock } from '../lib/clock.js';
import type { InboundRecord, QueueStore } from '../queue/queue-store.js';
import type { Spool } from '../queue/spool.js';
import { sendProblem } from './problem.js';

export interface DownloadDeps {
  spool: Spool;
  queue: Pick<QueueStore, 'inboundRecord' | 'activeIds'>;
  key: Buffer;
  clock: Clock;
}

type Params = { id: string; index?: string };
type Query = { expires?: string; sig?: string };

/**
 * The targets of the signed links in webhook payloads: the raw message (our
 * Authentication-Results on top, as the application's copy had it) and single attachments.
 * The link is the only credential, so a bad or expired one learns nothing about the message.
 */
export function registerInboundDownloads(app: FastifyInstance, deps: DownloadDeps): void {
  type Opened = { problem: { status: number; title: string; detail: string } } | { record: InboundRecord };
  async function open(id: string, path: string, query: Query): Promise<Opened> {
    const check = verifySignedPath(deps.key, path, query, deps.clock.now());
    if (check !== 'ok')
      return { problem: { status: 403, title: 'Forbidden', detail: check === 'expired' ? 'this link has expired' : 'this link is not valid' } };
    const [record, active] = await Promise.all([deps.queue.inboundRecord(id), deps.queue.activeIds([id])]);
    if (!record || !active.has(id)) return { problem: { status: 410, title: 'Gone', detail: 'this message is no longer kept' } };
    return { record };
  }

  app.get<{ Params: Params; Querystring: Query }>('/inbound/messages/:id/raw', async (request, reply) => {
    const { id } = request.params;
    const opened = await open(id, rawPath(id), request.query);
    if ('problem' in opened) return sendProblem(reply, opened.problem);
    const body = Readable.from(
      (async function* () {
        yield Buffer.from(opened.record.authenticationResults);
        yield* deps.spool.read(id);
      })(),
    );
    return reply.type('message/rfc822').header('cache-control', 'private, no-store').send(body);
  });

  app.get<{ Params: Params; Querystring: Query }>('/inbound/messages/:id/attachments/:index', async (request, reply) => {
    const { id } = request.params;
    const index = Number(request.params.index);
    const opened = await open(id, attachmentPath(id, index), request.query);
    if ('problem' in opened) return sendProblem(reply, opened.problem);
    const raw = Buffer.concat([Buffer.from(opened.record.authenticationResults), await deps.spool.readAll(id)]);
    const attachment = await attachmentAt(raw, index);
    if (!attachment) return sendProblem(reply, { status: 404, title: 'Not found', detail: `the message has no attachment ${index}` });
    const filename = (attachment.filename ?? `attachment-${index}`).replace(/["\\\r\n]/g, '_');
    return reply
      .type(attachment.contentType)
      .header('content-disposition', `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      .send(attachment.content);
  });
}
