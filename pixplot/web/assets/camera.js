// The view: a centre in data units and a zoom in CSS pixels per data unit; y grows upwards in data.

const MIN_K = 20;
const MAX_K = 2e6;

export class Camera {
  constructor() {
    this.x = 0;
    this.y = 0;
    this.k = 300;
    this.width = 1;
    this.height = 1;
    this.anim = null;
    this.maxK = MAX_K; // the map lowers it so that zoom stops at the previews' native resolution
  }

  resize(width, height) {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
  }

  toScreen(x, y) {
    return [(x - this.x) * this.k + this.width / 2, this.height / 2 - (y - this.y) * this.k];
  }

  toData(sx, sy) {
    return [(sx - this.width / 2) / this.k + this.x, (this.height / 2 - sy) / this.k + this.y];
  }

  /** The data rectangle on screen: [x0, y0, x1, y1]. */
  bounds() {
    const [x0, y1] = this.toData(0, 0);
    const [x1, y0] = this.toData(this.width, this.height);
    return [x0, y0, x1, y1];
  }

  clampK(k) {
    const lo = MIN_K * Math.min(this.width, this.height) / 800;
    return Math.max(lo, Math.min(this.maxK, MAX_K, k));
  }

  /** Zoom by `factor` keeping the data point under (sx, sy) still. */
  zoomAt(sx, sy, factor) {
    this.anim = null;
    const [dx, dy] = this.toData(sx, sy);
    this.k = this.clampK(this.k * factor);
    const [nx, ny] = this.toData(sx, sy);
    this.x += dx - nx;
    this.y += dy - ny;
  }

  panBy(dxPx, dyPx) {
    this.anim = null;
    this.x -= dxPx / this.k;
    this.y += dyPx / this.k;
  }

  /** The centre and zoom that show a data box with a margin. */
  fitBox(x0, y0, x1, y1, margin = 0.08) {
    const w = Math.max(x1 - x0, 1e-6);
    const hh = Math.max(y1 - y0, 1e-6);
    const k = this.clampK(Math.min(this.width / w, this.height / hh) * (1 - 2 * margin));
    return { x: (x0 + x1) / 2, y: (y0 + y1) / 2, k };
  }

  set({ x, y, k }) {
    this.anim = null;
    this.x = x;
    this.y = y;
    this.k = this.clampK(k);
  }

  /** Animate to a view, zooming out and in on the way (a short "fly"). */
  flyTo(target, ms = 450) {
    this.anim = { from: { x: this.x, y: this.y, k: this.k }, to: target, t0: performance.now(), ms };
  }

  /** Advance an animation; returns true while one runs. */
  step(now) {
    const a = this.anim;
    if (!a) return false;
    // A frame's timestamp can precede the flyTo call (it was made during the frame): clamp at 0.
    let t = Math.max(0, Math.min(1, (now - a.t0) / a.ms));
    const done = t >= 1;
    t = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
    const lk = Math.log(a.from.k) + (Math.log(a.to.k) - Math.log(a.from.k)) * t;
    this.k = this.clampK(Math.exp(lk));
    this.x = a.from.x + (a.to.x - a.from.x) * t;
    this.y = a.from.y + (a.to.y - a.from.y) * t;
    if (done) this.anim = null;
    return this.anim !== null;
  }
}
