// Layout guides: the axis titles, text labels (years, categories, letters) and polylines (a
// graticule, a GeoJSON base layer) that a layout made from metadata carries in
// data/layouts/<name>.guides.json. Drawn on a 2-D canvas over the map, in data units through the
// map's public API (toScreen, size, subscribe); the map itself knows nothing of them.

import { DATA } from './data.js';

const LABEL_FONT = { normal: 13, small: 11 };

/** The guides file a manifest layout entry names: `guides` if given, else none. */
function guidesUrl(manifest, name) {
  const lay = manifest.layouts.find((l) => l.name === name);
  if (!lay || !lay.guides) return null;
  return DATA + (typeof lay.guides === 'string' ? lay.guides : lay.file.replace(/\.f32$/, '.guides.json'));
}

export class Guides {
  constructor(app, mapCanvas) {
    this.app = app;
    this.map = app.map;
    this.data = null;
    this.cache = new Map();
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'guides';
    this.canvas.setAttribute('aria-hidden', 'true');
    Object.assign(this.canvas.style, { position: 'absolute', inset: '0', width: '100%', height: '100%',
      pointerEvents: 'none' });
    mapCanvas.after(this.canvas);
    this.ctx = this.canvas.getContext('2d');
    this.map.subscribe('frame', () => this.draw());
    app.on('layout', () => this.load(app.layoutName));
  }

  async load(name) {
    const url = guidesUrl(this.app.manifest, name);
    let data = null;
    if (url) {
      if (!this.cache.has(url)) {
        this.cache.set(url, fetch(url).then((r) => (r.ok ? r.json() : null)).catch(() => null));
      }
      data = await this.cache.get(url);
    }
    if (name !== this.app.layoutName) return; // another layout was chosen meanwhile
    this.data = data;
    this.map.requestRender();
  }

  /** What is drawn, for tests: counts and the overlay's painted pixels. */
  stats() {
    const d = this.data || {};
    const { width, height } = this.canvas;
    let painted = 0;
    if (width && height) {
      const px = this.ctx.getImageData(0, 0, width, height).data;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
    }
    return { layout: this.app.layoutName, labels: (d.labels || []).length, lines: (d.lines || []).length,
      base: (d.base || []).length, axes: d.axes || null, painted };
  }

  draw() {
    const [w, h] = this.map.size();
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(w * dpr), H = Math.round(h * dpr);
    if (this.canvas.width !== W || this.canvas.height !== H) { this.canvas.width = W; this.canvas.height = H; }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const d = this.data;
    if (!d) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const toS = (p) => this.map.toScreen(p[0], p[1]);
    const stroke = (lines, style, width) => {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      for (const line of lines) {
        line.forEach((p, k) => { const [x, y] = toS(p); if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
      }
      ctx.stroke();
    };
    if (d.base) stroke(d.base, 'rgba(150, 170, 190, 0.55)', 1);
    if (d.lines) stroke(d.lines, 'rgba(150, 150, 150, 0.28)', 1);
    ctx.textBaseline = 'middle';
    for (const lab of d.labels || []) {
      const [x, y] = toS([lab.x, lab.y]);
      if (x < -200 || y < -20 || x > w + 200 || y > h + 20) continue;
      ctx.font = `${LABEL_FONT[lab.size] || LABEL_FONT.normal}px system-ui, sans-serif`;
      ctx.textAlign = lab.anchor === 'start' ? 'left' : lab.anchor === 'end' ? 'right' : 'center';
      ctx.fillStyle = 'rgba(0, 0, 0, 0.6)';
      ctx.fillText(lab.text, x + 1, y + 1);
      ctx.fillStyle = 'rgba(235, 235, 235, 0.95)';
      ctx.fillText(lab.text, x, y);
    }
    if (d.axes) {
      ctx.font = `12px system-ui, sans-serif`;
      ctx.fillStyle = 'rgba(220, 220, 220, 0.8)';
      if (d.axes.x) { ctx.textAlign = 'center'; ctx.fillText(d.axes.x, w / 2, h - 14); }
      if (d.axes.y) {
        ctx.save();
        ctx.translate(14, h / 2);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'center';
        ctx.fillText(d.axes.y, 0, 0);
        ctx.restore();
      }
    }
  }
}

/** Draw the guides of the current layout, and of each layout chosen later. */
export function mountGuides(app, mapCanvas) {
  const g = new Guides(app, mapCanvas);
  g.load(app.layoutName);
  return g;
}
