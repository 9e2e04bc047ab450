import type { Config } from '../config/schema.js';
import type { DirectoryContext } from './context.js';

/** The connections of the administrative model (being built). */
export function connectionDirectory(_ctx: DirectoryContext, _config: Config) {
  return {};
}
