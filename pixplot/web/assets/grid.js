// A uniform spatial grid over item positions (CPU): picking, box and free-hand lasso selection.
// The lasso classifies whole grid cells by scanline parity and tests single points only in the
// cells the polygon's edges cross, so a million points take a few milliseconds.

export class SpatialGrid {
  /** @param {Float32Array} xy item positions (x, y pairs) */
  constructor(xy) {
    const n = xy.length / 2;
    this.xy = xy;
    this.n = n;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = xy[2 * i], y = xy[2 * i + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    if (n === 0) { x0 = y0 = -1; x1 = y1 = 1; }
    const pad = 1e-6 + (x1 - x0 + y1 - y0) * 1e-6;
    this.x0 = x0 - pad; this.y0 = y0 - pad;
    this.x1 = x1 + pad; this.y1 = y1 + pad;
    // About four items per cell on average.
    const side = Math.max(1, Math.min(2048, Math.round(Math.sqrt(n / 4))));
    this.cols = side;
    this.rows = side;
    this.cw = (this.x1 - this.x0) / side;
    this.ch = (this.y1 - this.y0) / side;
    const ncell = side * side;
    const cellOf = new Int32Array(n);
    const start = new Int32Array(ncell + 1);
    for (let i = 0; i < n; i++) {
      const c = this.cellIndex(xy[2 * i], xy[2 * i + 1]);
      cellOf[i] = c;
      start[c + 1]++;
    }
    for (let c = 0; c < ncell; c++) start[c + 1] += start[c];
    const fill = start.slice(0, ncell);
    const items = new Int32Array(n);
    for (let i = 0; i < n; i++) items[fill[cellOf[i]]++] = i;
    this.start = start;
    this.items = items;
  }

  col(x) { return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.x0) / this.cw))); }
  row(y) { return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.y0) / this.ch))); }
  cellIndex(x, y) { return this.row(y) * this.cols + this.col(x); }

  /** Nearest item whose square (half side `r` in data units) holds (x, y), or -1. */
  pick(x, y, r, accept) {
    const xy = this.xy;
    let best = -1, bestD = Infinity;
    const c0 = this.col(x - r), c1 = this.col(x + r), r0 = this.row(y - r), r1 = this.row(y + r);
    for (let rr = r0; rr <= r1; rr++) {
      for (let cc = c0; cc <= c1; cc++) {
        const c = rr * this.cols + cc;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.items[k];
          const dx = Math.abs(xy[2 * i] - x), dy = Math.abs(xy[2 * i + 1] - y);
          if (dx > r || dy > r) continue;
          const d = dx * dx + dy * dy;
          // Later items are drawn on top, so they win ties.
          if (d <= bestD && (!accept || accept(i))) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  /** Items with centres inside the box. */
  inRect(ax, ay, bx, by, accept) {
    const x0 = Math.min(ax, bx), x1 = Math.max(ax, bx), y0 = Math.min(ay, by), y1 = Math.max(ay, by);
    const out = [];
    const xy = this.xy;
    for (let rr = this.row(y0); rr <= this.row(y1); rr++) {
      for (let cc = this.col(x0); cc <= this.col(x1); cc++) {
        const c = rr * this.cols + cc;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.items[k];
          const x = xy[2 * i], y = xy[2 * i + 1];
          if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && (!accept || accept(i))) out.push(i);
        }
      }
    }
    return out;
  }

  /** Items with centres inside a polygon [[x, y], ...] (even-odd rule; the real shape, not its hull). */
  inPolygon(poly, accept) {
    const m = poly.length;
    if (m < 3) return [];
    const px = new Float64Array(m), py = new Float64Array(m);
    let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (let j = 0; j < m; j++) {
      px[j] = poly[j][0]; py[j] = poly[j][1];
      bx0 = Math.min(bx0, px[j]); bx1 = Math.max(bx1, px[j]);
      by0 = Math.min(by0, py[j]); by1 = Math.max(by1, py[j]);
    }
    const c0 = this.col(bx0), c1 = this.col(bx1), r0 = this.row(by0), r1 = this.row(by1);
    const w = c1 - c0 + 1, hgt = r1 - r0 + 1;
    // 1 = an edge crosses the cell: test its points one by one.
    const edge = new Uint8Array(w * hgt);
    for (let j = 0; j < m; j++) {
      const k = (j + 1) % m;
      const ya = Math.min(py[j], py[k]), yb = Math.max(py[j], py[k]);
      const ra = this.row(ya), rb = this.row(yb);
      for (let rr = ra; rr <= rb; rr++) {
        // The edge's x range within this row's band.
        const bandLo = Math.max(ya, this.y0 + rr * this.ch), bandHi = Math.min(yb, this.y0 + (rr + 1) * this.ch);
        let xa, xb;
        if (py[k] === py[j]) { xa = px[j]; xb = px[k]; } else {
          const t0 = (bandLo - py[j]) / (py[k] - py[j]), t1 = (bandHi - py[j]) / (py[k] - py[j]);
          xa = px[j] + t0 * (px[k] - px[j]); xb = px[j] + t1 * (px[k] - px[j]);
        }
        const ca = this.col(Math.min(xa, xb)), cb = this.col(Math.max(xa, xb));
        for (let cc = ca; cc <= cb; cc++) edge[(rr - r0) * w + (cc - c0)] = 1;
      }
    }
    const out = [];
    const xy = this.xy;
    const xs = [];
    for (let rr = r0; rr <= r1; rr++) {
      // Crossings of the row's centre line, for whole-cell inside/outside by parity.
      const yc = this.y0 + (rr + 0.5) * this.ch;
      xs.length = 0;
      for (let j = 0; j < m; j++) {
        const k = (j + 1) % m;
        if ((py[j] > yc) !== (py[k] > yc)) xs.push(px[j] + ((yc - py[j]) / (py[k] - py[j])) * (px[k] - px[j]));
      }
      xs.sort((a, b) => a - b);
      let p = 0;
      for (let cc = c0; cc <= c1; cc++) {
        const c = rr * this.cols + cc;
        const s = this.start[c], e = this.start[c + 1];
        if (s === e) continue;
        if (edge[(rr - r0) * w + (cc - c0)]) {
          for (let q = s; q < e; q++) {
            const i = this.items[q];
            if (pointInPolygon(xy[2 * i], xy[2 * i + 1], px, py) && (!accept || accept(i))) out.push(i);
          }
        } else {
          const xc = this.x0 + (cc + 0.5) * this.cw;
          while (p < xs.length && xs[p] < xc) p++;
          if (p % 2 === 1) for (let q = s; q < e; q++) {
            const i = this.items[q];
            if (!accept || accept(i)) out.push(i);
          }
        }
      }
    }
    return out;
  }

  /** Items with centres in the view box, stopping at `limit` (returns null when over). */
  visible(x0, y0, x1, y1, limit) {
    let count = 0;
    const out = [];
    const xy = this.xy;
    for (let rr = this.row(y0); rr <= this.row(y1); rr++) {
      for (let cc = this.col(x0); cc <= this.col(x1); cc++) {
        const c = rr * this.cols + cc;
        count += this.start[c + 1] - this.start[c];
        if (count > limit * 4) return null;
        for (let k = this.start[c]; k < this.start[c + 1]; k++) {
          const i = this.items[k];
          const x = xy[2 * i], y = xy[2 * i + 1];
          if (x >= x0 && x <= x1 && y >= y0 && y <= y1) {
            out.push(i);
            if (out.length > limit) return null;
          }
        }
      }
    }
    return out;
  }
}

export function pointInPolygon(x, y, px, py) {
  let inside = false;
  const m = px.length;
  for (let j = 0, k = m - 1; j < m; k = j++) {
    if ((py[j] > y) !== (py[k] > y) && x < ((px[k] - px[j]) * (y - py[j])) / (py[k] - py[j]) + px[j]) inside = !inside;
  }
  return inside;
}

/**
 * The picking grid while a group is focused: the layout's grid for everything else, and a small
 * grid over the group's new places, so that focusing a cluster never rebuilds a million-item grid.
 * Same queries as SpatialGrid; the focused items come first.
 */
export class FocusedGrid {
  /** @param {SpatialGrid} base the layout's grid; `members` item indices; `memberXY` their new places */
  constructor(base, members, memberXY, n) {
    this.base = base;
    this.members = Int32Array.from(members);
    this.mask = new Uint8Array(n);
    for (const i of members) this.mask[i] = 1;
    this.sub = new SpatialGrid(memberXY);
    this.x0 = Math.min(base.x0, this.sub.x0); this.y0 = Math.min(base.y0, this.sub.y0);
    this.x1 = Math.max(base.x1, this.sub.x1); this.y1 = Math.max(base.y1, this.sub.y1);
  }

  others(accept) { return (i) => !this.mask[i] && (!accept || accept(i)); }
  mine(accept) { return (k) => !accept || accept(this.members[k]); }
  lift(found) { return found.map((k) => this.members[k]); }

  pick(x, y, r, accept) {
    const k = this.sub.pick(x, y, r, this.mine(accept));
    return k >= 0 ? this.members[k] : this.base.pick(x, y, r, this.others(accept));
  }

  inRect(ax, ay, bx, by, accept) {
    return [...this.lift(this.sub.inRect(ax, ay, bx, by, this.mine(accept))), ...this.base.inRect(ax, ay, bx, by, this.others(accept))];
  }

  inPolygon(poly, accept) {
    return [...this.lift(this.sub.inPolygon(poly, this.mine(accept))), ...this.base.inPolygon(poly, this.others(accept))];
  }

  visible(x0, y0, x1, y1, limit) {
    const a = this.sub.visible(x0, y0, x1, y1, limit);
    const b = this.base.visible(x0, y0, x1, y1, limit);
    if (!a || !b || a.length + b.length > limit) return null;
    return [...this.lift(a), ...b.filter((i) => !this.mask[i])];
  }
}
