// Export the selected items (PixPlot's lasso download): CSV, JSON, or a ZIP of their images in one
// folder per label with a labels.csv. Built in this browser from the bundle's own files and the
// current annotations, so it works the same served and static.

import { DATA } from './data.js';
import { h } from './dom.js';

const CSV_HEADER = ['item_id', 'source', 'box', 'cluster_id', 'label', 'excluded'];
const FORMULA = /^[=+\-@\t\r]/;

/** A text cell a spreadsheet shows as text: a leading = + - @ tab or CR gets a ' (OWASP), then
 * CSV quoting. Numbers we write ourselves (cluster ids) are never prefixed. */
export function csvText(value) {
  let s = value === null || value === undefined ? '' : String(value);
  if (FORMULA.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The selected items' rows: records from the items worker plus cluster, label and exclusion. */
export async function selectionRows(app, indices = app.store.selection()) {
  const recs = await app.items.records(indices);
  const st = app.store;
  return indices.map((i, k) => {
    const r = recs[k] || {};
    const lab = st.labelOf[i];
    return { index: i, id: st.ids[i], source: r.source || '', box: r.box || null, cluster_id: app.clusterOf[i],
      label: lab >= 0 ? st.labelNames[lab] : null, excluded: !!st.excluded[i], original: r.original || null,
      thumb: r.thumb || null, meta: r.meta || {} };
  });
}

export function rowsToCsv(rows) {
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) {
    lines.push([csvText(r.id), csvText(r.source), r.box ? csvText(JSON.stringify(r.box)) : '', String(r.cluster_id),
      csvText(r.label ?? ''), r.excluded ? 'true' : 'false'].join(','));
  }
  return lines.join('\n') + '\n';
}

export function rowsToJson(app, rows) {
  return JSON.stringify({
    format: 'pixplot-selection', version: 1, clustering: app.clusteringName,
    items: rows.map((r) => ({ id: r.id, source: r.source, box: r.box, cluster_id: r.cluster_id, label: r.label,
      excluded: r.excluded, meta: r.meta })),
  }, null, 1);
}

// ---- ZIP (stored, no compression: the images are JPEG/PNG already) --------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A ZIP archive of [name, Uint8Array] entries, names in UTF-8. */
export function zipBlob(entries) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = enc.encode(name);
    const crc = crc32(data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // UTF-8 names
    local.setUint16(8, 0, true); // stored
    local.setUint16(10, 0, true);
    local.setUint16(12, 0x21, true); // 1980-01-01
    local.setUint32(14, crc, true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, nameBytes.length, true);
    local.setUint16(28, 0, true);
    const cen = new DataView(new ArrayBuffer(46));
    cen.setUint32(0, 0x02014b50, true);
    cen.setUint16(4, 0x031e, true); // made by Unix, so the mode below is read
    cen.setUint16(6, 20, true);
    cen.setUint16(8, 0x0800, true);
    cen.setUint16(10, 0, true);
    cen.setUint16(12, 0, true);
    cen.setUint16(14, 0x21, true);
    cen.setUint32(16, crc, true);
    cen.setUint32(20, data.length, true);
    cen.setUint32(24, data.length, true);
    cen.setUint16(28, nameBytes.length, true);
    cen.setUint32(38, (0o100644 << 16) >>> 0, true);
    cen.setUint32(42, offset, true);
    parts.push(local, nameBytes, data);
    central.push(cen, nameBytes);
    offset += 30 + nameBytes.length + data.length;
    if (offset > 0xffffffff) throw new Error('The selection is too large for one ZIP (4 GB); select fewer items');
  }
  const cenSize = central.reduce((s, p) => s + p.byteLength, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cenSize, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end], { type: 'application/zip' });
}

/** One path component: no separators or control characters, never . or .. (like the server's). */
export function safeName(text) {
  const out = Array.from(String(text), (c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 32 || c === '\x7f' ? '_' : c))
    .join('').trim();
  return out === '' || out === '.' || out === '..' ? '_' : out;
}

/** The ZIP: <label>/<id>_<file name> per item (_unlabelled/, _excluded/), plus labels.csv. A whole
 * image is its original file; a detection its preview crop. */
export async function rowsToZip(rows, onProgress = () => {}) {
  const entries = [];
  let done = 0;
  for (const r of rows) {
    const path = r.box || !r.original ? r.thumb : r.original;
    if (path) {
      const res = await fetch(DATA + path);
      if (res.ok) {
        const folder = r.excluded ? '_excluded' : r.label ? safeName(r.label) : '_unlabelled';
        const ext = (path.match(/\.[A-Za-z0-9]+$/) || ['.jpg'])[0];
        const base = safeName((r.source.split('/').pop() || r.id).replace(/\.[A-Za-z0-9]+$/, ''));
        entries.push([`${folder}/${r.id}_${base}${ext}`, new Uint8Array(await res.arrayBuffer())]);
      }
    }
    onProgress(++done, rows.length);
  }
  entries.push(['labels.csv', new TextEncoder().encode(rowsToCsv(rows))]);
  return { blob: zipBlob(entries), images: entries.length - 1 };
}

/** Build one export of the current selection and hand it to the app's download. */
export async function exportSelection(app, format, onProgress) {
  const rows = await selectionRows(app);
  if (!rows.length) throw new Error('Select some items first');
  const stamp = `selection-${rows.length}`;
  if (format === 'csv') {
    const text = rowsToCsv(rows);
    app.emit('download', { blob: new Blob([text], { type: 'text/csv' }), filename: `${stamp}.csv` });
    return { rows: rows.length, text };
  }
  if (format === 'json') {
    const text = rowsToJson(app, rows);
    app.emit('download', { blob: new Blob([text], { type: 'application/json' }), filename: `${stamp}.json` });
    return { rows: rows.length, text };
  }
  const { blob, images } = await rowsToZip(rows, onProgress);
  app.emit('download', { blob, filename: `${stamp}.zip` });
  return { rows: rows.length, images, bytes: blob.size };
}

/** "Export selection: CSV JSON ZIP" buttons, enabled while something is selected. */
export function mountSelectionExport(el, app) {
  const status = h('span', { className: 'muted' });
  const run = (format) => async () => {
    status.textContent = 'Exporting…';
    try {
      const r = await exportSelection(app, format, (d, n) => { status.textContent = `Images ${d}/${n}`; });
      status.textContent = `Exported ${r.rows} items`;
    } catch (err) {
      status.textContent = String(err.message || err);
    }
  };
  const buttons = ['csv', 'json', 'zip'].map((f) => h('button', { type: 'button', className: `export-${f}`,
    title: f === 'zip' ? 'The selected images, one folder per label, with labels.csv' : `The selected items as ${f.toUpperCase()}`,
    onclick: run(f) }, f.toUpperCase()));
  const row = h('div', { className: 'actions selection-export' }, h('span', {}, 'Export selection:'), ...buttons, status);
  el.append(row);
  const sync = () => { const none = app.store.selection().length === 0; for (const b of buttons) b.disabled = none; };
  app.store.on('selection', sync);
  sync();
  return row;
}
