export { ConfigError, type ConfigProblem, EX_CONFIG } from './config-error.js';
export { ENV_KEYS } from './env.js';
export { type ConfigSources, loadConfig } from './load.js';
export type { Config, ConfigInput } from './schema.js';
export { describeSmarthost, type SmarthostTarget } from './smarthost-url.js';
