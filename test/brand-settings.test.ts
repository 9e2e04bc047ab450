import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkBrandColour, contrastWithWhite, darkenToContrast, MIN_CONTRAST } from '../src/secure/brand-colour.js';
import { checkBrandLogo, MAX_LOGO_BYTES } from '../src/secure/brand-logo.js';
import { tinyPng } from './support/brand.js';

describe('accent colour: white text on it must reach 4.5:1 (WCAG 2.1 SC 1.4.3)', () => {
  test('the contrast ratio matches WCAG’s reference values', () => {
    assert.equal(contrastWithWhite('#ffffff').toFixed(2), '1.00');
    assert.equal(contrastWithWhite('#000000').toFixed(2), '21.00');
    assert.equal(contrastWithWhite('#767676').toFixed(2), '4.54');
    assert.equal(contrastWithWhite('#777777').toFixed(2), '4.48');
  });

  test('a dark colour is kept, in lower case', () => assert.deepEqual(checkBrandColour('#0B5394'), { ok: true, colour: '#0b5394' }));

  test('a light colour is refused with its ratio and a darker shade that passes', () => {
    const checked = checkBrandColour('#ffcc00');
    assert.equal(checked.ok, false);
    const problem = checked.ok ? '' : checked.problem;
    assert.match(
      problem,
      /^brandColour #ffcc00 gives white text a contrast of only 1\.\d\d:1 \(WCAG asks at least 4\.5:1\); a darker shade such as (#[0-9a-f]{6}) passes$/,
    );
    const shade = /such as (#[0-9a-f]{6})/.exec(problem)?.[1] ?? '';
    assert.ok(contrastWithWhite(shade) >= MIN_CONTRAST);
    assert.equal(darkenToContrast('#767676'), '#767676');
  });

  test('anything but #RRGGBB is refused', () => {
    for (const bad of ['red', '#fff', '#12345g', '#1234567', 'url(x)', '#123456;background:url(x)'])
      assert.match(checkBrandColour(bad).ok ? '' : (checkBrandColour(bad) as { problem: string }).problem, /must be a colour as #RRGGBB/, bad);
  });
});

describe('logo: a PNG or a plain SVG, at most 100 KiB', () => {
  test('a PNG is known by its signature and its IHDR', () => {
    assert.deepEqual(checkBrandLogo(tinyPng()), { ok: true, type: 'image/png' });
    const damaged = tinyPng();
    damaged.write('XXXX', 12, 'latin1');
    assert.deepEqual(checkBrandLogo(damaged), { ok: false, problem: 'the PNG file is damaged: it has no IHDR chunk' });
  });

  test('a plain SVG passes', () => {
    const svg =
      '<?xml version="1.0"?>\n<!-- logo --><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="10" height="10"/><use xlink:href="#g"/></svg>';
    assert.deepEqual(checkBrandLogo(Buffer.from(svg)), { ok: true, type: 'image/svg+xml' });
  });

  const hostile: [string, RegExp][] = [
    ['<svg><script>alert(1)</script></svg>', /<script> element/],
    ['<svg onload="alert(1)"></svg>', /event handler/],
    ['<svg><rect/ onclick=alert(1)></svg>', /event handler/],
    ['<svg><foreignObject><iframe/></foreignObject></svg>', /foreignObject/],
    ['<svg><image href="https://tracker.example/p.png"/></svg>', /reference to another document/],
    ['<svg><a xlink:href="javascript:alert(1)">x</a></svg>', /reference to another document/],
    ['<svg><style>@import "https://x.example/a.css";</style></svg>', /@import/],
    ['<svg><rect style="fill:url(https://x.example/a)"/></svg>', /url\(\) outside/],
    ['<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>', /DOCTYPE/],
    ['<svg><animate attributeName="href" to="javascript:alert(1)"/></svg>', /embedded or animated/],
  ];
  for (const [svg, why] of hostile)
    test(`refused: ${svg.slice(0, 60)}`, () => assert.match((checkBrandLogo(Buffer.from(svg)) as { problem: string }).problem ?? '', why));

  test('too large, empty, or neither kind: refused with why', () => {
    assert.match((checkBrandLogo(Buffer.alloc(MAX_LOGO_BYTES + 1, 0x20)) as { problem: string }).problem, /^the logo is 101 KiB; at most 100 KiB/);
    assert.deepEqual(checkBrandLogo(Buffer.alloc(0)), { ok: false, problem: 'the logo file is empty' });
    assert.deepEqual(checkBrandLogo(Buffer.from('GIF89a....')), { ok: false, problem: 'the logo must be a PNG or an SVG file' });
    assert.deepEqual(checkBrandLogo(Buffer.from('<html><svg></svg></html>')), { ok: false, problem: 'the logo must be a PNG or an SVG file' });
  });
});
