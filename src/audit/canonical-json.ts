export { canonicalJson } from '../lib/canonical-json.js';
