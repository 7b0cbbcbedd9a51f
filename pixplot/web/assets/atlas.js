// Loads atlas sprite sheets and thumbnail previews into textures on demand, keeping a bounded
// number resident (least recently used go first), so a million items never need every sheet at once.

import { DATA } from './data.js';

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.decoding = 'async';
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`${url}: image could not be loaded`));
    img.src = url;
  });
}

class TextureCache {
  constructor(gl, { capacity, mipmap, concurrency, onLoad }) {
    this.gl = gl;
    this.capacity = capacity;
    this.mipmap = mipmap;
    this.concurrency = concurrency;
    this.onLoad = onLoad;
    this.entries = new Map(); // key -> {tex, w, h, used}
    this.loading = new Set();
    this.failed = new Set();
    this.queue = [];
    this.clock = 0;
  }

  get(key) {
    const e = this.entries.get(key);
    if (e) e.used = ++this.clock;
    return e || null;
  }

  /** Ask for these keys (most wanted first); returns at once. */
  want(keys, urlOf) {
    this.queue = keys.filter((k) => !this.entries.has(k) && !this.loading.has(k) && !this.failed.has(k))
      .map((k) => [k, urlOf(k)]);
    for (const k of keys) { const e = this.entries.get(k); if (e) e.used = ++this.clock; }
    this.pump();
  }

  pump() {
    while (this.loading.size < this.concurrency && this.queue.length) {
      const [key, url] = this.queue.shift();
      this.loading.add(key);
      loadImage(url).then((img) => {
        this.loading.delete(key);
        this.store(key, img);
        this.onLoad(key);
        this.pump();
      }, () => {
        this.loading.delete(key);
        this.failed.add(key);
        this.pump();
      });
    }
  }

  store(key, img) {
    const gl = this.gl;
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    if (this.mipmap) {
      gl.generateMipmap(gl.TEXTURE_2D);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
    } else {
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    }
    this.entries.set(key, { tex, w: img.naturalWidth, h: img.naturalHeight, used: ++this.clock });
    this.evict();
  }

  evict() {
    if (this.entries.size <= this.capacity) return;
    const byAge = [...this.entries.entries()].sort((a, b) => a[1].used - b[1].used);
    for (const [k, e] of byAge.slice(0, this.entries.size - this.capacity)) {
      this.gl.deleteTexture(e.tex);
      this.entries.delete(k);
    }
  }
}

/** Atlas sheets by index, and per-item previews from `thumbs/` for close-up views. */
export class Atlases {
  constructor(gl, manifest, thumbUrl, onLoad) {
    this.manifest = manifest;
    this.atlas = manifest.atlas;
    this.count = this.atlas.files.length;
    this.thumbUrl = thumbUrl;
    this.sheets = new TextureCache(gl, { capacity: 48, mipmap: true, concurrency: 4, onLoad });
    this.sheetBudget = 40;
    this.thumbs = new TextureCache(gl, { capacity: 400, mipmap: false, concurrency: 8, onLoad });
  }

  atlasOf(i) {
    return Math.floor(i / this.atlas.per_atlas);
  }

  wantSheets(indices) {
    this.sheets.want(indices, (a) => DATA + this.atlas.files[a]);
  }

  wantThumbs(items) {
    this.thumbs.want(items, (i) => this.thumbUrl(i));
  }

  sheet(a) {
    return this.sheets.get(a);
  }

  thumb(i) {
    return this.thumbs.get(i);
  }
}
