#!/usr/bin/env node
// The length rule of the composition root, run by `npm run lint` after the import rule: no
// function in src/app is longer than 80 lines, from its head (the `function` keyword, or the
// parameter list of a method or an arrow) to its closing brace. The root was one 357-line
// function once; split by job (compose, roles, jobs, lifecycle), each part reads on a screen.
//
// It works on tokens, not on a syntax tree: TypeScript 7's scanner (its JavaScript API has no
// parser) takes care of strings, template literals, regular expressions and comments, and the
// braces that open a function body are told from the others by the tokens before them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyntaxKind } from 'typescript/unstable/ast';
import { createScanner } from 'typescript/unstable/ast/scanner';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MAX_LINES = 80;
/** The folders held to it, under src/. */
const CHECKED = ['app'];

/** `(` after these opens a condition or a loop head, never a parameter list. */
const CONTROL = new Set([
  SyntaxKind.IfKeyword,
  SyntaxKind.ForKeyword,
  SyntaxKind.WhileKeyword,
  SyntaxKind.SwitchKeyword,
  SyntaxKind.CatchKeyword,
  SyntaxKind.WithKeyword,
  SyntaxKind.AwaitKeyword,
]);
/** After these a `/` divides; after anything else it starts a regular expression. */
const ENDS_EXPRESSION = new Set([
  SyntaxKind.Identifier,
  SyntaxKind.NumericLiteral,
  SyntaxKind.BigIntLiteral,
  SyntaxKind.StringLiteral,
  SyntaxKind.NoSubstitutionTemplateLiteral,
  SyntaxKind.TemplateTail,
  SyntaxKind.RegularExpressionLiteral,
  SyntaxKind.CloseParenToken,
  SyntaxKind.CloseBracketToken,
  SyntaxKind.CloseBraceToken,
  SyntaxKind.ThisKeyword,
  SyntaxKind.SuperKeyword,
  SyntaxKind.TrueKeyword,
  SyntaxKind.FalseKeyword,
  SyntaxKind.NullKeyword,
  SyntaxKind.PlusPlusToken,
  SyntaxKind.MinusMinusToken,
]);
/** In a return type, a `{` after these opens a type literal, not the body. */
const OPENS_TYPE = new Set([
  SyntaxKind.ColonToken,
  SyntaxKind.BarToken,
  SyntaxKind.AmpersandToken,
  SyntaxKind.LessThanToken,
  SyntaxKind.CommaToken,
  SyntaxKind.OpenParenToken,
  SyntaxKind.OpenBracketToken,
  SyntaxKind.EqualsGreaterThanToken,
]);

const isName = (kind) => kind === SyntaxKind.Identifier || (kind >= SyntaxKind.FirstKeyword && kind <= SyntaxKind.LastKeyword);

function lineStarts(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

function lineAt(starts, pos) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** The tokens of a file, each with its kind, line and text; regular expressions and template parts rescanned in their context. */
function tokensOf(text) {
  const scanner = createScanner(true, undefined, text);
  const starts = lineStarts(text);
  const tokens = [];
  const templates = [];
  let depth = 0;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EndOfFile; kind = scanner.scan()) {
    const previous = tokens.at(-1)?.kind;
    if ((kind === SyntaxKind.SlashToken || kind === SyntaxKind.SlashEqualsToken) && !ENDS_EXPRESSION.has(previous)) kind = scanner.reScanSlashToken();
    if (kind === SyntaxKind.OpenBraceToken) depth++;
    if (kind === SyntaxKind.TemplateHead) templates.push(depth);
    if (kind === SyntaxKind.CloseBraceToken) {
      if (templates.at(-1) === depth) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === SyntaxKind.TemplateTail) templates.pop();
      } else depth--;
    }
    tokens.push({ kind, line: lineAt(starts, scanner.getTokenStart()), text: scanner.getTokenText() });
  }
  return tokens;
}

/** The name a function goes by: its own, or the variable or property it is given to. */
function nameBefore(tokens, i) {
  for (let j = i - 1; j >= Math.max(0, i - 4); j--) {
    const { kind, text } = tokens[j];
    if (kind === SyntaxKind.Identifier) return text;
    if (![SyntaxKind.AsyncKeyword, SyntaxKind.EqualsToken, SyntaxKind.ColonToken, SyntaxKind.FunctionKeyword, SyntaxKind.AsteriskToken].includes(kind)) break;
  }
  return '(anonymous)';
}

/** Every function of `text` longer than `max` lines: `{ name, line, lines }`, line being where its head starts. */
export function longFunctions(text, max = MAX_LINES) {
  const tokens = tokensOf(text);
  const found = [];
  /** One entry per open bracket; a function body's carries its head. */
  const open = [];
  /** The `(` of the last `)` closed at each depth: the parameter list before a return type and `=>`. */
  const closedParen = [];
  /** A parameter list just closed whose `{` may follow, after a return type. */
  let pending;
  tokens.forEach((token, i) => {
    const previous = tokens[i - 1];
    const depth = open.length;
    if (token.kind === SyntaxKind.OpenBraceToken) {
      let head;
      if (previous?.kind === SyntaxKind.EqualsGreaterThanToken) head = arrowHead(tokens, i - 1, closedParen[depth]);
      else if (pending && pending.depth === depth && !(pending.typed && OPENS_TYPE.has(previous?.kind))) head = pending.head;
      if (head) pending = undefined;
      open.push({ kind: token.kind, head });
      return;
    }
    if (token.kind === SyntaxKind.OpenParenToken || token.kind === SyntaxKind.OpenBracketToken || token.kind === SyntaxKind.TemplateHead) {
      const parameters = token.kind === SyntaxKind.OpenParenToken && startsParameters(tokens, i);
      open.push({ kind: token.kind, line: token.line, index: i, parameters, name: parameters ? nameBefore(tokens, i) : undefined });
      return;
    }
    if (
      token.kind === SyntaxKind.CloseBraceToken ||
      token.kind === SyntaxKind.CloseParenToken ||
      token.kind === SyntaxKind.CloseBracketToken ||
      token.kind === SyntaxKind.TemplateTail
    ) {
      const closed = open.pop();
      if (pending && open.length < pending.depth) pending = undefined;
      if (closed?.head) {
        const lines = token.line - closed.head.line + 1;
        if (lines > max) found.push({ name: closed.head.name, line: closed.head.line, lines });
      }
      if (token.kind === SyntaxKind.CloseParenToken && closed) {
        closedParen[open.length] = closed;
        if (closed.parameters) pending = { depth: open.length, typed: false, head: { line: closed.line, name: closed.name } };
        else if (!pending || pending.depth !== open.length) pending = undefined;
      }
      return;
    }
    if (!pending || pending.depth !== depth) return;
    if (previous?.kind === SyntaxKind.CloseParenToken && token.kind === SyntaxKind.ColonToken) pending.typed = true;
    else if (
      !pending.typed ||
      [SyntaxKind.SemicolonToken, SyntaxKind.EqualsToken, SyntaxKind.CommaToken, SyntaxKind.EqualsGreaterThanToken].includes(token.kind)
    )
      pending = undefined;
  });
  return found;
}

/** Whether the `(` at `i` opens a parameter list: after a name, `function`, `*`, a computed key or type arguments, but not after a control keyword. */
function startsParameters(tokens, i) {
  const before = tokens[i - 1];
  if (!before || CONTROL.has(before.kind)) return false;
  return isName(before.kind) || [SyntaxKind.CloseBracketToken, SyntaxKind.GreaterThanToken, SyntaxKind.AsteriskToken].includes(before.kind);
}

/** Where an arrow function's head starts: its one parameter, or its parameter list (`paren`, the last one closed before the arrow). */
function arrowHead(tokens, arrow, paren) {
  const before = tokens[arrow - 1];
  if (before?.kind === SyntaxKind.Identifier && tokens[arrow - 2]?.kind !== SyntaxKind.ColonToken)
    return { line: before.line, name: nameBefore(tokens, arrow - 1) };
  if (paren) return { line: paren.line, name: nameBefore(tokens, paren.index) };
  return { line: before?.line ?? 1, name: '(anonymous)' };
}

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every function over the limit under the checked folders of `root`/src, as `file:line name (n lines)`. */
export function findLongFunctions(root = ROOT, max = MAX_LINES) {
  return CHECKED.flatMap((folder) => sourceFiles(join(root, 'src', folder))).flatMap((file) =>
    longFunctions(readFileSync(file, 'utf8'), max).map((f) => `${relative(root, file)}:${f.line} ${f.name} (${f.lines} lines)`),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const long = findLongFunctions(resolve(process.argv[2] ?? ROOT));
  if (long.length > 0) {
    console.error(`function length: ${long.length} function(s) in src/${CHECKED.join(', src/')} over ${MAX_LINES} lines; split them by job:`);
    for (const line of long) console.error(`  ${line}`);
    process.exit(1);
  }
  console.log(`function length: every function in src/${CHECKED.join(', src/')} within ${MAX_LINES} lines`);
}
