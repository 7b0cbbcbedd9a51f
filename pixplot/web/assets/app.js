// The app: loads the bundle, owns the map, the store and the clusters, and offers the actions
// that keys, mouse and panels call. It touches no DOM: what the page shows (tooltip, toast, help,
// downloads, panels) listens to its events ('hover', 'toast', 'help', 'download', 'tab',
// 'focusLabel', 'clusters', 'clusterStats', 'colors', 'layout', 'status'). Panels never touch WebGL;
// the map never reads the store, and the app uses only the map's public API.

import { ClusterSet } from './clusterset.js';
import { colorsFromCodes, cssColor } from './colors.js';
import { emptyFilter, isActive, matchMask } from './filters.js';
import { FOCUS_LIMIT, focusGrid } from './focus.js';
import { DATA, ItemsSource, loadClusterLabels, loadLayout, loadManifest } from './data.js';
import { initialAuthor } from './author.js';
import { FocusedGrid, SpatialGrid } from './grid.js';
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

  // ---- focus: every member visible ---------------------------------------------------------------

  /** Arrange these items on a compact grid where they are (animated), dim the rest and show the
   * grid at thumbnails of at least 48 px; a grid taller than the view is shown from its top and
   * scrolls. Groups over FOCUS_LIMIT items are shown in place. */
  focusOn(indices) {
    const members = Array.from(indices);
    if (!members.length) return;
    if (members.length > FOCUS_LIMIT) {
      this.leaveFocus(false);
      this.toast(`${members.length.toLocaleString()} items are too many to lay out: shown in place.`);
      this.map.zoomToPoints(members, { maxPointPx: 56 });
      return;
    }
    const t0 = performance.now();
    const pointSize = this.map.baseSize * this.map.get('pointScale');
    const g = focusGrid(this.positions, members, pointSize, this.map.size());
    const shown = new Float32Array(this.positions);
    const mask = new Uint8Array(this.n);
    members.forEach((i, k) => { shown[2 * i] = g.xy[2 * k]; shown[2 * i + 1] = g.xy[2 * k + 1]; mask[i] = 1; });
    this.focus = { members, mask, grid: g };
    this.showPositions(shown, true, new FocusedGrid(this.layoutGrid, members, g.xy, this.n));
    this.map.set({ onTop: members });
    this.scrollFocusTo(0, true);
    this.sync({ flags: true });
    this.timings.focusMs = performance.now() - t0;
    this.emit('focus');
  }

  /** Put the focused items back in their layout places (animated). */
  leaveFocus(animate = true) {
    if (!this.focus) return;
    this.focus = null;
    this.showPositions(this.positions, animate, this.layoutGrid);
    this.map.set({ onTop: null });
    this.sync({ flags: true });
    this.emit('focus');
  }

  /** Focus the selection (or, with nothing selected, leave focus). */
  focusSelection() {
    const sel = this.store.selection();
    if (!sel.length) { this.toast('Select items to focus first.'); return; }
    this.focusOn(sel);
  }

  /** Show the focus grid's row `top` (0: its first row) at its thumbnail size. */
  scrollFocusTo(top, animate = false) {
    const f = this.focus;
    if (!f) return;
    const g = f.grid, [, h] = this.map.size();
    const k = g.px / (this.map.baseSize * this.map.get('pointScale'));
    const [x0, y0, x1, y1] = g.box;
    const half = h / 2 / k;
    const y = y1 - y0 <= 2 * half ? (y0 + y1) / 2 : Math.min(y1 - half, Math.max(y0 + half, y1 - half - top * g.cell));
    this.map.setView({ x: (x0 + x1) / 2, y, k }, animate);
  }

  /** Whether the wheel should scroll the focus grid rather than zoom (a grid taller than the view). */
  focusScrolls() {
    const f = this.focus;
    if (!f) return false;
    const [x0, y0, x1, y1] = f.grid.box, v = this.map.view(), [w, h] = this.map.size();
    return (y1 - y0) * v.k > h + 1 && (x1 - x0) * v.k <= w + 1;
  }

  /** Scroll the focus grid by `dy` CSS pixels, kept within the grid. */
  scrollFocus(dy) {
    const f = this.focus, v = this.map.view(), [, h] = this.map.size();
    const [, y0, , y1] = f.grid.box, half = h / 2 / v.k;
    const y = Math.min(y1 - half, Math.max(y0 + half, v.y - dy / v.k));
    this.map.setView({ x: v.x, y, k: v.k });
  }

  /** PageDown / PageUp: scroll the focus grid by most of a view. */
  pageFocus(dir) {
    if (this.focus) this.scrollFocus(dir * this.map.size()[1] * 0.9);
  }

  /** The positions on the map (the layout's, or with a focus grid) and the picking grid over them
   * (while focused, the layout's grid plus a small one over the focused items: focus.js). */
  showPositions(xy, animate, grid) {
    this.shown = xy;
    this.map.setPositions(xy, animate);
    this.grid = grid;
    this.map.setGrid(grid);
  }

  // ---- search and filters ----------------------------------------------------------------------

  /** Change the filter (filters.js fields); the text is searched in the worker. Resolves when the
   * map shows the result. */
  async setFilter(patch) {
    const seq = ++this.filterSeq;
    const next = { ...this.filter, ...patch };
    this.filterPending = true;
    if ('text' in patch && patch.text !== this.filter.text) {
      this.filter = next;
      const t0 = performance.now();
      const res = next.text ? await this.items.search(next.text) : null;
      if (seq !== this.filterSeq) return; // a newer filter superseded this one
      this.textMask = res ? res.mask : null;
      this.timings.searchMs = performance.now() - t0;
    }
    this.filter = next;
    this.applyFilter();
    this.filterPending = false;
  }

  clearFilter() { return this.setFilter(emptyFilter()); }

  /** Recompute which items the filter keeps and dim the others. */
  applyFilter() {
    const t0 = performance.now();
    const ctx = { n: this.n, facets: this.columns && this.columns.facets, store: this.store, clusterOf: this.clusterOf,
      textMask: this.textMask };
    this.filterMask = matchMask(ctx, this.filter);
    let count = this.n;
    if (this.filterMask) { count = 0; for (let i = 0; i < this.n; i++) count += this.filterMask[i]; }
    this.filterCount = count;
    this.timings.filterMs = performance.now() - t0;
    this.scheduleSync({ flags: true });
    this.emit('filter', { active: isActive(this.filter), count });
  }

  /** `s`: the items the filter keeps become the selection. */
  selectFiltered() {
    const m = this.filterMask;
    if (!m) { this.toast('Set a search or a filter first (5, or / to search).'); return; }
    const out = [];
    for (let i = 0; i < this.n; i++) if (m[i] && !this.hidden(i)) out.push(i);
    this.store.select(out, 'replace', 'filter');
    if (out.length) this.showTab('selection');
  }

  focusSearch() {
    this.showTab('filters');
    this.emit('focusSearch');
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

  // ---- annotation actions: each is one event ------------------------------------------------------

  selectedIds() {
    return this.store.selection().map((i) => this.store.ids[i]);
  }

  act(ev, empty) {
    if (ev.items && !ev.items.length) { this.toast(empty); return null; }
    const done = this.store.act(ev);
    if (!done) this.toast('Nothing changed.');
    return done;
  }

  excludeSelection() { return this.act({ type: 'exclude', items: this.selectedIds() }, 'Select items to exclude first.'); }
  includeSelection() { return this.act({ type: 'include', items: this.selectedIds() }, 'Select items to include first.'); }
  unlabelSelection() { return this.act({ type: 'unlabel', items: this.selectedIds() }, 'Select items first.'); }

  toggleExcluded(i) {
    const st = this.store;
    return this.act({ type: st.excluded[i] ? 'include' : 'exclude', items: [st.ids[i]] });
  }

  checkLabel(label) {
    if (label.length > 200) { this.toast('Labels are at most 200 characters.'); return false; }
    return true;
  }

  labelSelection(label) {
    if (!this.checkLabel(label)) return null;
    return this.act({ type: 'label', items: this.selectedIds(), label }, 'Select items to label first.');
  }

  /** Label the current cluster's members that are not excluded. */
  labelCluster(label) {
    if (!this.checkLabel(label)) return null;
    const st = this.store, c = st.view.cluster;
    if (c === null || c === undefined) { this.toast('Open a cluster first (n, or click one in the Clusters panel).'); return null; }
    const items = Array.from(this.membersOf(c)).filter((i) => !st.excluded[i]).map((i) => st.ids[i]);
    return this.act({ type: 'label', items, label }, 'This cluster has no items left to label.');
  }

  renameLabel(from, to) { return this.checkLabel(to) ? this.act({ type: 'rename_label', from, to }) : null; }
  deleteLabel(label) { return this.act({ type: 'delete_label', label }); }

  undo() { if (!this.store.undo()) this.toast('Nothing to undo.'); }
  redo() { if (!this.store.redo()) this.toast('Nothing to redo.'); }

  // ---- view ----------------------------------------------------------------------------------------

  fit(animate = true) {
    const [x0, y0, x1, y1] = this.grid ? [this.grid.x0, this.grid.y0, this.grid.x1, this.grid.y1] : boxOfAll(this.positions);
    const r = this.map.baseSize / 2; // with the half point zoomToArea adds: a whole point of margin
    if (Number.isFinite(x0)) this.map.zoomToArea([x0 - r, y0 - r, x1 + r, y1 + r], { padding: 0.03, animate });
  }

  panBy(dx, dy) { this.map.panBy(dx, dy); }
  zoomBy(f) { this.map.zoomBy(f); }
  pointSize(f) { this.map.set({ pointScale: this.map.get('pointScale') * f }); }

  setTool(tool) { this.store.setView({ tool }); }
  toggleUnlabelled() { this.store.setView({ unlabelledOnly: !this.store.view.unlabelledOnly }); }

  cycleColor() {
    const modes = this.colorModes().map((m) => m[0]);
    const k = modes.indexOf(this.store.view.colorBy);
    this.store.setView({ colorBy: modes[(k + 1) % modes.length] });
  }

  cycleLayout() {
    const names = this.manifest.layouts.map((l) => l.name);
    this.setLayout(names[(names.indexOf(this.layoutName) + 1) % names.length]);
  }

  detailHovered() { const hv = this.map.get('hover'); if (hv >= 0) this.store.setView({ detail: hv }); }

  escape() {
    const st = this.store;
    if (st.view.detail >= 0) { st.setView({ detail: -1 }); return; }
    if (st.selCount) { st.clearSelection(); return; }
    if (st.view.cluster !== null) st.setView({ cluster: null });
    this.leaveFocus();
  }

  focusLabel() {
    this.showTab('selection');
    this.emit('focusLabel');
  }

  toggleHelp() { this.emit('help'); }

  showTab(name) { this.emit('tab', name); }
  setTabCount(name, count) { this.emit('tabCount', { name, count }); }

  setStatus(s) {
    this.saveStatus = s;
    this.emit('status', s);
  }

  toast(text) { this.emit('toast', text); }

  /** The annotations as a downloadable JSON document. */
  exportDocument() {
    const { labels, excluded } = this.store.snapshot();
    return { format: 'pixplot-annotations', version: 1, events: this.saver ? this.saver.events : [], labels, excluded };
  }

  /** Served: the server's export (the whole log, every session). Static, or while changes wait to
   * be sent: this browser's document. */
  exportAnnotations() {
    const s = this.saver;
    if (s && s.mode === 'server' && !s.queue.queue.length) {
      this.emit('download', { url: 'api/export?format=json', filename: 'annotations.json' });
      return;
    }
    if (s && s.mode === 'server') this.toast('Some changes are not on the server yet: exporting this browser\'s copy.');
    const blob = new Blob([JSON.stringify(this.exportDocument(), null, 1)], { type: 'application/json' });
    this.emit('download', { blob, filename: 'annotations.json' });
  }
}

/** The previews' native size in device pixels, as CSS pixels: zoom stops there. */
function nativePx(m) {
  const px = (m.thumbs && m.thumbs.size) || m.atlas.cell_size;
  return px / (globalThis.devicePixelRatio || 1);
}

/** The data box of every position: [x0, y0, x1, y1]. */
function boxOfAll(xy) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let j = 0; j < xy.length; j += 2) {
    if (xy[j] < x0) x0 = xy[j];
    if (xy[j] > x1) x1 = xy[j];
    if (xy[j + 1] < y0) y0 = xy[j + 1];
    if (xy[j + 1] > y1) y1 = xy[j + 1];
  }
  return [x0, y0, x1, y1];
}
