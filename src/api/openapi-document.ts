import Fastify from 'fastify';
import { VERSION } from '../http/server.js';
import type { AdminServices } from './api-context.js';
import { registerApi } from './index.js';

/**
 * The OpenAPI document as the running gateway serves it at /api/openapi.json, built without
 * a store: routes only touch their services when called, and nothing is called here.
 */
export async function openApiDocument(): Promise<unknown> {
  const app = Fastify({ logger: false });
  await registerApi(app, {} as AdminServices, VERSION);
  await app.ready();
  try {
    return app.swagger();
  } finally {
    await app.close();
  }
}
