#!/usr/bin/env node
// The import rule of ARCHITECTURE.md, run by `npm run lint`: folders of src/ are layers, and a
// runtime import points down (or sideways within a folder), never up; no two folders import each
// other, however indirectly; the libraries whose internals we lean on stay in their own folders.
// Type-only imports of our own modules may cross: an interface is declared by the layer that uses it.
// The tree keeps to it without exceptions (the list of older ones it had emptied with the store
// boundary, the one acceptance path and the composition root's split, and went with its last line).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** ARCHITECTURE.md's table, bottom first: higher imports lower; folders of one rank are peers and may import each other, but not in a cycle. */
export const LAYERS = [
  ['lib', 'types'],
  ['dns', 'config', 'web', 'i18n', 'model'],
  ['store'],
  ['policy'],
  ['pipeline', 'queue', 'delivery', 'inbound', 'events', 'audit'],
  ['secure'],
  ['directory', 'dkim'],
  ['connector', 'sandbox'],
  ['http', 'api', 'scim', 'console', 'portal', 'smtp'],
  ['app'],
  ['cli', 'main'],
];

/** Only the composition root opens a concrete store; everyone else is handed the interfaces it declares. */
const STORE_USERS = new Set(['app', 'main']);

/** Packages whose internals (or query builders) belong to one place. */
const CONFINED = [
  { pkg: /^kysely$/, allowed: ['store'], why: 'queries are built in src/store' },
  { pkg: /^(better-sqlite3|pg)$/, allowed: ['store'], why: 'the engines live in src/store' },
  { pkg: /^smtp-server$/, allowed: ['smtp'], why: 'the SMTP server adapter is src/smtp' },
  // addressparser is nodemailer's published parser, usable anywhere; the rest composes or sends mail.
  { pkg: /^nodemailer(\/lib\/(?!addressparser$).*)?$/, allowed: ['delivery', 'secure'], why: 'mail is sent in src/delivery and written in src/secure' },
];

const rank = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function folderOf(src, path) {
  const [first] = relative(src, path).split('/');
  return first.replace(/\.ts$/, '');
}

/** Block comments and whole-line comments go first, so a commented-out import counts for nothing. */
function withoutComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const STATIC = /^\s*(import|export)\s+(type\s+)?(?:([\s\S]*?)\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The imports of one file; `types`: `import type`, or braces holding only `type` names. */
export function imports(text) {
  const code = withoutComments(text);
  const found = [];
  for (const [, , typeOnly, clause = '', spec] of code.matchAll(STATIC)) {
    const braces = /\{([^}]*)\}/.exec(clause);
    const outside = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,/g, '')
      .trim();
    const names = braces
      ? braces[1]
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
      : [];
    const types = Boolean(typeOnly) || (braces !== null && !outside && names.length > 0 && names.every((n) => n.startsWith('type ')));
    found.push({ spec, types });
  }
  for (const [, spec] of code.matchAll(DYNAMIC)) found.push({ spec, types: false });
  return found;
}

/** Each import against the rule, as `file -> target`, with the reason; `root` holds the `src/` to check. */
export function findViolations(root = ROOT) {
  const src = join(root, 'src');
  const found = new Map();
  const add = (key, why) => found.set(key, why);
  const folderEdges = new Map();
  for (const file of sourceFiles(src)) {
    const from = folderOf(src, file);
    const where = relative(root, file);
    for (const { spec, types } of imports(readFileSync(file, 'utf8'))) {
      // A confined package's types count too: `Kysely<Database>` in a signature is a query built there.
      if (!spec.startsWith('.')) {
        for (const rule of CONFINED) {
          if (rule.pkg.test(spec) && !rule.allowed.includes(from)) add(`${where} -> ${spec}`, rule.why);
        }
        continue;
      }
      const target = resolve(dirname(file), spec);
      // The store's row types are its own: a file that holds a `Db` builds queries with it. The
      // composition root names the handle only to pass it to the store's factories (it cannot
      // import kysely, so it builds no query).
      if (from !== 'store' && !STORE_USERS.has(from) && relative(src, target).replace(/\.js$/, '') === 'store/tables')
        add(`${where} -> src/store/tables`, 'queries are built in src/store');
      if (types) continue;
      const to = folderOf(src, target);
      if (to === from) continue;
      if (!folderEdges.has(from)) folderEdges.set(from, new Map());
      const targets = folderEdges.get(from);
      targets.set(to, [...(targets.get(to) ?? []), where]);
      if (!rank.has(from) || !rank.has(to)) add(`${where} -> src/${to}`, `src/${rank.has(from) ? to : from} has no layer in scripts/check-layers.mjs`);
      else if (rank.get(to) > rank.get(from)) add(`${where} -> src/${to}`, `src/${from} may not import the higher layer src/${to}`);
      else if (to === 'store' && !STORE_USERS.has(from)) add(`${where} -> src/${to}`, 'only src/app opens a concrete store');
    }
  }
  for (const cycle of folderCycles(folderEdges)) {
    const inCycle = new Set(cycle);
    for (const from of cycle) {
      for (const [to, files] of folderEdges.get(from) ?? []) {
        if (!inCycle.has(to)) continue;
        for (const where of files) {
          const key = `${where} -> src/${to}`;
          if (!found.has(key)) add(key, `the folders ${cycle.map((f) => `src/${f}`).join(', ')} import each other`);
        }
      }
    }
  }
  return found;
}

/** Tarjan's strongly connected components with more than one folder: each is a cycle of imports. */
function folderCycles(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of (edges.get(v) ?? new Map()).keys()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

function main() {
  const found = findViolations();
  for (const [key, why] of found) console.error(`layers: ${key}: ${why}`);
  if (found.size > 0) {
    console.error(`layers: ${found.size} import(s) against ARCHITECTURE.md's directions`);
    process.exit(1);
  }
  console.log('layers: no upward import, folder cycle or confined package outside its folder');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
