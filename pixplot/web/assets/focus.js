// The focus grid: the members of a focused cluster or selection laid out on a compact local grid
// where they are, so that none hides another. Rows follow the members' layout positions (top to
// bottom, then left to right), so the grid keeps the cluster's rough shape. Pure: no DOM, no GL.

/** Thumbnails are at least this many CSS pixels while focused (up to MIN_PX_ITEMS items on screen). */
export const MIN_PX = 48;
/** Largest on-screen thumbnail while focused. */
export const MAX_PX = 160;
/** Gap between grid cells, as a fraction of a cell. */
export const GAP = 0.1;
/** Groups larger than this are not arranged (they are shown in place). */
export const FOCUS_LIMIT = 4000;

/**
 * Arrange `members` (item indices) on a grid centred on their mean position.
 * `xy`: every item's layout position; `pointSize`: an item's side in data units; `view`: the map's
 * [width, height] in CSS pixels. Returns the grid's positions (x, y pairs in `members` order), the
 * on-screen size `px` each item gets, the grid's data box, and its columns and rows. A grid taller
 * than the view (more than about 300 items at 48 px on 1280 x 800) is meant to be scrolled from its top.
 */
export function focusGrid(xy, members, pointSize, [width, height], { minPx = MIN_PX, maxPx = MAX_PX } = {}) {
  const m = members.length;
  let cx = 0, cy = 0;
  for (const i of members) { cx += xy[2 * i]; cy += xy[2 * i + 1]; }
  cx /= Math.max(1, m); cy /= Math.max(1, m);
  // The largest cell that fits the whole grid in the view, within [minPx, maxPx].
  let best = { cols: 1, rows: Math.max(1, m), cellPx: 0 };
  for (let cols = 1; cols <= Math.max(1, m); cols++) {
    const rows = Math.ceil(m / cols);
    const cellPx = Math.min(width / cols, height / rows);
    if (cellPx > best.cellPx) best = { cols, rows, cellPx };
    if (rows === 1) break;
  }
  let { cols, rows, cellPx } = best;
  cellPx *= 0.96; // a margin round the grid
  if (cellPx < minPx / (1 - GAP)) {
    // Too many to fit at the smallest size: as many columns as fit across, scrolled vertically.
    cellPx = minPx / (1 - GAP);
    cols = Math.max(1, Math.min(m, Math.floor(width / cellPx)));
    rows = Math.ceil(m / cols);
  }
  const px = Math.min(maxPx, cellPx * (1 - GAP));
  const cell = pointSize / (1 - GAP); // data units: the point keeps its size, the grid gives it room
  // Order: by y (top first) into rows of `cols`, each row by x.
  const byY = Array.from(members).sort((a, b) => xy[2 * b + 1] - xy[2 * a + 1] || xy[2 * a] - xy[2 * b]);
  const out = new Float32Array(2 * m);
  const slot = new Map();
  for (let r = 0; r < rows; r++) {
    const row = byY.slice(r * cols, (r + 1) * cols).sort((a, b) => xy[2 * a] - xy[2 * b]);
    const offset = (cols - row.length) / 2; // a short last row is centred
    row.forEach((i, c) => slot.set(i, [cx + (c + offset - (cols - 1) / 2) * cell, cy + ((rows - 1) / 2 - r) * cell]));
  }
  members.forEach((i, k) => { const [x, y] = slot.get(i); out[2 * k] = x; out[2 * k + 1] = y; });
  const halfW = (cols * cell) / 2, halfH = (rows * cell) / 2;
  return { xy: out, px, cell, cols, rows, box: [cx - halfW, cy - halfH, cx + halfW, cy + halfH] };
}
