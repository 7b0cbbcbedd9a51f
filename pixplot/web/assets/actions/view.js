// View actions of the app (mixed into App): camera, thumbnail size, tools, colour and layout cycling,
// Escape, and what the page should show (tabs, help, toasts), announced as events.

export const viewActions = {
  fit(animate = true) {
    const [x0, y0, x1, y1] = this.grid ? [this.grid.x0, this.grid.y0, this.grid.x1, this.grid.y1] : boxOfAll(this.positions);
    const r = this.map.baseSize / 2; // with the half point zoomToArea adds: a whole point of margin
    if (Number.isFinite(x0)) this.map.zoomToArea([x0 - r, y0 - r, x1 + r, y1 + r], { padding: 0.03, animate });
  },

  panBy(dx, dy) { this.map.panBy(dx, dy); },
  zoomBy(f) { this.map.zoomBy(f); },
  pointSize(f) { this.map.set({ pointScale: this.map.get('pointScale') * f }); },

  setTool(tool) { this.store.setView({ tool }); },
  toggleUnlabelled() { this.store.setView({ unlabelledOnly: !this.store.view.unlabelledOnly }); },

  cycleColor() {
    const modes = this.colorModes().map((m) => m[0]);
    const k = modes.indexOf(this.store.view.colorBy);
    this.store.setView({ colorBy: modes[(k + 1) % modes.length] });
  },

  cycleLayout() {
    const names = this.manifest.layouts.map((l) => l.name);
    this.setLayout(names[(names.indexOf(this.layoutName) + 1) % names.length]);
  },

  detailHovered() { const hv = this.map.get('hover'); if (hv >= 0) this.store.setView({ detail: hv }); },

  escape() {
    const st = this.store;
    if (st.view.detail >= 0) { st.setView({ detail: -1 }); return; }
    if (st.selCount) { st.clearSelection(); return; }
    if (st.view.cluster !== null) st.setView({ cluster: null });
    this.leaveFocus();
  },

  focusLabel() {
    this.showTab('selection');
    this.emit('focusLabel');
  },

  toggleHelp() { this.emit('help'); },

  showTab(name) { this.emit('tab', name); },
  setTabCount(name, count) { this.emit('tabCount', { name, count }); },

  setStatus(s) {
    this.saveStatus = s;
    this.emit('status', s);
  },

  toast(text) { this.emit('toast', text); },
};

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
