// Thumbnail elements for panels: the `thumbs/` preview, or the item's atlas cell when there is none.

import { DATA } from './data.js';
import { h } from './dom.js';

const sheets = new Map();

function sheetImage(url) {
  if (!sheets.has(url)) {
    sheets.set(url, new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = reject;
      img.src = url;
    }));
  }
  return sheets.get(url);
}

/** A canvas showing item i's atlas cell. */
export function cellCanvas(app, i, size) {
  const a = app.manifest.atlas;
  const cv = h('canvas', { width: size, height: size, className: 'cell' });
  const sheet = Math.floor(i / a.per_atlas);
  const c = i % a.per_atlas;
  let cw = a.cell_size, ch = a.cell_size;
  if (app.columns) { cw = app.columns.cells[2 * i] || cw; ch = app.columns.cells[2 * i + 1] || ch; }
  const sx = (c % a.cols) * a.cell_size + Math.floor((a.cell_size - cw) / 2);
  const sy = Math.floor(c / a.cols) * a.cell_size + Math.floor((a.cell_size - ch) / 2);
  sheetImage(DATA + a.files[sheet]).then((img) => {
    const s = size / Math.max(cw, ch);
    const ctx = cv.getContext('2d');
    ctx.drawImage(img, sx, sy, cw, ch, (size - cw * s) / 2, (size - ch * s) / 2, cw * s, ch * s);
  }, () => {});
  return cv;
}

/** An <img> of the preview that falls back to the atlas cell if the preview is missing. */
export function thumbElement(app, i, size) {
  const img = h('img', { className: 'thumb', width: size, height: size, loading: 'lazy', decoding: 'async',
    alt: '', draggable: false });
  img.addEventListener('error', () => img.replaceWith(cellCanvas(app, i, size)), { once: true });
  img.src = app.thumbUrl(i);
  return img;
}
