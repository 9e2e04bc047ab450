import type { Config } from '../config/schema.js';
import type { DirectoryContext } from './context.js';

/** The routes of the administrative model (being built). */
export function routeDirectory(_ctx: DirectoryContext, _config: Config) {
  return {};
}
