import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';

// A comment that sends the reader to a file that moved sends them nowhere: every file a comment
// of src/, scripts/ or bench/ names must exist, with or without its folders.
const ROOT = join(import.meta.dirname, '..');
const CODE = ['src', 'scripts', 'bench'];
const TREES = ['src', 'test', 'scripts', 'bench'];

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'results' ? [] : files(path, keep);
    return keep(entry.name) ? [path] : [];
  });
}

const isCode = (name: string) => /\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts');
const known = new Set(TREES.flatMap((tree) => files(tree, isCode)).map((path) => basename(path)));

/** The comments of a file: `//` to the end of the line and `/* … *\/` blocks (strings left out, roughly: enough for paths). */
function comments(text: string): string[] {
  return [...text.matchAll(/\/\*[\s\S]*?\*\/|(?<![:'"`])\/\/[^\n]*/g)].map((m) => m[0]);
}

/** Where a cited path may point: from the root, from src/, from the citing file's folder. */
function resolves(citing: string, cited: string): boolean {
  if (!cited.includes('/')) return known.has(cited);
  return [join(ROOT, cited), join(ROOT, 'src', cited), join(ROOT, dirname(citing), cited)].some((path) => existsSync(path));
}

describe('citations in comments', () => {
  test('every file a comment names exists', () => {
    const broken: string[] = [];
    for (const file of CODE.flatMap((tree) => files(tree, isCode))) {
      for (const comment of comments(readFileSync(join(ROOT, file), 'utf8'))) {
        for (const [, cited] of comment.matchAll(/(?<![\w./@-])((?:[\w-]+\/)*[\w-]+\.(?:ts|mjs))\b(?![\w/])/g)) {
          if (cited && !resolves(file, cited)) broken.push(`${relative(ROOT, join(ROOT, file))}: ${cited}`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });
});
