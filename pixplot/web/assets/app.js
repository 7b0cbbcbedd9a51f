// The app: loads the bundle, owns the map, the store and the clusters, and offers the actions
// that keys, mouse and panels call. It touches no DOM: what the page shows (tooltip, toast, help,
// downloads, panels) listens to its events ('hover', 'toast', 'help', 'download', 'tab',
// 'focusLabel', 'focus', 'filter', 'clusters', 'clusterStats', 'colors', 'layout', 'status'). The
// actions live in actions/ (focus, filter, annotate, view) and are mixed in below. Panels never
// touch WebGL; the map never reads the store, and the app uses only the map's public API.

import { ClusterSet } from './clusterset.js';
import { colorsFromCodes, cssColor } from './colors.js';
import { annotateActions } from './actions/annotate.js';
import { filterActions } from './actions/filter.js';
import { focusActions } from './actions/focus.js';
import { viewActions } from './actions/view.js';
import { emptyFilter } from './filters.js';
import { DATA, ItemsSource, loadClusterLabels, loadLayout, loadManifest } from './data.js';
import { initialAuthor } from './author.js';
import { SpatialGrid } from './grid.js';
import { PointMap } from './map.js';
import { startSaving } from './saving.js';
import { FLAG } from './shaders.js';
import { Store } from './store.js';

export class App {
  constructor({ canvas }) {
    this.canvas = canvas;
    this.listeners = new Map();
    this.store = null;
    this.clusters = [];
    this.noise = [];
    this.timings = {};
    this.syncPending = null;
    this.lastLasso = null;
    this.focus = null; // {members, mask, grid}: items arranged on a local grid (focus.js)
    this.shown = null; // positions on the map: the layout's, with the focused items moved
    this.filter = emptyFilter(); // filters.js: search text, facets, year range
    this.filterMask = null; // Uint8Array 0/1 of the items the filter keeps; null: no filter
    this.textMask = null; // the worker's search result for filter.text
    this.filterSeq = 0;
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
  }

  emit(topic, payload) {
    for (const fn of this.listeners.get(topic) || []) fn(payload);
  }

  /** First paint from the binary files alone, then items, clusters and saved annotations. */
  async load() {
    const t0 = performance.now();
    const m = await loadManifest();
    this.timings.manifest = performance.now() - t0;
    this.manifest = m;
    this.n = m.counts.items;
    this.layoutName = m.default_layout || m.layouts[0].name;
    this.clusteringName = m.default_clustering || (m.clusterings[0] && m.clusterings[0].name) || null;
    // Fetch while WebGL starts and compiles.
    const binary = Promise.all([
      loadLayout(m, this.layoutName),
      this.clusteringName ? loadClusterLabels(m, this.clusteringName) : null,
    ]);
    this.map = new PointMap(this.canvas, { manifest: m, thumbUrl: (i) => this.thumbUrl(i) });
    this.timings.gl = performance.now() - t0;
    const [xy, labels] = await binary;
    this.timings.layout = performance.now() - t0;
    this.positions = xy;
    this.shown = xy;
    this.clusterOf = labels || new Int32Array(this.n).fill(-1);
    this.map.setPositions(xy);
    this.map.set({ maxPointPx: nativePx(m) });
    this.fit(false);
    this.map.setColors(colorsFromCodes(this.clusterOf, this.n));
    this.map.draw();
    this.map.finish();
    // Since this module started, and since the page's navigation began.
    this.timings.firstPaint = performance.now() - t0;
    this.timings.firstPaintSinceNavigation = performance.now();
    // items.json and the clusters' JSON are parsed in a worker, after the first paint.
    this.items = new ItemsSource(m);
    const clusterSummary = this.clusteringName ? this.items.clusters(m, this.clusteringName) : null;
    if (clusterSummary) clusterSummary.catch(() => {});
    this.layoutGrid = new SpatialGrid(xy);
    this.grid = this.layoutGrid;
    this.map.setGrid(this.grid);
    this.timings.grid = performance.now() - t0;

    this.columns = await this.items.columns;
    Object.assign(this.timings, this.columns.timings);
    this.map.setCells(this.columns.cells);
    this.timings.items = performance.now() - t0;
    this.store = new Store(this.columns.ids);
    this.store.author = initialAuthor();
    this.timings.store = performance.now() - t0;
    await this.loadClusters(clusterSummary);
    this.timings.clusters = performance.now() - t0;
    this.saver = await startSaving(this.store, m, (s) => this.setStatus(s));
    this.store.on('selection', () => this.scheduleSync({ flags: true }));
    this.store.on('annotations', () => {
      const f = this.filter;
      if (f.text || f.label.length || f.status.length) this.applyFilter(); // labels and exclusions moved
      this.scheduleSync({ flags: true, stats: true, colors: this.store.view.colorBy === 'label' });
    });
    this.store.on('view', (p) => this.scheduleSync({ flags: 'unlabelledOnly' in p || 'cluster' in p, colors: 'colorBy' in p }));
    this.sync({ flags: true, stats: true });
    this.timings.ready = performance.now() - t0;
  }

  thumbUrl(i) {
    const c = this.columns;
    if (c && c.thumbs) return c.thumbs[i] ? DATA + c.thumbs[i] : '';
    const id = c ? c.ids[i] : '';
    return `${DATA}${(this.manifest.thumbs && this.manifest.thumbs.dir) || 'thumbs'}/${id}.jpg`;
  }

  // ---- clusters ---------------------------------------------------------------------------------

  async loadClusters(pending = null) {
    let summary = { clusters: [], noise: 0 };
    if (this.clusteringName) {
      try {
        summary = await (pending || this.items.clusters(this.manifest, this.clusteringName));
      } catch (err) {
        console.warn('pixplot: cluster file unreadable, using the .i32 labels alone', err);
      }
    }
    this.clusterSet = new ClusterSet(this.clusterOf, summary);
    this.clusters = this.clusterSet.list;
    this.noise = this.clusterSet.noise;
    this.emit('clusters');
  }

  clusterStats() {
    this.clusterSet.updateStats(this.store);
    this.emit('clusterStats');
  }

  clusterOrder() {
    return this.clusterSet ? this.clusterSet.order((this.store && this.store.view.clusterSort) || 'size') : [];
  }

  membersOf(c) {
    return this.clusterSet ? this.clusterSet.members(c) : [];
  }

  boxOf(indices) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const xy = this.positions;
    for (const i of indices) {
      x0 = Math.min(x0, xy[2 * i]); x1 = Math.max(x1, xy[2 * i]);
      y0 = Math.min(y0, xy[2 * i + 1]); y1 = Math.max(y1, xy[2 * i + 1]);
    }
    return [x0, y0, x1, y1];
  }

  /** Fly to a cluster, make it current, select its non-excluded members and lay them all out on a
   * local grid (focus). */
  openCluster(c) {
    const mem = this.membersOf(c);
    if (!mem.length) return;
    this.store.setView({ cluster: c });
    this.selectCluster(c);
    this.focusOn(mem);
  }

  selectCluster(c) {
    const st = this.store;
    st.select(Array.from(this.membersOf(c)).filter((i) => !st.excluded[i] && !this.hidden(i)), 'replace', 'cluster');
  }

  selectCurrentCluster() {
    let c = this.store.view.cluster;
    const hv = this.map.get('hover');
    if (hv >= 0) c = this.clusterOf[hv];
    if (c === null || c === undefined) return;
    this.store.setView({ cluster: c });
    this.selectCluster(c);
  }

  /** n / p: the next cluster (in the panel's order) that still has unlabelled members. */
  stepCluster(dir) {
    const order = this.clusterOrder();
    if (!order.length) return;
    const cur = order.indexOf(this.store.view.cluster);
    for (let s = 1; s <= order.length; s++) {
      const pos = (((cur < 0 && dir < 0 ? 0 : cur) + dir * s) % order.length + order.length) % order.length;
      const c = order[pos];
      if (this.clusters[c].unlabelled > 0) { this.openCluster(c); return; }
    }
    this.toast('Every cluster is labelled.');
  }

  // ---- syncing state to the map ------------------------------------------------------------------

  hidden(i) {
    return this.store.view.unlabelledOnly && this.store.labelOf[i] >= 0;
  }

  scheduleSync(what) {
    if (!this.syncPending) {
      this.syncPending = {};
      requestAnimationFrame(() => { const w = this.syncPending; this.syncPending = null; this.sync(w); });
    }
    for (const [k, v] of Object.entries(what)) if (v) this.syncPending[k] = true;
  }

  /** Push flags and colours to the map now (tests call this through flush). */
  sync(what) {
    const st = this.store;
    if (what.stats) this.clusterStats();
    if (what.flags) {
      const n = this.n, flags = new Uint8Array(n);
      const only = st.view.unlabelledOnly, cur = st.view.cluster;
      const focus = this.focus ? this.focus.mask : null;
      const fm = this.filterMask;
      const dim = cur !== null && cur !== undefined;
      for (let i = 0; i < n; i++) {
        let f = st.selected[i] ? FLAG.SELECTED : 0;
        if (st.excluded[i]) f |= FLAG.EXCLUDED;
        if (only && st.labelOf[i] >= 0) f |= FLAG.HIDDEN;
        if (focus ? !focus[i] : dim && this.clusterOf[i] !== cur) f |= FLAG.DIM;
        if (fm && !fm[i]) f |= FLAG.DIM;
        flags[i] = f;
      }
      this.map.setFlags(flags);
    }
    if (what.colors || (what.flags && st.view.colorBy === 'label')) this.applyColors();
  }

  colorModes() {
    // A metadata column may share a name with an annotation field ("label", "cluster"): name both.
    const fields = Object.keys((this.columns && this.columns.categories) || {});
    const clash = (name) => fields.includes(name);
    const modes = [['cluster', clash('cluster') ? 'Colour: cluster (clustering)' : 'Colour: cluster'],
      ['label', clash('label') ? 'Colour: label (annotations)' : 'Colour: label']];
    for (const f of fields) modes.push([`meta:${f}`, ['cluster', 'label', 'none'].includes(f) ? `Colour: ${f} (metadata)` : `Colour: ${f}`]);
    modes.push(['none', 'Colour: none']);
    return modes;
  }

  applyColors() {
    const mode = this.store.view.colorBy;
    let codes = null;
    if (mode === 'cluster') codes = this.clusterOf;
    else if (mode === 'label') codes = this.store.labelOf;
    else if (mode.startsWith('meta:')) codes = this.columns.categories[mode.slice(5)]?.codes;
    this.map.setColors(colorsFromCodes(codes, this.n, mode !== 'none'));
    this.emit('colors');
  }

  labelColor(name) {
    const k = this.store.labelIds.get(name);
    return cssColor(k === undefined ? -1 : k);
  }

  // ---- layouts and clusterings -------------------------------------------------------------------

  async setLayout(name) {
    const xy = await loadLayout(this.manifest, name);
    this.layoutName = name;
    this.positions = xy;
    this.layoutGrid = new SpatialGrid(xy);
    if (this.focus) this.focusOn(this.focus.members); else this.showPositions(xy, true, this.layoutGrid);
    this.emit('layout');
  }

  async setClustering(name) {
    this.clusterOf = await loadClusterLabels(this.manifest, name);
    this.clusteringName = name;
    this.store.setView({ cluster: null });
    this.leaveFocus(false);
    if (this.filter.cluster.length) this.setFilter({ cluster: [] }); // other clusters now
    await this.loadClusters();
    this.sync({ flags: true, stats: true, colors: true });
  }

  // ---- picking and selection ---------------------------------------------------------------------

  pickAt(sx, sy) {
    if (!this.grid || !this.store) return -1;
    const [x, y] = this.map.toData(sx, sy);
    const r = this.map.pointRadius(), f = this.focus;
    // Focused items are drawn on top: they win over the dimmed items under the grid.
    const top = f ? this.grid.pick(x, y, r, (i) => f.mask[i] && !this.hidden(i)) : -1;
    return top >= 0 ? top : this.grid.pick(x, y, r, (i) => !this.hidden(i));
  }

  hoverAt(sx, sy) {
    const i = sx < 0 ? -1 : this.pickAt(sx, sy);
    this.map.setHover(i);
    this.emit('hover', { i, sx, sy, text: i < 0 ? '' : this.describe(i) });
  }

  /** One line about an item: its label, cluster and whether it is excluded. */
  describe(i) {
    const st = this.store;
    const lab = st.labelOfIndex(i);
    const c = this.clusterOf[i];
    return `${lab ?? 'unlabelled'} · ${c < 0 ? 'noise' : `cluster ${c}`}${st.excluded[i] ? ' · excluded' : ''}`;
  }

  clickAt(sx, sy, toggle) {
    if (!this.store) return;
    const i = this.pickAt(sx, sy);
    if (i < 0) {
      if (!toggle) { this.store.clearSelection(); this.store.setView({ detail: -1 }); }
      return;
    }
    this.store.select([i], toggle ? 'toggle' : 'replace', 'click');
    if (!toggle) this.store.setView({ detail: i });
  }

  /** Select the items whose centres lie in a polygon given in data coordinates. */
  selectPolygon(poly, mode = 'replace') {
    if (!this.store) return [];
    const t0 = performance.now();
    const found = this.grid.inPolygon(poly, (i) => this.selectable(i));
    const t1 = performance.now();
    this.store.select(found, mode, 'lasso');
    this.lastLasso = { ms: t1 - t0, totalMs: performance.now() - t0, count: found.length };
    if (found.length && mode !== 'remove') this.showTab('selection');
    return found;
  }

  /** Lasso, box and select-all take what is shown; while focused, only the focused items. */
  selectable(i) {
    return !this.hidden(i) && (!this.focus || this.focus.mask[i] === 1);
  }

  selectAllVisible() {
    const [x0, y0, x1, y1] = this.map.bounds();
    this.store.select(this.grid.inRect(x0, y0, x1, y1, (i) => this.selectable(i)), 'replace', 'all');
  }

  invertSelection() {
    const st = this.store, cur = st.view.cluster;
    const scope = cur !== null && cur !== undefined ? this.membersOf(cur) : null;
    const out = [];
    if (scope) { for (const i of scope) if (!st.selected[i] && !this.hidden(i)) out.push(i); } else {
      for (let i = 0; i < this.n; i++) if (!st.selected[i] && !this.hidden(i)) out.push(i);
    }
    st.select(out, 'replace', 'invert');
  }

  selectLabel(name) {
    const k = this.store.labelIds.get(name);
    const out = [];
    for (let i = 0; i < this.n; i++) if (this.store.labelOf[i] === k) out.push(i);
    this.store.select(out, 'replace', 'label');
  }
}

// The actions keys, mouse and panels call, one module per kind (actions/): they use `this` as the app.
Object.assign(App.prototype, focusActions, filterActions, annotateActions, viewActions);

/** The previews' native size in device pixels, as CSS pixels: zoom stops there. */
function nativePx(m) {
  const px = (m.thumbs && m.thumbs.size) || m.atlas.cell_size;
  return px / (globalThis.devicePixelRatio || 1);
}
