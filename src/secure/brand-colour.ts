/**
 * The accent colour paints the portal's buttons and the notification's button, with white
 * text on it: WCAG 2.1 success criterion 1.4.3 asks 4.5:1 for such text, so a colour below
 * that is refused, with a darker shade of it that passes.
 */
export const MIN_CONTRAST = 4.5;
export const DEFAULT_ACCENT = '#1d4ed8';

const HEX = /^#[0-9a-fA-F]{6}$/;

function channels(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** WCAG 2.1 relative luminance of an sRGB colour. */
function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The contrast ratio of white text on `hex`, from 1 to 21. */
export function contrastWithWhite(hex: string): number {
  return 1.05 / (luminance(channels(hex)) + 0.05);
}

/** The lightest shade of `hex` (same hue, scaled towards black) that white text reads on. */
export function darkenToContrast(hex: string): string {
  const rgb = channels(hex);
  for (let f = 1; f > 0; f -= 0.01) {
    const shade = rgb.map((c) => Math.floor(c * f)) as [number, number, number];
    if (1.05 / (luminance(shade) + 0.05) >= MIN_CONTRAST) return `#${shade.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  }
  return '#000000';
}

export type ColourCheck = { ok: true; colour: string } | { ok: false; problem: string };

export function checkBrandColour(value: string): ColourCheck {
  if (!HEX.test(value)) return { ok: false, problem: `brandColour must be a colour as #RRGGBB (e.g. ${DEFAULT_ACCENT}), not "${value}"` };
  const colour = value.toLowerCase();
  const ratio = contrastWithWhite(colour);
  if (ratio < MIN_CONTRAST)
    return {
      ok: false,
      problem: `brandColour ${colour} gives white text a contrast of only ${ratio.toFixed(2)}:1 (WCAG asks at least ${MIN_CONTRAST}:1); a darker shade such as ${darkenToContrast(colour)} passes`,
    };
  return { ok: true, colour };
}
