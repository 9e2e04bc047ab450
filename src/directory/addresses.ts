import type { Config } from '../config/schema.js';
import type { DirectoryContext } from './context.js';

/** The addresses of the administrative model (being built). */
export function addressDirectory(_ctx: DirectoryContext, _config: Config) {
  return {};
}
