// Focus actions of the app (mixed into App): a focused cluster or selection laid out on a local grid
// where every member shows (focus.js), scrolled when taller than the view, and returned on leaving.

import { FOCUS_LIMIT, focusGrid } from '../focus.js';
import { FocusedGrid } from '../grid.js';

export const focusActions = {
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
  },

  /** Put the focused items back in their layout places (animated). */
  leaveFocus(animate = true) {
    if (!this.focus) return;
    this.focus = null;
    this.showPositions(this.positions, animate, this.layoutGrid);
    this.map.set({ onTop: null });
    this.sync({ flags: true });
    this.emit('focus');
  },

  /** Focus the selection (or, with nothing selected, leave focus). */
  focusSelection() {
    const sel = this.store.selection();
    if (!sel.length) { this.toast('Select items to focus first.'); return; }
    this.focusOn(sel);
  },

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
  },

  /** Whether the wheel should scroll the focus grid rather than zoom (a grid taller than the view). */
  focusScrolls() {
    const f = this.focus;
    if (!f) return false;
    const [x0, y0, x1, y1] = f.grid.box, v = this.map.view(), [w, h] = this.map.size();
    return (y1 - y0) * v.k > h + 1 && (x1 - x0) * v.k <= w + 1;
  },

  /** Scroll the focus grid by `dy` CSS pixels, kept within the grid. */
  scrollFocus(dy) {
    const f = this.focus, v = this.map.view(), [, h] = this.map.size();
    const [, y0, , y1] = f.grid.box, half = h / 2 / v.k;
    const y = Math.min(y1 - half, Math.max(y0 + half, v.y - dy / v.k));
    this.map.setView({ x: v.x, y, k: v.k });
  },

  /** PageDown / PageUp: scroll the focus grid by most of a view. */
  pageFocus(dir) {
    if (this.focus) this.scrollFocus(dir * this.map.size()[1] * 0.9);
  },

  /** The positions on the map (the layout's, or with a focus grid) and the picking grid over them
   * (while focused, the layout's grid plus a small one over the focused items: focus.js). */
  showPositions(xy, animate, grid) {
    this.shown = xy;
    this.map.setPositions(xy, animate);
    this.grid = grid;
    this.map.setGrid(grid);
  },
};
