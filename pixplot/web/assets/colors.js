// Colours for "colour by": distinct hues for categories, grey for none.

const GREY = [120, 124, 132];

function hsl(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h * 12) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Colour of category k (k < 0: none). Golden-angle hues with three lightness bands. */
export function categoryColor(k) {
  if (k < 0) return GREY;
  const h = (k * 0.61803398875 + 0.05) % 1;
  const l = [0.58, 0.45, 0.7][Math.floor(k / 7) % 3];
  return hsl(h, 0.72, l);
}

/** RGBA bytes per item from a category code per item (alpha 0: draw no colour frame). */
export function colorsFromCodes(codes, n, frame = true) {
  const out = new Uint8Array(4 * n);
  const cache = new Map();
  for (let i = 0; i < n; i++) {
    const k = codes ? codes[i] : -1;
    let c = cache.get(k);
    if (!c) { c = categoryColor(k); cache.set(k, c); }
    out[4 * i] = c[0];
    out[4 * i + 1] = c[1];
    out[4 * i + 2] = c[2];
    out[4 * i + 3] = frame && k >= 0 ? 255 : 0;
  }
  return out;
}

export function cssColor(k) {
  const [r, g, b] = categoryColor(k);
  return `rgb(${r}, ${g}, ${b})`;
}
