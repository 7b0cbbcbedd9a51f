// Find and repair: more like this, text search, split, similar clusters and label suggestions.
// Served, the questions go to `pixplot serve` (docs/api.md, "Find and repair"); static, neighbours
// and similar clusters are computed here from the bundle's compact vectors (data/vectors.f16:
// PCA-64, float16, unit rows), and what needs the full embeddings or a model says it needs the
// server. Answers are item indices; the panel turns them into events through the store.

import { DATA } from './data.js';

export const NEEDS_SERVER = 'needs `pixplot serve`: open this bundle with `pixplot serve BUNDLE`';

/** float16 bits -> float32, through a table (65,536 entries, built once). */
let HALF = null;
function halfTable() {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let b = 0; b < 65536; b++) {
    const s = b & 0x8000 ? -1 : 1, e = (b >> 10) & 0x1f, f = b & 0x3ff;
    HALF[b] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return HALF;
}

/** The k best of `scores` (a Float32Array), skipping marked rows: [{i, score}], best first. */
export function topK(scores, k, skip) {
  const idx = new Int32Array(k).fill(-1), val = new Float32Array(k).fill(-Infinity);
  let have = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if ((have === k && v <= val[k - 1]) || (skip && skip[i])) continue;
    let j = have < k ? have++ : k - 1;
    while (j > 0 && val[j - 1] < v) { val[j] = val[j - 1]; idx[j] = idx[j - 1]; j--; }
    val[j] = v; idx[j] = i;
  }
  const out = [];
  for (let j = 0; j < have; j++) out.push({ i: idx[j], score: val[j] });
  return out;
}

/** A seeded generator in [0, 1) (mulberry32): the same split for the same members. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function dot(X, i, C, j, d) {
  let s = 0;
  for (let t = 0; t < d; t++) s += X[i * d + t] * C[j * d + t];
  return s;
}

/** Spherical k-means of m unit rows (X: m * d): k-means++ starts, the best of `restarts`. */
export function kmeans(X, m, d, k, seed = 1, restarts = 3, iters = 30) {
  const rand = rng(seed);
  let best = null, bestFit = -Infinity;
  for (let r = 0; r < restarts; r++) {
    const C = new Float32Array(k * d), far = new Float32Array(m).fill(Infinity);
    let pick = Math.floor(rand() * m);
    for (let j = 0; j < k; j++) {
      C.set(X.subarray(pick * d, pick * d + d), j * d);
      let total = 0;
      for (let i = 0; i < m; i++) { far[i] = Math.min(far[i], Math.max(0, 1 - dot(X, i, C, j, d)) ** 2); total += far[i]; }
      let u = rand() * total;
      pick = 0;
      for (let i = 0; i < m; i++) { u -= far[i]; if (u <= 0) { pick = i; break; } }
    }
    const lab = new Int32Array(m).fill(-1);
    for (let it = 0; it < iters; it++) {
      let moved = false;
      for (let i = 0; i < m; i++) {
        let bj = 0, bs = -Infinity;
        for (let j = 0; j < k; j++) { const s = dot(X, i, C, j, d); if (s > bs) { bs = s; bj = j; } }
        if (lab[i] !== bj) { lab[i] = bj; moved = true; }
      }
      if (!moved) break;
      C.fill(0);
      for (let i = 0; i < m; i++) for (let t = 0; t < d; t++) C[lab[i] * d + t] += X[i * d + t];
      for (let j = 0; j < k; j++) {
        let n = 0;
        for (let t = 0; t < d; t++) n += C[j * d + t] ** 2;
        n = Math.sqrt(n) || 1;
        for (let t = 0; t < d; t++) C[j * d + t] /= n;
      }
    }
    let fit = 0;
    for (let i = 0; i < m; i++) fit += dot(X, i, C, lab[i], d);
    if (fit > bestFit) { bestFit = fit; best = lab; }
  }
  return best;
}

/** Mean silhouette with cosine distance; singletons count 0 (as seeen_ext/find.py). */
export function silhouette(X, m, d, lab, k) {
  const counts = new Float64Array(k);
  for (let i = 0; i < m; i++) counts[lab[i]]++;
  if (counts.filter((c) => c > 0).length < 2) return -1;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    sums.fill(0);
    for (let o = 0; o < m; o++) if (o !== i) sums[lab[o]] += 1 - dot(X, i, X, o, d);
    const own = counts[lab[i]];
    if (own < 2) continue;
    const a = sums[lab[i]] / (own - 1);
    let b = Infinity;
    for (let j = 0; j < k; j++) if (j !== lab[i] && counts[j] > 0) b = Math.min(b, sums[j] / counts[j]);
    total += (b - a) / Math.max(a, b, 1e-12);
  }
  return total / m;
}

/** The similarity threshold with the best F1 when `pos` should pass and `neg` should not; midway
 * to the next lower score (seeen_ext/recognize.py choose_threshold, the same rule). */
export function chooseThreshold(pos, neg) {
  if (!pos.length) return null;
  const P = [...pos].sort((a, b) => b - a), N = [...neg].sort((a, b) => b - a);
  const cands = [...new Set([...P, ...N])].sort((a, b) => b - a);
  let best = 0, bestF1 = -1, tp = 0, fp = 0;
  cands.forEach((c, j) => {
    while (tp < P.length && P[tp] >= c) tp++;
    while (fp < N.length && N[fp] >= c) fp++;
    const f1 = (2 * tp) / Math.max(1, 2 * tp + fp + (P.length - tp));
    if (f1 > bestF1) { bestF1 = f1; best = j; }
  });
  const cut = cands[best];
  return best + 1 < cands.length ? (cut + cands[best + 1]) / 2 : cut - 0.05;
}

export class Finder {
  constructor(app) {
    this.app = app;
    this.vectors = null; // Float32Array n * dim, loaded on first use
    this.dim = 0;
    this.loading = null;
    this.cents = null; // {keys, rows, C}: each group's centroid, until a split or merge moves items
    app.store.on('annotations', ({ events, source }) => {
      if (source === 'snapshot' || events.some((e) => e.type === 'split' || e.type === 'merge')) this.cents = null;
    });
  }

  get served() { return !!(this.app.saver && this.app.saver.mode === 'server'); }

  async post(path, body) {
    const headers = { 'Content-Type': 'application/json', 'X-Requested-With': 'pixplot' };
    if (this.app.saver.token) headers['X-Pixplot-Token'] = this.app.saver.token;
    const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
    const out = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(out.error || `HTTP ${res.status}`);
    return out;
  }

  ids(indices) { return indices.map((i) => this.app.store.ids[i]); }
  rows(ids) { return this.app.store.indices(ids); }

  /** The compact vectors as float32, fetched once. */
  async loadVectors() {
    if (this.vectors) return this.vectors;
    const entry = this.app.manifest.vectors;
    if (!entry) throw new Error(`this bundle has no compact vectors (built before they existed): rebuild it, or ${NEEDS_SERVER}`);
    if (!this.loading) {
      this.loading = (async () => {
        const res = await fetch(DATA + entry.file);
        if (!res.ok) throw new Error(`data/${entry.file}: HTTP ${res.status}`);
        const half = new Uint16Array(await res.arrayBuffer());
        const n = this.app.n, dim = entry.dim;
        if (half.length !== n * dim) throw new Error(`data/${entry.file}: ${half.length} values for ${n} items of ${dim} dimensions; rebuild the bundle`);
        const table = halfTable(), out = new Float32Array(half.length);
        for (let j = 0; j < half.length; j++) out[j] = table[half[j]];
        this.dim = dim;
        this.vectors = out;
        return out;
      })();
      this.loading.catch(() => { this.loading = null; });
    }
    return this.loading;
  }

  centroid(rows) {
    const V = this.vectors, d = this.dim, c = new Float32Array(d);
    for (const i of rows) for (let j = 0; j < d; j++) c[j] += V[i * d + j];
    let norm = 0;
    for (let j = 0; j < d; j++) norm += c[j] * c[j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) c[j] /= norm;
    return c;
  }

  /** Local search: cosine of every item to `q`; returns the k best not in `skipRows`. */
  searchLocal(q, k, skipRows = []) {
    const t0 = performance.now();
    const V = this.vectors, d = this.dim, n = this.app.n, scores = new Float32Array(n);
    for (let i = 0, o = 0; i < n; i++, o += d) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0; // four sums: the JIT keeps them in registers
      for (; j + 3 < d; j += 4) {
        s0 += V[o + j] * q[j]; s1 += V[o + j + 1] * q[j + 1];
        s2 += V[o + j + 2] * q[j + 2]; s3 += V[o + j + 3] * q[j + 3];
      }
      for (; j < d; j++) s0 += V[o + j] * q[j];
      scores[i] = s0 + s1 + s2 + s3;
    }
    let skip = null;
    if (skipRows.length) { skip = new Uint8Array(n); for (const i of skipRows) skip[i] = 1; }
    const out = topK(scores, k, skip);
    this.lastMs = performance.now() - t0;
    return out;
  }

  /** More like these rows: [{i, score}], best first, the rows themselves left out. */
  async neighbours(rows, k = 24) {
    if (!rows.length) throw new Error('Select an item (or open a cluster) first.');
    if (this.served) {
      const t0 = performance.now();
      const got = await this.post('api/neighbors', { items: this.ids(rows), k });
      this.lastMs = performance.now() - t0;
      const idx = this.rows(got.neighbors.map((n) => n.id));
      return got.neighbors.map((n, j) => ({ i: idx[j], score: n.score }));
    }
    await this.loadVectors();
    return this.searchLocal(this.centroid(rows), k, rows);
  }

  async text(query, k = 48) {
    if (!this.served) throw new Error(`Text search ${NEEDS_SERVER} (and a bundle built with a CLIP-family embedder).`);
    const got = await this.post('api/search/text', { text: query, k });
    const idx = this.rows(got.results.map((n) => n.id));
    return got.results.map((n, j) => ({ i: idx[j], score: n.score }));
  }

  async split(rows, k = null) {
    if (rows.length < 4) throw new Error(`Cannot split ${rows.length} item${rows.length === 1 ? '' : 's'}: a split needs at least 4; label or exclude them one by one.`);
    if (this.served) {
      const body = { items: this.ids(rows) };
      if (k) body.k = k;
      const got = await this.post('api/split', body);
      return got.groups.map((g) => ({ rows: this.rows(g.items), cohesion: g.cohesion }));
    }
    return this.splitLocal(rows, k);
  }

  /** Split on the compact vectors, as the server does on the full ones: spherical k-means, k from
   * 2 to 8 by the silhouette of (up to 400 of) the members. */
  async splitLocal(rows, k = null) {
    await this.loadVectors();
    const d = this.dim, m = rows.length, X = new Float32Array(m * d);
    rows.forEach((i, r) => X.set(this.vectors.subarray(i * d, i * d + d), r * d));
    if (!k) {
      const ms = Math.min(m, 400), S = ms === m ? X : new Float32Array(ms * d);
      if (ms < m) for (let r = 0; r < ms; r++) { const src = Math.floor(r * m / ms); S.set(X.subarray(src * d, src * d + d), r * d); }
      let bestScore = -2;
      for (let kk = 2; kk <= Math.min(8, Math.floor(ms / 2)); kk++) {
        const score = silhouette(S, ms, d, kmeans(S, ms, d, kk, 1, 2), kk);
        if (score > bestScore + 1e-9) { bestScore = score; k = kk; }
      }
    }
    const lab = kmeans(X, m, d, k);
    const groups = [];
    for (let j = 0; j < k; j++) {
      const g = rows.filter((_, r) => lab[r] === j);
      if (!g.length) continue;
      const c = this.centroid(g);
      let coh = 0;
      for (const i of g) for (let t = 0; t < d; t++) coh += this.vectors[i * d + t] * c[t];
      groups.push({ rows: g, cohesion: coh / g.length });
    }
    return groups.sort((a, b) => b.rows.length - a.rows.length || a.rows[0] - b.rows[0]);
  }

  /** Groups of the current clustering as splits and merges left them: key -> [rows]. */
  groupRows() {
    const app = this.app, st = app.store, out = new Map();
    for (let i = 0; i < app.n; i++) {
      const key = st.groupOf.has(i) ? st.groupOf.get(i) : String(app.clusterOf[i]);
      if (key === '-1') continue;
      if (!out.has(key)) out.set(key, []);
      out.get(key).push(i);
    }
    return out;
  }

  /** Every group's rows and unit centroid, computed once per grouping (one pass over the vectors). */
  groupCentroids() {
    if (this.cents) return this.cents;
    const groups = this.groupRows(), keys = [...groups.keys()], d = this.dim;
    const C = new Float32Array(keys.length * d);
    keys.forEach((key, g) => C.set(this.centroid(groups.get(key)), g * d));
    this.cents = { keys, rows: groups, C };
    return this.cents;
  }

  /** Clusters whose centroid is nearest: [{key, score, rows}], best first, `key` left out. */
  async similar({ key = null, rows = [] }, k = 8) {
    if (this.served) {
      const got = await this.post('api/similar-clusters', key !== null ? { cluster: key, k } : { items: this.ids(rows), k });
      return got.clusters.map((c) => ({ key: c.cluster, score: c.score, rows: this.rows(c.items) }));
    }
    await this.loadVectors();
    const { keys, rows: groups, C } = this.groupCentroids(), d = this.dim;
    const q = key !== null && groups.has(key) ? C.subarray(keys.indexOf(key) * d, (keys.indexOf(key) + 1) * d) : this.centroid(rows);
    const out = [];
    keys.forEach((g, j) => {
      if (g === key) return;
      let s = 0;
      for (let t = 0; t < d; t++) s += C[j * d + t] * q[t];
      out.push({ key: g, score: s, rows: groups.get(g) });
    });
    out.sort((a, b) => b.score - a.score);
    return out.slice(0, k);
  }

  /** Suggestions on the compact vectors, as the server makes them on the full ones: the nearest
   * labelled, non-excluded item's label when above a threshold calibrated by leave-one-out on the
   * labelled items. Candidates: excluded, then noise, then the rest, as many as keep one request
   * near a second (candidates x labelled items <= 5e7). */
  async suggestLocal(k = 5) {
    await this.loadVectors();
    const app = this.app, st = app.store, d = this.dim, V = this.vectors, n = app.n;
    const gal = [];
    for (let i = 0; i < n; i++) if (st.labelOf[i] >= 0 && !st.excluded[i]) gal.push(i);
    if (!gal.length) throw new Error('No labelled items yet: label a cluster or two, then ask for suggestions.');
    const g = gal.length, G = new Float32Array(g * d), lab = new Int32Array(g);
    gal.forEach((i, r) => { G.set(V.subarray(i * d, i * d + d), r * d); lab[r] = st.labelOf[i]; });
    const scoresOf = (q, off) => {
      const out = new Float32Array(g);
      for (let r = 0; r < g; r++) { let s = 0; for (let t = 0; t < d; t++) s += G[r * d + t] * q[off + t]; out[r] = s; }
      return out;
    };
    const pos = [], neg = [], step = Math.max(1, Math.floor(g / 300));
    for (let r = 0; r < g; r += step) {
      const sc = scoresOf(G, r * d);
      let bs = -Infinity, bd = -Infinity;
      for (let o = 0; o < g; o++) {
        if (o === r) continue;
        if (lab[o] === lab[r]) bs = Math.max(bs, sc[o]); else bd = Math.max(bd, sc[o]);
      }
      if (bs > -Infinity) pos.push(bs);
      if (bd > -Infinity) neg.push(bd);
    }
    const threshold = chooseThreshold(pos, neg);
    if (threshold === null) throw new Error('Suggestions need a calibrated threshold: label a second item of some label.');
    const rank = (i) => (st.excluded[i] ? 0 : app.clusterOf[i] < 0 ? 1 : 2);
    const cands = [];
    for (let i = 0; i < n; i++) if (st.labelOf[i] < 0) cands.push(i);
    cands.sort((a, b) => rank(a) - rank(b) || a - b);
    const take = cands.slice(0, Math.max(1, Math.min(20000, Math.floor(5e7 / g))));
    const groups = new Map();
    let unknown = 0;
    for (const i of take) {
      const top = topK(scoresOf(V, i * d), k);
      const best = top[0];
      if (!best || best.score < threshold) { unknown++; continue; }
      const name = st.labelNames[lab[best.i]];
      const agree = top.filter((t) => lab[t.i] === lab[best.i]).length / top.length;
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push({ id: st.ids[i], i, score: best.score, agree, neighbour: st.ids[gal[best.i]] });
    }
    const out = [...groups.entries()].map(([label, items]) => ({ label, count: items.length,
      items: items.sort((a, b) => b.score - a.score || b.agree - a.agree || a.i - b.i) }));
    const mean = (grp) => grp.items.reduce((s, x) => s + x.score, 0) / grp.items.length;
    out.sort((a, b) => mean(b) - mean(a) || a.label.localeCompare(b.label));
    return { threshold, threshold_source: 'auto', gallery: g, candidates: take.length, candidates_total: cands.length,
      unknown, groups: out };
  }

  async suggestions() {
    if (!this.served) return this.suggestLocal();
    const got = await this.post('api/suggestions', { limit: 5000 });
    return { ...got, groups: got.groups.map((g) => ({ label: g.label, count: g.count,
      items: g.items.map((s) => ({ ...s, i: this.app.store.index.get(s.id) })) })) };
  }
}
