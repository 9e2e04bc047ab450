import type { Config } from '../config/schema.js';
import type { DirectoryContext } from './context.js';

/** The domains of the administrative model (being built). */
export function domainDirectory(_ctx: DirectoryContext, _config: Config) {
  return {};
}
