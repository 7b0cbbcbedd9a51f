// The map renderer (WebGL2): one draw per atlas sheet, positions in GPU buffers, animated layout
// changes, close-up previews. It knows nothing of labels or panels: the app hands it positions,
// colours and flags. Items are points (one vertex each); past the GPU's largest point size the few
// visible items are drawn as instanced quads.
//
// Public API (everything else is internal): setPositions, setColors, setFlags, setCells, setGrid,
// select(indices), set({pointScale, maxPointPx, onTop}), get(name), subscribe(event, fn),
// zoomToPoints(indices, opts), zoomToArea(box, opts), zoomBy, panBy, view(), setView(view),
// toScreen, toData, screenPosition(i), pointPx(), pointRadius(), setHover, hover, requestRender.

import { Atlases } from './atlas.js';
import { Camera } from './camera.js';
import { BLIT_FRAG, BLIT_VERT, POINT_FRAG, POINT_VERT, QUAD_FRAG, QUAD_VERT } from './shaders.js';

const BG = [0.086, 0.094, 0.114];
const TEXTURE_PX = 6; // below this on-screen size a point is drawn as a flat colour
const VISIBLE_LIMIT = 60000;
const PREVIEW_LIMIT = 300;
const ON_TOP_LIMIT = 4000; // a focused group larger than this is drawn in the ordinary pass only

const UNIFORMS = ['uT', 'uCenter', 'uK', 'uHalf', 'uSize', 'uMinPx', 'uBase', 'uHover', 'uMode', 'uPerAtlas',
  'uCols', 'uCellSize', 'uSheet', 'uTex', 'uFrame', 'uDpr', 'uMaxPoint'];

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

function program(gl, vert, frag) {
  const prog = gl.createProgram();
  gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, vert));
  gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, frag));
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
  const u = {};
  for (const name of UNIFORMS) u[name] = gl.getUniformLocation(prog, name);
  return { prog, u };
}

// Per-item attributes: name, location, components, type, bytes per item.
const ATTRS = [['from', 1, 2, 'FLOAT', 8], ['to', 2, 2, 'FLOAT', 8], ['color', 3, 4, 'UNSIGNED_BYTE', 4],
  ['flags', 4, 1, 'UNSIGNED_BYTE', 1], ['cell', 5, 2, 'UNSIGNED_SHORT', 4]];

export class PointMap {
  constructor(canvas, { manifest, thumbUrl }) {
    this.canvas = canvas;
    const gl = canvas.getContext('webgl2', { antialias: false, alpha: false, preserveDrawingBuffer: false });
    if (!gl) throw new Error('This browser has no WebGL2; use a current Chrome, Firefox or Safari.');
    this.gl = gl;
    this.manifest = manifest;
    this.n = manifest.counts.items;
    this.camera = new Camera();
    this.sizeScale = 1;
    this.baseSize = Math.min(0.08, 1.7 / Math.sqrt(Math.max(1, this.n)));
    this.hover = -1;
    this.t = 1;
    this.layoutAnim = null;
    this.grid = null;
    this.visible = null;
    this.listeners = new Map(); // event -> Set of functions ('frame', 'view')
    this.flags = new Uint8Array(this.n);
    this.onTop = null; // items drawn again above the rest (a focused group: nothing hides them)
    this.maxPointPx = Infinity; // zoom stops where a point reaches this many CSS pixels
    this.atlases = new Atlases(gl, manifest, thumbUrl, () => this.requestRender());
    this.stats = { frames: 0, lastDrawMs: 0, cacheRenders: 0 };
    this.version = 0;
    this.cache = null;
    this.cacheMin = 50000; // items from which the zoomed-out map is drawn once and reused

    this.points = program(gl, POINT_VERT, POINT_FRAG);
    this.quadProgram = null; // compiled when first needed (zoomed in past the largest point)
    this.maxPoint = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1];
    this.maxViewport = gl.getParameter(gl.MAX_VIEWPORT_DIMS);
    this.buf = {};
    for (const [name] of ATTRS) this.buf[name] = gl.createBuffer();
    // Points: every attribute per vertex, bound once.
    this.pointVao = gl.createVertexArray();
    gl.bindVertexArray(this.pointVao);
    this.pointAttrs(0, 0);
    this.cullBuffer = gl.createBuffer();
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.cullBuffer);
    this.cull = null;
    // Quads: a unit square per instance; attributes re-pointed per draw.
    this.quadVao = gl.createVertexArray();
    gl.bindVertexArray(this.quadVao);
    const corners = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, corners);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.pointAttrs(0, 1);
    // Blit: the cached picture as one textured rectangle.
    this.blitVao = gl.createVertexArray();
    gl.bindVertexArray(this.blitVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, corners);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    const blit = program(gl, BLIT_VERT, BLIT_FRAG);
    this.blit = { prog: blit.prog, rect: gl.getUniformLocation(blit.prog, 'uRect'), tex: gl.getUniformLocation(blit.prog, 'uTex') };
    const n = this.n;
    this.upload('from', new Float32Array(2 * n));
    this.upload('to', new Float32Array(2 * n));
    this.upload('color', new Uint8Array(4 * n).fill(160));
    this.upload('flags', new Uint8Array(n));
    this.upload('cell', new Uint16Array(2 * n));
    this.resize();
    this.resizeObserver = new ResizeObserver(() => { this.resize(); this.requestRender(); });
    this.resizeObserver.observe(canvas);
  }

  upload(name, data) {
    const gl = this.gl;
    this.version++;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf[name]);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.camera.resize(r.width, r.height);
  }

  /** New positions (x, y pairs); with `animate`, items glide from where they are. */
  setPositions(xy, animate = false) {
    if (animate && this.current) {
      this.upload('from', this.current);
      this.t = 0;
      this.layoutAnim = { t0: performance.now(), ms: 700 };
    } else {
      this.upload('from', xy);
      this.t = 1;
      this.layoutAnim = null;
    }
    this.upload('to', xy);
    this.current = xy;
    this.cull = null;
    this.requestRender();
  }

  setColors(rgba) { this.upload('color', rgba); this.requestRender(); }
  setFlags(flags) { this.flags = flags; this.upload('flags', flags); this.requestRender(); }

  /** Mark exactly these items as selected (the other flags stay). */
  select(indices, selectedBit = 1) {
    const f = this.flags;
    for (let i = 0; i < f.length; i++) f[i] &= ~selectedBit;
    for (const i of indices) f[i] |= selectedBit;
    this.setFlags(f);
  }

  /** Options in the regl-scatterplot spirit: `pointScale` (thumbnail size factor), `maxPointPx`
   * (zoom stops where an item is this many CSS pixels wide: the preview's native size), `onTop`
   * (indices drawn above every other item, or null). */
  set(opts) {
    if ('pointScale' in opts) this.sizeScale = Math.min(8, Math.max(0.25, opts.pointScale));
    if ('maxPointPx' in opts) this.maxPointPx = opts.maxPointPx;
    if ('onTop' in opts) { this.onTop = opts.onTop && opts.onTop.length ? opts.onTop : null; this.cull = null; }
    this.camera.maxK = this.maxPointPx / (this.baseSize * this.sizeScale);
    this.camera.set({ x: this.camera.x, y: this.camera.y, k: this.camera.k });
    this.requestRender();
  }

  /** The focused items' index list, uploaded once per focus, with its ranges per atlas sheet. */
  topIndex() {
    const c = this.topCache;
    if (c && c.list === this.onTop) return c;
    const gl = this.gl;
    const idx = Uint32Array.from(this.onTop).sort();
    const buffer = (c && c.buffer) || gl.createBuffer();
    const vao = gl.getParameter(gl.VERTEX_ARRAY_BINDING);
    gl.bindVertexArray(null); // upload without touching any VAO's element binding
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, idx, gl.DYNAMIC_DRAW);
    gl.bindVertexArray(vao);
    const per = this.manifest.atlas.per_atlas;
    const ranges = [];
    for (let k = 0; k < idx.length;) {
      const sheet = Math.floor(idx[k] / per);
      let e = k;
      while (e < idx.length && Math.floor(idx[e] / per) === sheet) e++;
      ranges.push([sheet, k, e - k]);
      k = e;
    }
    this.topCache = { list: this.onTop, buffer, ranges };
    return this.topCache;
  }

  onTopSet() {
    if (!this.onTopCache || this.onTopCache.list !== this.onTop) this.onTopCache = { list: this.onTop, set: new Set(this.onTop) };
    return this.onTopCache.set;
  }

  get(name) {
    return { pointScale: this.sizeScale, maxPointPx: this.maxPointPx, onTop: this.onTop, hover: this.hover,
      animating: !!(this.layoutAnim || this.camera.anim), pointPx: this.pointPx(), n: this.n }[name];
  }

  /** Call `fn` on 'frame' (after each draw) or 'view' (the camera moved); returns an unsubscribe. */
  subscribe(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }

  emit(event, payload) {
    for (const fn of this.listeners.get(event) || []) fn(payload);
  }

  // ---- the view --------------------------------------------------------------------------------

  view() { return { x: this.camera.x, y: this.camera.y, k: this.camera.k }; }
  setView(v, animate = false) {
    if (animate) this.camera.flyTo({ ...v, k: this.camera.clampK(v.k) }, typeof animate === 'number' ? animate : 450);
    else this.camera.set(v);
    this.requestRender();
  }

  toScreen(x, y) { return this.camera.toScreen(x, y); }
  toData(sx, sy) { return this.camera.toData(sx, sy); }
  bounds() { return this.camera.bounds(); }
  size() { return [this.camera.width, this.camera.height]; }

  /** Where item i is (or is heading, during an animation) in CSS pixels of the canvas. */
  screenPosition(i) { return this.camera.toScreen(this.current[2 * i], this.current[2 * i + 1]); }

  /** Show a data box: `padding` a fraction of the view, `maxPointPx` caps the zoom so items stay at
   * most this size, `align: 'top'` shows the top of a box taller than the view. */
  zoomToArea([x0, y0, x1, y1], { padding = 0.08, maxPointPx = Infinity, animate = true, align = 'center' } = {}) {
    const cam = this.camera;
    const r = this.baseSize * this.sizeScale / 2;
    const target = cam.fitBox(x0 - r, y0 - r, x1 + r, y1 + r, padding);
    target.k = cam.clampK(Math.min(target.k, maxPointPx / (2 * r)));
    if (align === 'top') {
      const half = cam.height / 2 / target.k;
      if (y1 - y0 + 2 * r > 2 * half) target.y = y1 + r - half * (1 - padding);
    }
    this.setView(target, animate);
    return target;
  }

  /** Show these items (indices), their whole extent. */
  zoomToPoints(indices, opts = {}) {
    const xy = this.current;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of indices) {
      const x = xy[2 * i], y = xy[2 * i + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    if (!Number.isFinite(x0)) return null;
    return this.zoomToArea([x0, y0, x1, y1], opts);
  }

  zoomBy(f, sx = this.camera.width / 2, sy = this.camera.height / 2) {
    this.camera.zoomAt(sx, sy, f);
    this.requestRender();
  }

  panBy(dx, dy) { this.camera.panBy(dx, dy); this.requestRender(); }
  setCells(cells) { this.upload('cell', cells); this.requestRender(); }
  setGrid(grid) { this.grid = grid; this.cull = null; this.requestRender(); }

  setHover(i) {
    if (i === this.hover) return;
    this.hover = i;
    this.requestRender();
  }

  /** On-screen side of a point in CSS pixels. */
  pointPx() {
    return Math.max(this.baseSize * this.sizeScale * this.camera.k, 1.5);
  }

  /** Half the side of a point in data units (for picking). */
  pointRadius() {
    return this.pointPx() / 2 / this.camera.k;
  }


  requestRender() {
    if (this.raf) return;
    this.raf = requestAnimationFrame((now) => {
      this.raf = 0;
      this.frame(now);
    });
  }

  frame(now) {
    const cam = this.camera;
    const before = [cam.x, cam.y, cam.k];
    let more = cam.step(now);
    if (this.layoutAnim) {
      const a = this.layoutAnim;
      const t = Math.max(0, Math.min(1, (now - a.t0) / a.ms)); // a frame may predate the change
      this.t = t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2;
      if (t >= 1) { this.layoutAnim = null; this.t = 1; } else more = true;
    }
    this.draw();
    this.scheduleDetail();
    this.emit('frame');
    if (before[0] !== cam.x || before[1] !== cam.y || before[2] !== cam.k || this.viewSent !== this.viewKey()) {
      this.viewSent = this.viewKey();
      this.emit('view', this.view());
    }
    if (more) this.requestRender();
  }

  viewKey() { return `${this.camera.x},${this.camera.y},${this.camera.k}`; }

  /** Ask for the atlas sheets and previews the current view needs (after the camera settles). */
  scheduleDetail() {
    clearTimeout(this.detailTimer);
    this.detailTimer = setTimeout(() => this.updateDetail(), this.camera.anim ? 150 : 30);
  }

  updateDetail() {
    const px = this.pointPx();
    if (!this.grid || px < TEXTURE_PX) { this.visible = null; return; }
    const [x0, y0, x1, y1] = this.camera.bounds();
    const r = this.pointRadius();
    const vis = this.grid.visible(x0 - r, y0 - r, x1 + r, y1 + r, VISIBLE_LIMIT);
    this.visible = vis;
    if (!vis) return;
    const sheets = new Map();
    for (const i of vis) { const a = this.atlases.atlasOf(i); sheets.set(a, (sheets.get(a) || 0) + 1); }
    // The sheets that hold most of the view first, never more than stay resident (no thrashing:
    // items on sheets left out are drawn as colour until the view narrows).
    this.atlases.wantSheets([...sheets.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0])
      .slice(0, this.atlases.sheetBudget));
    // Previews: of the visible items, or (focused) of the focused ones in view.
    let want = vis;
    if (this.onTop && this.onTop.length <= ON_TOP_LIMIT) {
      want = this.onTop.filter((i) => {
        const x = this.current[2 * i], y = this.current[2 * i + 1];
        return x >= x0 - r && x <= x1 + r && y >= y0 - r && y <= y1 + r;
      });
    }
    if (px >= this.manifest.atlas.cell_size * 1.25 && want.length <= PREVIEW_LIMIT && this.manifest.thumbs) {
      this.atlases.wantThumbs(want);
    }
  }

  /** Point the per-item attributes of the bound VAO at item `base` (divisor 0: points, 1: quads). */
  pointAttrs(base, divisor) {
    const gl = this.gl;
    for (const [name, loc, size, type, bytes] of ATTRS) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf[name]);
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribDivisor(loc, divisor);
      if (name === 'flags') gl.vertexAttribIPointer(loc, size, gl[type], 0, base * bytes);
      else gl.vertexAttribPointer(loc, size, gl[type], name === 'color', 0, base * bytes);
    }
  }

  /** Zoomed in, draw only the items near the view: an index list per atlas sheet covering three
   * times the view in each direction, rebuilt when the view leaves it. Null: draw everything. */
  culled() {
    if (!this.grid || this.layoutAnim || this.pointPx() < TEXTURE_PX) return null;
    const [x0, y0, x1, y1] = this.camera.bounds();
    const c = this.cull;
    if (c && c.grid === this.grid && x0 >= c.box[0] && y0 >= c.box[1] && x1 <= c.box[2] && y1 <= c.box[3]) return c.ranges;
    const w = x1 - x0, hh = y1 - y0, r = this.pointRadius() * 1.3;
    const box = [x0 - w - r, y0 - hh - r, x1 + w + r, y1 + hh + r];
    const found = this.grid.visible(box[0], box[1], box[2], box[3], Math.max(20000, this.n / 4));
    if (!found) { this.cull = { grid: this.grid, box: [Infinity, Infinity, -Infinity, -Infinity], ranges: null }; return null; }
    // Focused items are drawn in their own pass above the rest: not twice.
    const top = this.onTop && this.onTop.length <= ON_TOP_LIMIT ? this.onTopSet() : null;
    const idx = Uint32Array.from(top ? found.filter((i) => !top.has(i)) : found).sort();
    const gl = this.gl;
    gl.bindVertexArray(this.pointVao);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.cullBuffer);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, idx, gl.DYNAMIC_DRAW);
    const per = this.manifest.atlas.per_atlas;
    const ranges = [];
    let k = 0;
    while (k < idx.length) {
      const sheet = Math.floor(idx[k] / per);
      let e = k;
      while (e < idx.length && Math.floor(idx[e] / per) === sheet) e++;
      ranges.push([sheet, k, e - k]);
      k = e;
    }
    this.cull = { grid: this.grid, box: [x0 - w / 2, y0 - hh / 2, x1 + w / 2, y1 + hh / 2], ranges };
    return ranges;
  }

  uniforms(p, half, textured) {
    const gl = this.gl, u = p.u, cam = this.camera, m = this.manifest;
    gl.useProgram(p.prog);
    gl.uniform1f(u.uT, this.t);
    gl.uniform2f(u.uCenter, cam.x, cam.y);
    gl.uniform1f(u.uK, cam.k);
    gl.uniform2f(u.uHalf, half[0], half[1]);
    gl.uniform1f(u.uSize, this.baseSize * this.sizeScale);
    gl.uniform1f(u.uMinPx, 1.5);
    gl.uniform1f(u.uDpr, this.dpr);
    gl.uniform1f(u.uMaxPoint, this.maxPoint);
    gl.uniform1i(u.uHover, this.hover);
    gl.uniform1i(u.uPerAtlas, m.atlas.per_atlas);
    gl.uniform1i(u.uCols, m.atlas.cols);
    gl.uniform1f(u.uCellSize, m.atlas.cell_size);
    gl.uniform1f(u.uFrame, textured ? 2 : 0);
    gl.uniform1i(u.uTex, 0);
  }

  draw() {
    const t0 = performance.now();
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(BG[0], BG[1], BG[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.current) return;
    const textured = this.pointPx() >= TEXTURE_PX;
    if (!textured && !this.layoutAnim && this.n >= this.cacheMin) {
      this.drawCached();
      this.drawPass(this.canvas.width, this.canvas.height, false, true);
    } else {
      this.drawPass(this.canvas.width, this.canvas.height, true, true);
    }
    gl.bindVertexArray(null);
    this.stats.frames++;
    this.stats.lastDrawMs = performance.now() - t0;
  }

  /** Draw items into a target of W x H device pixels centred on the camera: every item (`items`)
   * and/or what goes on top of them (`overlay`: close-up previews and the hovered item). */
  drawPass(W, H, items, overlay) {
    const gl = this.gl, cam = this.camera, m = this.manifest;
    const px = this.pointPx();
    const dev = px * this.dpr * 1.3;
    const asPoints = dev <= this.maxPoint;
    const textured = px >= TEXTURE_PX;
    // Points are clipped by their centre: widen the viewport by half a point so that items at
    // the edge stay drawn, and scale clip space to match.
    let margin = asPoints ? Math.ceil(dev / 2) + 1 : 0;
    margin = Math.max(0, Math.min(margin, Math.floor((this.maxViewport[0] - W) / 2), Math.floor((this.maxViewport[1] - H) / 2)));
    gl.viewport(-margin, -margin, W + 2 * margin, H + 2 * margin);
    const half = [(W / 2 + margin) / this.dpr, (H / 2 + margin) / this.dpr];
    if (!asPoints && !this.quadProgram) this.quadProgram = program(gl, QUAD_VERT, QUAD_FRAG);
    const p = asPoints ? this.points : this.quadProgram;
    this.uniforms(p, half, textured);
    gl.bindVertexArray(asPoints ? this.pointVao : this.quadVao);
    gl.activeTexture(gl.TEXTURE0);
    const setMode = (mode, entry) => {
      gl.uniform1i(p.u.uMode, mode);
      if (entry) {
        gl.bindTexture(gl.TEXTURE_2D, entry.tex);
        gl.uniform2f(p.u.uSheet, entry.w, entry.h);
      }
    };
    const drawItems = (base, count) => {
      if (asPoints) { gl.drawArrays(gl.POINTS, base, count); return; }
      this.pointAttrs(base, 1);
      gl.uniform1i(p.u.uBase, base);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, count);
    };
    const per = m.atlas.per_atlas;
    const ranges = items && asPoints ? this.culled() : null;
    if (!items) {
      // drawn already (the cached image)
    } else if (ranges) {
      for (const [a, start, count] of ranges) {
        const sheet = this.atlases.sheet(a);
        setMode(sheet ? 0 : 2, sheet);
        gl.drawElements(gl.POINTS, count, gl.UNSIGNED_INT, start * 4);
      }
    } else if (asPoints) {
      for (let a = 0; a * per < this.n; a++) {
        const sheet = textured ? this.atlases.sheet(a) : null;
        setMode(sheet ? 0 : 2, sheet);
        drawItems(a * per, Math.min(per, this.n - a * per));
      }
    } else {
      // Zoomed in this far only a few items are on screen: draw just those.
      const [x0, y0, x1, y1] = cam.bounds();
      const r = this.pointRadius() * 1.3;
      for (const i of this.grid ? this.grid.visible(x0 - r, y0 - r, x1 + r, y1 + r, 5000) || [] : []) {
        const sheet = this.atlases.sheet(this.atlases.atlasOf(i));
        setMode(sheet ? 0 : 2, sheet);
        drawItems(i, 1);
      }
    }
    if (!overlay) return;
    const top = this.onTop && this.onTop.length <= ON_TOP_LIMIT ? this.onTop : null;
    const previews = textured && this.visible && this.visible.length <= PREVIEW_LIMIT;
    if (previews) {
      const skip = top ? this.onTopSet() : null;
      for (const i of this.visible) {
        if (skip && skip.has(i)) continue;
        const th = this.atlases.thumb(i);
        if (th) { setMode(1, th); drawItems(i, 1); }
      }
    }
    if (top && asPoints) {
      // The focused items again, above the rest: one draw per atlas sheet from their own index list,
      // then the previews of those in view on top of them.
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.topIndex().buffer);
      for (const [a, start, count] of this.topIndex().ranges) {
        const sheet = textured ? this.atlases.sheet(a) : null;
        setMode(sheet ? 0 : 2, sheet);
        gl.drawElements(gl.POINTS, count, gl.UNSIGNED_INT, start * 4);
      }
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.cullBuffer);
    }
    if (top && textured) {
      const [x0, y0, x1, y1] = cam.bounds();
      const r = this.pointRadius();
      let drawn = 0;
      for (const i of top) {
        const x = this.current[2 * i], y = this.current[2 * i + 1];
        if (x < x0 - r || x > x1 + r || y < y0 - r || y > y1 + r) continue;
        const th = this.atlases.thumb(i);
        if (asPoints && !th) continue;
        if (++drawn > PREVIEW_LIMIT && asPoints) break;
        const sheet = !th ? this.atlases.sheet(this.atlases.atlasOf(i)) : null;
        setMode(th ? 1 : sheet ? 0 : 2, th || sheet);
        drawItems(i, 1);
      }
    }
    const hv = this.hover;
    if (hv >= 0 && hv < this.n) {
      const th = textured ? this.atlases.thumb(hv) : null;
      const sheet = textured && !th ? this.atlases.sheet(this.atlases.atlasOf(hv)) : null;
      setMode(th ? 1 : sheet ? 0 : 2, th || sheet);
      drawItems(hv, 1);
    }
  }

  /** Zoomed out over many items, draw them once into a texture three views wide and move or scale
   * that picture while panning and zooming; redraw it when the state changes, or when the view
   * rests after leaving it or changing zoom. Hover is drawn on top each frame. */
  drawCached() {
    const gl = this.gl, cam = this.camera;
    const W = this.canvas.width, H = this.canvas.height;
    const c = this.cache;
    const fresh = c && c.version === this.version && c.W === W && c.H === H && c.sizeScale === this.sizeScale;
    const dx = fresh ? (cam.x - c.x) * cam.k * this.dpr : 0, dy = fresh ? (cam.y - c.y) * cam.k * this.dpr : 0;
    const covers = fresh && c.k === cam.k && Math.abs(dx) <= c.mx && Math.abs(dy) <= c.my;
    if (!fresh || this.cacheRestDue) {
      this.renderCache(W, H);
    } else if (!covers) {
      clearTimeout(this.cacheTimer);
      this.cacheTimer = setTimeout(() => { this.cacheRestDue = true; this.requestRender(); }, 200);
    }
    const cc = this.cache;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, W, H);
    gl.useProgram(this.blit.prog);
    gl.bindVertexArray(this.blitVao);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, cc.tex);
    const s = cam.k / cc.k;
    gl.uniform4f(this.blit.rect, ((cc.x - cam.x) * cam.k * this.dpr) / (W / 2), ((cc.y - cam.y) * cam.k * this.dpr) / (H / 2),
      (cc.FW / 2) * s / (W / 2), (cc.FH / 2) * s / (H / 2));
    gl.uniform1i(this.blit.tex, 0);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }

  renderCache(W, H) {
    const gl = this.gl, cam = this.camera;
    const maxTex = Math.min(gl.getParameter(gl.MAX_TEXTURE_SIZE), this.maxViewport[0], this.maxViewport[1]);
    const mx = Math.max(0, Math.min(W, Math.floor((maxTex - W) / 2))), my = Math.max(0, Math.min(H, Math.floor((maxTex - H) / 2)));
    const FW = W + 2 * mx, FH = H + 2 * my;
    let c = this.cache;
    if (!c || c.FW !== FW || c.FH !== FH) {
      if (c) { gl.deleteTexture(c.tex); gl.deleteFramebuffer(c.fbo); }
      const tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, FW, FH);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      const fbo = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
      c = { tex, fbo, FW, FH };
    }
    // The picture's own texture must not be bound while drawing into it (a feedback loop).
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, null);
    gl.bindFramebuffer(gl.FRAMEBUFFER, c.fbo);
    gl.viewport(0, 0, FW, FH);
    gl.clearColor(BG[0], BG[1], BG[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    this.drawPass(FW, FH, true, false);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.cache = Object.assign(c, { x: cam.x, y: cam.y, k: cam.k, W, H, mx, my, version: this.version,
      sizeScale: this.sizeScale });
    this.cacheRestDue = false;
    this.stats.cacheRenders++;
  }

  /** Draw now and count the pixels that are not background (for tests and the benchmark). */
  paintedPixels() {
    this.draw();
    const gl = this.gl;
    const w = this.canvas.width, hgt = this.canvas.height;
    const px = new Uint8Array(w * hgt * 4);
    gl.readPixels(0, 0, w, hgt, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const bg = BG.map((v) => Math.round(v * 255));
    let painted = 0;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - bg[0]) + Math.abs(px[i + 1] - bg[1]) + Math.abs(px[i + 2] - bg[2]) > 12) {
        painted++;
        if (colours.size < 4096) colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      }
    }
    return { painted, total: w * hgt, colours: colours.size };
  }

  /** Draw now and read a block of pixels (CSS pixel coordinates of the canvas, top left origin) as
   * RGBA rows from the top: what is really on screen, for tests. */
  pixels(sx, sy, w = 1, hh = 1) {
    this.draw();
    const gl = this.gl, d = this.dpr;
    const W = Math.max(1, Math.round(w * d)), H = Math.max(1, Math.round(hh * d));
    const x = Math.round(sx * d), y = this.canvas.height - Math.round(sy * d) - H;
    const out = new Uint8Array(W * H * 4);
    gl.readPixels(x, y, W, H, gl.RGBA, gl.UNSIGNED_BYTE, out);
    const rows = [];
    for (let r = H - 1; r >= 0; r--) rows.push(Array.from(out.subarray(r * W * 4, (r + 1) * W * 4)));
    return { width: W, height: H, rows };
  }

  /** Wait until the GPU has finished everything drawn so far. */
  finish() {
    const one = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, one);
  }

  /** Draw and wait for the GPU to finish: the real cost of one frame. */
  timedDraw() {
    const t0 = performance.now();
    this.draw();
    this.finish();
    return performance.now() - t0;
  }
}
