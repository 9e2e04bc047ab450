import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminServices } from '../api/api-context.js';
import type { Actor } from '../directory/context.js';
import { bearerToken } from '../http/bearer-token.js';
import { ScimError, sendScimError } from './errors.js';
import { parseFilter } from './filter.js';
import { applyGroupPatch, fromScimGroupBody, inputOf, toScimGroup } from './groups.js';
import { resourceTypes, schemas, serviceProviderConfig } from './metadata.js';
import { applyPatch, fromAddress, fromScimBody, toScimUser } from './users.js';

const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MAX_COUNT = 200;

/**
 * SCIM 2.0 (RFC 7643/7644) under /scim/v2, for Entra ID, Okta and Google Workspace to provision
 * addresses from the organisation's directory. Its own bearer tokens (scope scim): an admin token
 * opens nothing here and a SCIM token nothing under /api/v1.
 */
export async function registerScim(app: FastifyInstance, services: Pick<AdminServices, 'tokens' | 'denials' | 'scimUsers' | 'scimGroups'>): Promise<void> {
  await app.register(
    async (scim) => {
      scim.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (_request, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch (err) {
          done(new ScimError(400, `the request body is not valid JSON: ${(err as Error).message}`, 'invalidSyntax'));
        }
      });
      scim.setErrorHandler((error, _request, reply) => sendScimError(reply, error));
      scim.setNotFoundHandler((request, reply) => sendScimError(reply, new ScimError(404, `no SCIM endpoint ${request.method} ${request.url}`)));
      const actors = new WeakMap<FastifyRequest, Actor>();
      scim.addHook('onRequest', async (request, reply) => {
        const token = await bearerToken(services, request, reply, {
          scope: 'scim',
          action: 'scim.unauthorized',
          realm: 'relaygate-scim',
          invalid: 'bearer token not valid, revoked or not a SCIM token',
        });
        if ('refused' in token) {
          return sendScimError(
            reply,
            new ScimError(
              401,
              token.presented
                ? 'the bearer token is not a valid SCIM token'
                : 'send a SCIM token as "Authorization: Bearer <token>"; create one with: relaygate token create --scope scim --description NAME',
            ),
          );
        }
        actors.set(request, { name: `scim:${token.id} (${token.description})`, ip: request.ip });
      });
      scim.addHook('onSend', async (_request, reply, payload) => {
        reply.header('cache-control', 'no-store');
        if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.type('application/scim+json; charset=utf-8');
        return payload;
      });
      const actor = (request: FastifyRequest) => actors.get(request) as Actor;
      const base = (request: FastifyRequest) => `${request.protocol}://${request.host}/scim/v2`;
      const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).type('application/scim+json; charset=utf-8').send(body);

      scim.get('/ServiceProviderConfig', async (request, reply) => send(reply, 200, serviceProviderConfig(base(request))));
      scim.get('/ResourceTypes', async (request, reply) => {
        const items = resourceTypes(base(request));
        return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items });
      });
      scim.get('/Schemas', async (_request, reply) => {
        const items = schemas();
        return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items });
      });

      scim.get('/Users', async (request, reply) => {
        const query = request.query as Record<string, string | undefined>;
        // A group's shared mailbox is a functional address: it is listed under /Groups, not as a user.
        const filter: { address?: string; externalId?: string; kind: 'support' } = { kind: 'support' };
        for (const { attribute, value } of query.filter ? parseFilter(query.filter) : []) {
          const key = attribute.toLowerCase();
          if (key === 'username' || key === 'emails.value' || key === 'emails') filter.address = value;
          else if (key === 'externalid') filter.externalId = value;
          else throw new ScimError(400, `filtering on ${attribute} is not supported: use userName or externalId`, 'invalidFilter');
        }
        const startIndex = positive(query.startIndex, 1, 'startIndex');
        const count = Math.min(positive(query.count, 100, 'count', 0), MAX_COUNT);
        const page = await services.scimUsers.list({ offset: startIndex - 1, limit: count }, filter);
        const Resources = page.items.map((a) => toScimUser(a, base(request)));
        return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: page.total, startIndex, itemsPerPage: Resources.length, Resources });
      });
      scim.post('/Users', async (request, reply) => {
        const created = await services.scimUsers.create(fromScimBody(request.body), actor(request));
        return sendUser(request, reply.header('location', toScimUser(created, base(request)).meta.location), 201, created);
      });
      // A group's shared mailbox is synced too, but it is the group's: /Users does not reach it.
      const userById = async (id: string) => {
        const address = await services.scimUsers.get(id);
        if (address.kind !== 'support') throw new ScimError(404, `no SCIM user ${id}: it is the mailbox of a group (/Groups)`);
        return address;
      };
      /** The user as the client last saw it, if its If-Match still holds (RFC 7644 §3.14). */
      const current = async (request: FastifyRequest) => {
        const { id } = request.params as { id: string };
        const address = await userById(id);
        const expected = request.headers['if-match'];
        if (expected && expected !== '*' && !expected.split(',').some((tag) => tag.trim() === toScimUser(address, base(request)).meta.version))
          throw new ScimError(412, `the user ${id} changed since the version in If-Match (${expected}): read it again`);
        return address;
      };
      const sendUser = (request: FastifyRequest, reply: FastifyReply, status: number, address: Parameters<typeof toScimUser>[0]) => {
        const user = toScimUser(address, base(request));
        return send(reply.header('etag', user.meta.version), status, user);
      };
      scim.get('/Users/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        return sendUser(request, reply, 200, await userById(id));
      });
      scim.put('/Users/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        await current(request);
        return sendUser(request, reply, 200, await services.scimUsers.replace(id, fromScimBody(request.body), actor(request)));
      });
      scim.patch('/Users/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        const next = applyPatch(fromAddress(await current(request)), request.body);
        return sendUser(request, reply, 200, await services.scimUsers.replace(id, next, actor(request)));
      });
      scim.delete('/Users/:id', async (request, reply) => {
        const { id } = request.params as { id: string };
        await current(request);
        await services.scimUsers.remove(id, actor(request));
        return reply.code(204).send();
      });

      registerGroups(scim, services, { actor, base, send });
    },
    { prefix: '/scim/v2' },
  );
}

function positive(text: string | undefined, fallback: number, name: string, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ScimError(400, `${name} must be an integer of at least ${min}, not "${text}"`, 'invalidValue');
  return n;
}

interface Helpers {
  actor(request: FastifyRequest): Actor;
  base(request: FastifyRequest): string;
  send(reply: FastifyReply, status: number, body: unknown): FastifyReply;
}

/** /Groups as Entra ID sends them: lookup by displayName or externalId, `excludedAttributes=members`, PATCH of members. */
function registerGroups(scim: FastifyInstance, services: Pick<AdminServices, 'scimGroups'>, { actor, base, send }: Helpers): void {
  const groups = services.scimGroups;
  const withMembers = (request: FastifyRequest) => {
    const query = request.query as Record<string, string | undefined>;
    const excluded = (query.excludedAttributes ?? '').split(',').map((a) => a.trim().toLowerCase());
    return { members: !excluded.includes('members') };
  };
  const sendGroup = (request: FastifyRequest, reply: FastifyReply, status: number, group: Parameters<typeof toScimGroup>[0]) => {
    const resource = toScimGroup(group, base(request), withMembers(request));
    return send(reply.header('etag', resource.meta.version), status, resource);
  };
  const current = async (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    const group = await groups.get(id);
    const expected = request.headers['if-match'];
    if (expected && expected !== '*' && !expected.split(',').some((tag) => tag.trim() === toScimGroup(group, base(request)).meta.version))
      throw new ScimError(412, `the group ${id} changed since the version in If-Match (${expected}): read it again`);
    return group;
  };

  scim.get('/Groups', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const filter: { displayName?: string; externalId?: string } = {};
    for (const { attribute, value } of query.filter ? parseFilter(query.filter) : []) {
      const key = attribute.toLowerCase();
      if (key === 'displayname') filter.displayName = value;
      else if (key === 'externalid') filter.externalId = value;
      else throw new ScimError(400, `filtering groups on ${attribute} is not supported: use displayName or externalId`, 'invalidFilter');
    }
    const startIndex = positive(query.startIndex, 1, 'startIndex');
    const count = Math.min(positive(query.count, 100, 'count', 0), MAX_COUNT);
    const page = await groups.list({ offset: startIndex - 1, limit: count }, filter);
    const Resources = page.items.map((g) => toScimGroup(g, base(request), withMembers(request)));
    return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: page.total, startIndex, itemsPerPage: Resources.length, Resources });
  });
  scim.post('/Groups', async (request, reply) => {
    const created = await groups.create(fromScimGroupBody(request.body), actor(request));
    return sendGroup(request, reply.header('location', `${base(request)}/Groups/${created.id}`), 201, created);
  });
  scim.get('/Groups/:id', async (request, reply) => sendGroup(request, reply, 200, await groups.get((request.params as { id: string }).id)));
  scim.put('/Groups/:id', async (request, reply) => {
    const group = await current(request);
    return sendGroup(request, reply, 200, await groups.replace(group.id, fromScimGroupBody(request.body), actor(request)));
  });
  scim.patch('/Groups/:id', async (request, reply) => {
    const group = await current(request);
    const updated = await groups.replace(group.id, applyGroupPatch(inputOf(group), request.body), actor(request));
    // Entra ID reads nothing back from a group PATCH; 200 with the group serves the clients that do.
    return sendGroup(request, reply, 200, updated);
  });
  scim.delete('/Groups/:id', async (request, reply) => {
    const group = await current(request);
    await groups.remove(group.id, actor(request));
    return reply.code(204).send();
  });
}
