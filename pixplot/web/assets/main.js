// Entry point: builds the page's controls, loads the bundle and wires keys, mouse and panels.
// `window.pixplot` is a small API for tests, benchmarks and the browser console.

import { startUpload } from './api.js';
import { App } from './app.js';
import { rememberAuthor } from './author.js';
import { $, h } from './dom.js';
import { mountGuides } from './guides.js';
import { attachPointer } from './interact.js';
import { attachKeys } from './keys.js';
import { mountClusters } from './panels/clusters.js';
import { mountDetail } from './panels/detail.js';
import { mountFind } from './panels/find.js';
import { mountFilters } from './panels/filters.js';
import { buildHelp, mountHelp } from './panels/help.js';
import { mountLabels } from './panels/labels.js';
import { mountLegend } from './panels/legend.js';
import { mountSelection } from './panels/selection.js';
import { exportSelection, mountSelectionExport } from './selection-export.js';
import { mountDownload } from './ui/download.js';
import { mountToast } from './ui/toast.js';
import { mountTooltip } from './ui/tooltip.js';

const help = buildHelp();
document.body.append(help);
const canvas = $('#map');
const app = new App({ canvas });
mountHelp(help, app);
mountToast($('#toast'), app);
mountDownload(app);

function fail(err) {
  console.error(err);
  const banner = $('#error');
  banner.textContent = String(err.message || err);
  banner.hidden = false;
  $('#loading').hidden = true;
}

function buildToolbar() {
  const st = app.store, m = app.manifest;
  const sel = (options, value, onchange, title) => {
    const s = h('select', { title, onchange: () => onchange(s.value) },
      options.map(([v, text]) => h('option', { value: v }, text)));
    s.value = value;
    return s;
  };
  const layout = sel(m.layouts.map((l) => [l.name, `Layout: ${l.name}`]), app.layoutName, (v) => app.setLayout(v), 'Layout (g)');
  app.on('layout', () => { layout.value = app.layoutName; });
  const clustering = m.clusterings.length > 1
    ? sel(m.clusterings.map((c) => [c.name, `Clusters: ${c.name}`]), app.clusteringName, (v) => app.setClustering(v), 'Clustering')
    : null;
  const color = sel(app.colorModes(), st.view.colorBy, (v) => st.setView({ colorBy: v }), 'Colour by (k)');
  const only = h('input', { type: 'checkbox', onchange: () => st.setView({ unlabelledOnly: only.checked }) });
  const tools = ['pan', 'lasso', 'box'].map((t) => h('button', { type: 'button', className: 'tool', dataset: { tool: t },
    title: { pan: 'Pan (m)', lasso: 'Lasso (l)', box: 'Box (b)' }[t], onclick: () => app.setTool(t) }, t[0].toUpperCase() + t.slice(1)));
  const status = h('span', { id: 'save-status', className: 'save-status' });
  const author = h('input', { type: 'text', id: 'author', className: 'author', maxLength: 128, size: 10,
    placeholder: 'Your name', value: st.author, title: 'Your name, recorded with each change you make',
    onchange: () => { st.author = author.value.trim(); rememberAuthor(st.author); } });
  const upload = h('button', { type: 'button', hidden: app.saver.mode !== 'server', onclick: () => askUpload() }, 'Upload');
  st.on('view', (p) => {
    if ('colorBy' in p) color.value = st.view.colorBy;
    if ('unlabelledOnly' in p) only.checked = st.view.unlabelledOnly;
    if ('tool' in p) for (const b of tools) b.classList.toggle('on', b.dataset.tool === st.view.tool);
    canvas.dataset.tool = st.view.tool;
  });
  for (const b of tools) b.classList.toggle('on', b.dataset.tool === st.view.tool);
  app.on('status', (s) => { status.textContent = s.text; status.dataset.state = s.state; });
  if (app.saveStatus) { status.textContent = app.saveStatus.text; status.dataset.state = app.saveStatus.state; }
  $('#toolbar').append(...[
    h('span', { className: 'brand' }, 'PixPlot'),
    h('span', { className: 'muted' }, `${app.n.toLocaleString()} items`),
    layout, clustering, color,
    h('label', { title: 'Show only unlabelled items (f)' }, only, ' Unlabelled only'),
    h('span', { className: 'group' }, tools),
    h('span', { className: 'group' },
      h('button', { type: 'button', title: 'Undo (Ctrl+Z)', onclick: () => app.undo() }, 'Undo'),
      h('button', { type: 'button', title: 'Redo (Ctrl+Shift+Z)', onclick: () => app.redo() }, 'Redo')),
    h('span', { className: 'spacer' }),
    author,
    status,
    h('button', { type: 'button', id: 'export', title: 'Download every annotation as JSON', onclick: () => app.exportAnnotations() },
      'Export annotations'),
    upload,
    h('button', { type: 'button', title: 'Keyboard shortcuts (?)', onclick: () => app.toggleHelp() }, '?'),
  ].filter(Boolean));
}

function askUpload() {
  const target = h('input', { type: 'text', placeholder: 's3://bucket/prefix', required: true });
  const out = h('p', { className: 'muted' });
  const dialog = h('dialog', {},
    h('h2', {}, 'Upload the bundle'),
    h('p', {}, 'Images, labels, embeddings and a manifest go to S3-compatible storage.'),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      out.textContent = 'Starting…';
      try {
        const job = await startUpload(app.saver.token, target.value.trim(), (j) => {
          const n = j.total ? ` ${j.done} of ${j.total} files` : '';
          out.textContent = `${j.state || j.status || 'running'}${n}${j.error ? `: ${j.error}` : ''}`;
        });
        out.textContent = `Finished: ${job.state || job.status || 'done'}${job.error ? ` (${job.error})` : ''}`;
      } catch (err) {
        out.textContent = String(err.message || err);
      }
    } }, target, h('button', {}, 'Upload')),
    out,
    h('form', { method: 'dialog' }, h('button', {}, 'Close')));
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
}

function buildTabs() {
  const panes = { clusters: $('#pane-clusters'), selection: $('#pane-selection'), labels: $('#pane-labels'), find: $('#pane-find'),
    filters: $('#pane-filters') };
  const titles = { clusters: 'Clusters', selection: 'Selection', labels: 'Labels', find: 'Find', filters: 'Filter' };
  const buttons = {};
  const counts = {};
  const show = (name) => {
    for (const [k, el] of Object.entries(panes)) el.hidden = k !== name;
    for (const [k, b] of Object.entries(buttons)) b.classList.toggle('on', k === name);
  };
  for (const [k, key] of [['clusters', '1'], ['selection', '2'], ['labels', '3'], ['find', '4'], ['filters', '5']]) {
    counts[k] = h('span', { className: 'badge' });
    buttons[k] = h('button', { type: 'button', title: `${titles[k]} (${key})`, onclick: () => show(k) }, titles[k], counts[k]);
    $('#tabs').append(buttons[k]);
  }
  app.on('tab', show);
  app.on('tabCount', ({ name, count }) => { if (counts[name]) counts[name].textContent = count ? String(count) : ''; });
  show('clusters');
}

async function main() {
  await app.load();
  buildToolbar();
  buildTabs();
  mountClusters($('#pane-clusters'), app);
  mountSelection($('#pane-selection'), app);
  mountSelectionExport($('#pane-selection'), app);
  mountLabels($('#pane-labels'), app);
  mountFind($('#pane-find'), app);
  mountFilters($('#pane-filters'), app);
  mountDetail($('#detail'), app);
  mountLegend($('#legend'), app);
  mountTooltip($('#tooltip'), app);
  guides = mountGuides(app, canvas);
  app.on('focusLabel', () => $('#label-input').focus());
  attachPointer(canvas, $('#lasso-path'), app);
  attachKeys(app);
  $('#loading').hidden = true;
  document.body.dataset.ready = '1';
}

function toClient(x, y) {
  const [sx, sy] = app.map.toScreen(x, y);
  const r = canvas.getBoundingClientRect();
  return [sx + r.left, sy + r.top];
}

let guides = null;
const ready = main();
ready.catch(fail);

window.pixplot = {
  app,
  ready,
  timings: app.timings,
  /** Select by a polygon in data coordinates; returns the count and the time the query took. */
  lasso(points, mode = 'replace') {
    const found = app.selectPolygon(points, mode);
    return { count: found.length, ms: app.lastLasso.ms };
  },
  box(x0, y0, x1, y1, mode = 'replace') {
    return this.lasso([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], mode);
  },
  selection: () => app.store.selection().map((i) => app.store.ids[i]),
  select: (ids, mode = 'replace') => app.store.select(app.store.indices(ids), mode, 'api'),
  toClient,
  label: (name) => !!app.labelSelection(name),
  labelCluster: (name) => !!app.labelCluster(name),
  exclude: () => !!app.excludeSelection(),
  include: () => !!app.includeSelection(),
  undo: () => app.undo(),
  redo: () => app.redo(),
  state: () => app.store.snapshot(),
  exportDocument: () => app.exportDocument(),
  events: () => (app.saver ? app.saver.events.slice() : []),
  saveMode: () => (app.saver ? app.saver.mode : null),
  saveStatus: () => app.saveStatus,
  /** Resolves once every action so far is stored (IndexedDB, or acknowledged by the server). */
  async flushed() {
    const s = app.saver;
    if (!s) return;
    if (s.mode === 'static') { await s.writing; return; }
    for (let t = 0; t < 200 && s.queue.queue.length; t++) await new Promise((r) => setTimeout(r, 50));
  },
  /** Sync state to the map and count the pixels that are not background. */
  painted() {
    if (app.store) app.sync({ flags: true, colors: true });
    return app.map.paintedPixels();
  },
  /** Where these items are on the canvas (CSS pixels, top left origin), where they are heading
   * during an animation. */
  onScreen: (ids) => app.store.indices(ids).map((i) => app.map.screenPosition(i)),
  pointPx: () => app.map.pointPx(),
  /** Resolves when the camera and the items have stopped moving. */
  async settled() {
    for (let t = 0; t < 400 && app.map.get('animating'); t++) await new Promise((r) => setTimeout(r, 25));
    // A frame for layout changes (the sidebar redrawn: the canvas may have been resized).
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  },
  frameMs: () => app.map.timedDraw(),
  /** The current layout's guides (labels, lines) and the overlay's painted pixels. */
  guides: () => (guides ? guides.stats() : null),
  /** Export the selection ('csv' | 'json' | 'zip') as the buttons do; resolves to what was written. */
  exportSelection: (format) => exportSelection(app, format),
  pan: (dx, dy) => app.panBy(dx, dy),
  zoomTo: (x, y, k) => app.map.setView({ x, y, k }),
};
