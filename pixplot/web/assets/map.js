// The map renderer (WebGL2): one instanced draw per atlas sheet, positions in GPU buffers,
// animated layout changes, close-up previews. It knows nothing of labels or panels: the app hands it
// positions, colours and flags.

import { Atlases } from './atlas.js';
import { Camera } from './camera.js';
import { FRAG, VERT } from './shaders.js';

const BG = [0.086, 0.094, 0.114];
const TEXTURE_PX = 6; // below this on-screen size a point is drawn as a flat colour
const VISIBLE_LIMIT = 60000;
const PREVIEW_LIMIT = 300;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

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
    this.frameListeners = [];
    this.atlases = new Atlases(gl, manifest, thumbUrl, () => this.requestRender());
    this.stats = { frames: 0, lastDrawMs: 0 };

    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VERT));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FRAG));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    this.prog = prog;
    this.u = {};
    for (const name of ['uT', 'uCenter', 'uK', 'uHalf', 'uSize', 'uMinPx', 'uBase', 'uHover', 'uMode',
      'uPerAtlas', 'uCols', 'uCellSize', 'uSheet', 'uTex', 'uFrame', 'uDpr']) {
      this.u[name] = gl.getUniformLocation(prog, name);
    }
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    const corners = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, corners);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.buf = {};
    for (const [name, loc] of [['from', 1], ['to', 2], ['color', 3], ['flags', 4], ['cell', 5]]) {
      this.buf[name] = gl.createBuffer();
      gl.enableVertexAttribArray(loc);
      gl.vertexAttribDivisor(loc, 1);
    }
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
    this.requestRender();
  }

  setColors(rgba) { this.upload('color', rgba); this.requestRender(); }
  setFlags(flags) { this.upload('flags', flags); this.requestRender(); }
  setCells(cells) { this.upload('cell', cells); this.requestRender(); }
  setGrid(grid) { this.grid = grid; this.requestRender(); }

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

  onFrame(fn) { this.frameListeners.push(fn); }

  requestRender() {
    if (this.raf) return;
    this.raf = requestAnimationFrame((now) => {
      this.raf = 0;
      this.frame(now);
    });
  }

  frame(now) {
    let more = this.camera.step(now);
    if (this.layoutAnim) {
      const a = this.layoutAnim;
      const t = Math.min(1, (now - a.t0) / a.ms);
      this.t = t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2;
      if (t >= 1) { this.layoutAnim = null; this.t = 1; } else more = true;
    }
    this.draw();
    this.scheduleDetail();
    for (const fn of this.frameListeners) fn();
    if (more) this.requestRender();
  }

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
    this.atlases.wantSheets([...sheets.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]));
    if (px >= this.manifest.atlas.cell_size * 1.25 && vis.length <= PREVIEW_LIMIT && this.manifest.thumbs) {
      this.atlases.wantThumbs(vis);
    }
  }

  bindInstances(base) {
    const gl = this.gl;
    const attrs = [['from', 1, 2, gl.FLOAT, 8], ['to', 2, 2, gl.FLOAT, 8], ['color', 3, 4, gl.UNSIGNED_BYTE, 4],
      ['flags', 4, 1, gl.UNSIGNED_BYTE, 1], ['cell', 5, 2, gl.UNSIGNED_SHORT, 4]];
    for (const [name, loc, size, type, bytes] of attrs) {
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf[name]);
      if (name === 'flags') gl.vertexAttribIPointer(loc, size, type, 0, base * bytes);
      else gl.vertexAttribPointer(loc, size, type, name === 'color', 0, base * bytes);
    }
    gl.uniform1i(this.u.uBase, base);
  }

  draw() {
    const t0 = performance.now();
    const gl = this.gl, u = this.u, cam = this.camera, m = this.manifest;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(BG[0], BG[1], BG[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.current) return;
    gl.useProgram(this.prog);
    gl.bindVertexArray(this.vao);
    gl.uniform1f(u.uT, this.t);
    gl.uniform2f(u.uCenter, cam.x, cam.y);
    gl.uniform1f(u.uK, cam.k);
    gl.uniform2f(u.uHalf, cam.width / 2, cam.height / 2);
    gl.uniform1f(u.uSize, this.baseSize * this.sizeScale);
    gl.uniform1f(u.uMinPx, 1.5);
    gl.uniform1i(u.uHover, this.hover);
    gl.uniform1i(u.uPerAtlas, m.atlas.per_atlas);
    gl.uniform1i(u.uCols, m.atlas.cols);
    gl.uniform1f(u.uCellSize, m.atlas.cell_size);
    gl.uniform1f(u.uFrame, 2);
    gl.uniform1f(u.uDpr, this.dpr);
    gl.uniform1i(u.uTex, 0);
    gl.activeTexture(gl.TEXTURE0);
    const px = this.pointPx();
    const textured = px >= TEXTURE_PX;
    const per = m.atlas.per_atlas;
    const sheetCount = Math.ceil(this.n / per);
    const drawOne = (base, count, mode, entry) => {
      this.bindInstances(base);
      gl.uniform1i(u.uMode, mode);
      if (entry) {
        gl.bindTexture(gl.TEXTURE_2D, entry.tex);
        gl.uniform2f(u.uSheet, entry.w, entry.h);
      }
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, count);
    };
    for (let a = 0; a < sheetCount; a++) {
      const base = a * per;
      const sheet = textured ? this.atlases.sheet(a) : null;
      drawOne(base, Math.min(per, this.n - base), sheet ? 0 : 2, sheet);
    }
    if (textured && this.visible && this.visible.length <= PREVIEW_LIMIT) {
      for (const i of this.visible) {
        const th = this.atlases.thumb(i);
        if (th) drawOne(i, 1, 1, th);
      }
    }
    const hv = this.hover;
    if (hv >= 0 && hv < this.n) {
      const th = textured ? this.atlases.thumb(hv) : null;
      const sheet = textured && !th ? this.atlases.sheet(this.atlases.atlasOf(hv)) : null;
      if (th) drawOne(hv, 1, 1, th);
      else drawOne(hv, 1, sheet ? 0 : 2, sheet);
    }
    this.stats.frames++;
    this.stats.lastDrawMs = performance.now() - t0;
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

  /** Draw and wait for the GPU to finish: the real cost of one frame. */
  timedDraw() {
    const t0 = performance.now();
    this.draw();
    const one = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, one);
    return performance.now() - t0;
  }
}
