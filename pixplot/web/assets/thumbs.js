// Thumbnail elements for panels: the `thumbs/` preview, or the item's atlas cell when there is none.

import { DATA } from './data.js';
import { h } from './dom.js';

/** A box showing item i's atlas cell as a CSS sprite (no canvas: the sheet is decoded once). */
export function cellSprite(app, i, size) {
  const a = app.manifest.atlas;
  const sheet = Math.floor(i / a.per_atlas);
  const c = i % a.per_atlas;
  let cw = a.cell_size, ch = a.cell_size;
  if (app.columns) { cw = app.columns.cells[2 * i] || cw; ch = app.columns.cells[2 * i + 1] || ch; }
  const sx = (c % a.cols) * a.cell_size + Math.floor((a.cell_size - cw) / 2);
  const sy = Math.floor(c / a.cols) * a.cell_size + Math.floor((a.cell_size - ch) / 2);
  const s = size / Math.max(cw, ch);
  const inner = h('div', { className: 'sprite-cell', style: {
    width: `${cw * s}px`, height: `${ch * s}px`,
    backgroundImage: `url("${DATA}${a.files[sheet]}")`,
    backgroundSize: `${a.size * s}px auto`,
    backgroundPosition: `${-sx * s}px ${-sy * s}px`,
  } });
  return h('div', { className: 'cell sprite', style: { width: `${size}px`, height: `${size}px` } }, inner);
}

/** An <img> of the preview that falls back to the atlas cell if the preview is missing. */
export function thumbElement(app, i, size) {
  const img = h('img', { className: 'thumb', width: size, height: size, loading: 'lazy', decoding: 'async',
    alt: '', draggable: false });
  img.addEventListener('error', () => img.replaceWith(cellSprite(app, i, size)), { once: true });
  img.src = app.thumbUrl(i);
  return img;
}
