/** A logo is shown on every portal page and in notifications: small, and of two plain kinds. */
export const MAX_LOGO_BYTES = 100 * 1024;
const MAX_PNG_SIDE = 4096;

export type LogoType = 'image/png' | 'image/svg+xml';
export type LogoCheck = { ok: true; type: LogoType } | { ok: false; problem: string };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * What an SVG may not hold. The portal shows the logo only as an <img> (which runs no script
 * and loads nothing) and serves it under `default-src 'none'` with a sandbox, so it is safe
 * even if opened on its own; refusing these at upload is the second wall, and tells the
 * operator at once instead of showing a logo that silently lacks its parts.
 */
const SVG_REFUSED: [RegExp, string][] = [
  [/<script/i, 'a <script> element'],
  [/<foreignObject/i, 'a <foreignObject> element'],
  [/<!DOCTYPE|<!ENTITY/i, 'a DOCTYPE or entity declaration'],
  [/<\?xml-stylesheet/i, 'a style sheet processing instruction'],
  [/[\s"'/]on[a-z]+\s*=/i, 'an event handler attribute (on…=)'],
  [/(?:href|src)\s*=\s*["']?\s*(?!#)[^\s"'>]/i, 'a reference to another document (href or src not starting with #)'],
  [/url\s*\(\s*["']?\s*(?!#)/i, 'a url() outside the document'],
  [/<(?:iframe|embed|object|audio|video|animate|set)\b/i, 'embedded or animated content'],
  [/@import|javascript:|data:/i, 'an @import, javascript: or data: reference'],
];

function checkPng(bytes: Buffer): LogoCheck {
  // The IHDR chunk must come first (PNG §5.6): its width and height follow the chunk type.
  if (bytes.length < 33 || bytes.toString('latin1', 12, 16) !== 'IHDR') return { ok: false, problem: 'the PNG file is damaged: it has no IHDR chunk' };
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0 || width > MAX_PNG_SIDE || height > MAX_PNG_SIDE)
    return { ok: false, problem: `the PNG is ${width}×${height} pixels; at most ${MAX_PNG_SIDE} on each side` };
  return { ok: true, type: 'image/png' };
}

function checkSvg(bytes: Buffer): LogoCheck {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').length !== bytes.length || text.includes('\u0000')) return { ok: false, problem: 'an SVG logo must be UTF-8 text' };
  for (const [pattern, what] of SVG_REFUSED)
    if (pattern.test(text)) return { ok: false, problem: `the SVG holds ${what}; export it as plain shapes, or use a PNG` };
  return { ok: true, type: 'image/svg+xml' };
}

/** A PNG by its signature, or an SVG by its root element; anything else, too large or unsafe is refused with why. */
export function checkBrandLogo(bytes: Buffer): LogoCheck {
  if (bytes.length === 0) return { ok: false, problem: 'the logo file is empty' };
  if (bytes.length > MAX_LOGO_BYTES)
    return { ok: false, problem: `the logo is ${Math.ceil(bytes.length / 1024)} KiB; at most ${MAX_LOGO_BYTES / 1024} KiB (a PNG or SVG)` };
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return checkPng(bytes);
  const start = bytes
    .subarray(0, 1024)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  if (/^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*|<!DOCTYPE[^>[]*(?:\[[\s\S]*?\])?\s*>\s*)*<svg[\s>]/i.test(start)) return checkSvg(bytes);
  return { ok: false, problem: 'the logo must be a PNG or an SVG file' };
}

/** Served with the logo: even opened on its own, an SVG can run nothing and fetch nothing. */
export const LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
