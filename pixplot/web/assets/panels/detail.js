// Item detail: a large preview, the item's annotations and metadata, and for a detection the source
// image with its box (and landmarks) drawn.

import { DATA } from '../data.js';
import { clear, h } from '../dom.js';
import { thumbElement } from '../thumbs.js';

function drawSource(record) {
  const cv = h('canvas', { className: 'source' });
  const img = new Image();
  img.onload = () => {
    const maxSide = 480;
    const s = Math.min(1, maxSide / Math.max(img.naturalWidth, img.naturalHeight));
    cv.width = Math.round(img.naturalWidth * s);
    cv.height = Math.round(img.naturalHeight * s);
    const ctx = cv.getContext('2d');
    ctx.drawImage(img, 0, 0, cv.width, cv.height);
    const [x, y, w, hh] = record.box;
    ctx.lineWidth = Math.max(2, cv.width / 200);
    ctx.strokeStyle = '#ffd400';
    ctx.strokeRect(x * s, y * s, w * s, hh * s);
    ctx.fillStyle = '#00e0ff';
    for (const [lx, ly] of record.landmarks || []) ctx.fillRect(lx * s - 2, ly * s - 2, 4, 4);
  };
  img.onerror = () => cv.replaceWith(h('div', { className: 'muted' }, 'The source image is not in this bundle.'));
  img.src = DATA + record.original;
  return cv;
}

export function mountDetail(el, app) {
  const store = app.store;
  let token = 0;

  async function render() {
    const i = store.view.detail;
    el.hidden = i < 0;
    if (i < 0) return;
    const mine = ++token;
    const [rec] = await app.items.records([i]);
    if (mine !== token) return;
    clear(el);
    const r = rec || { id: store.ids[i], meta: {} };
    const rows = [
      ['id', r.id],
      ['label', store.labelOfIndex(i) ?? '—'],
      ['excluded', store.excluded[i] ? 'yes' : 'no'],
      ['cluster', app.clusterOf ? (app.clusterOf[i] < 0 ? 'noise' : String(app.clusterOf[i])) : '?'],
      ['source', r.source],
      ['size', r.width && r.height ? `${r.width} × ${r.height}` : null],
      ['box', r.box ? r.box.join(', ') : null],
      ['class', r.class],
      ['score', r.score === null || r.score === undefined ? null : Number(r.score).toFixed(3)],
    ];
    // Metadata columns named like an annotation field ("label", "cluster") are named apart.
    const own = new Set(rows.map(([k]) => k));
    const meta = Object.entries(r.meta || {});
    if (meta.some(([k]) => k === 'label')) rows[1][0] = 'label (annotation)';
    for (const [k, v] of meta) rows.push([own.has(k) ? `${k} (metadata)` : k, Array.isArray(v) ? v.join(', ') : v]);
    const table = h('table', {}, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, String(v)))));
    el.append(
      h('div', { className: 'detail-head' },
        h('strong', {}, 'Item'),
        h('button', { type: 'button', className: 'close', title: 'Close (Esc)', onclick: () => store.setView({ detail: -1 }) }, '×')),
      h('div', { className: 'detail-body' },
        h('div', { className: 'preview' }, thumbElement(app, i, 256)),
        r.box && r.original ? drawSource(r) : null,
        table,
        h('div', { className: 'actions' },
          h('button', { type: 'button', onclick: () => app.toggleExcluded(i) }, store.excluded[i] ? 'Include' : 'Exclude'),
          h('button', { type: 'button', onclick: () => app.selectCluster(app.clusterOf[i]) }, 'Select its cluster'),
          r.original ? h('a', { href: DATA + r.original, target: '_blank', rel: 'noopener' }, 'Open the source image') : null)));
  }

  store.on('view', (patch) => { if ('detail' in patch) render(); });
  store.on('annotations', () => { if (store.view.detail >= 0) render(); });
  el.hidden = true;
}
