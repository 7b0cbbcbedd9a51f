// Parses items.json off the main thread and hands back compact columns; keeps the records for detail views.

let items = [];
let itemsReady;
const itemsLoaded = new Promise((resolve) => { itemsReady = resolve; });

function columns(fields) {
  const n = items.length;
  const ids = new Array(n);
  const cells = new Uint16Array(2 * n);
  let customThumbs = false;
  for (let i = 0; i < n; i++) {
    const it = items[i];
    ids[i] = it.id;
    const c = it.cell || [0, 0];
    cells[2 * i] = c[0];
    cells[2 * i + 1] = c[1];
    if (it.thumb !== `thumbs/${it.id}.jpg`) customThumbs = true;
  }
  const thumbs = customThumbs ? items.map((it) => it.thumb || null) : null;
  // Metadata fields with few distinct scalar values can colour the map.
  const categories = {};
  for (const f of fields) {
    const values = new Map();
    const codes = new Int32Array(n);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      let v = items[i].meta ? items[i].meta[f] : undefined;
      if (v === undefined || v === null || v === '') { codes[i] = -1; continue; }
      if (typeof v === 'object') { ok = false; break; }
      v = String(v);
      let code = values.get(v);
      if (code === undefined) {
        if (values.size >= 64) { ok = false; break; }
        code = values.size;
        values.set(v, code);
      }
      codes[i] = code;
    }
    if (ok && values.size > 0) categories[f] = { values: [...values.keys()], codes };
  }
  return { ids, cells, thumbs, categories, facets: facetColumns() };
}

const FACET_VALUES = 5000; // a field with more distinct values is searched, not listed
const YEAR = /(?:^|[^0-9])([12][0-9]{3})(?:[^0-9]|$)/;

/** One field's values as codes per item (-1: none); tags may hold several values per item. */
function facetColumns() {
  const n = items.length;
  const single = (key) => {
    const values = new Map();
    const codes = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const v = items[i].meta ? items[i].meta[key] : undefined;
      if (v === undefined || v === null || v === '' || typeof v === 'object') continue;
      const s = String(v);
      let c = values.get(s);
      if (c === undefined) {
        if (values.size >= FACET_VALUES) return null;
        c = values.size;
        values.set(s, c);
      }
      codes[i] = c;
    }
    return values.size ? { values: [...values.keys()], codes } : null;
  };
  const tags = () => {
    const values = new Map();
    const offsets = new Int32Array(n + 1);
    const codes = [];
    for (let i = 0; i < n; i++) {
      let t = items[i].meta ? items[i].meta.tags : undefined;
      if (typeof t === 'string') t = t.split('|');
      for (const raw of Array.isArray(t) ? t : []) {
        const s = String(raw).trim();
        if (!s) continue;
        let c = values.get(s);
        if (c === undefined) {
          if (values.size >= FACET_VALUES) return null;
          c = values.size;
          values.set(s, c);
        }
        codes.push(c);
      }
      offsets[i + 1] = codes.length;
    }
    return values.size ? { values: [...values.keys()], offsets, codes: Int32Array.from(codes) } : null;
  };
  // A year from `year`, `date` or `datetime` (the first four-digit number from 1000 to 2999).
  const years = new Int16Array(n);
  let anyYear = false;
  for (let i = 0; i < n; i++) {
    const m = items[i].meta;
    if (!m) continue;
    const v = m.year ?? m.date ?? m.datetime;
    if (v === undefined || v === null) continue;
    const hit = YEAR.exec(String(v));
    if (hit) { years[i] = Number(hit[1]); anyYear = true; }
  }
  return { category: single('category'), metaLabel: single('label'), tags: tags(), years: anyYear ? years : null };
}

let haystack = null;

/** Lower-cased searchable text per item: file name and path, description, tags, category, label. */
function searchText(it) {
  const m = it.meta || {};
  const tags = Array.isArray(m.tags) ? m.tags.join('\n') : (m.tags ?? '');
  return [it.source ?? '', m.filename ?? '', m.description ?? '', tags, m.category ?? '', m.label ?? '']
    .join('\n').toLowerCase();
}

/** Items whose text holds `query` as a literal substring (case-insensitive): a mask of 0/1. */
function search(query) {
  const q = String(query).toLowerCase();
  if (!haystack) haystack = items.map(searchText);
  const mask = new Uint8Array(haystack.length);
  for (let i = 0; i < haystack.length; i++) if (haystack[i].includes(q)) mask[i] = 1;
  return mask;
}

self.onmessage = async (e) => {
  const { seq, type } = e.data;
  try {
    let result;
    if (type === 'items') {
      const t0 = performance.now();
      const res = await fetch(e.data.url);
      if (!res.ok) throw new Error(`${e.data.url}: HTTP ${res.status}`);
      const text = await res.text();
      const t1 = performance.now();
      items = JSON.parse(text).items;
      itemsReady();
      const t2 = performance.now();
      result = columns(e.data.fields);
      result.timings = { fetchMs: t1 - t0, parseMs: t2 - t1, columnsMs: performance.now() - t2 };
      self.postMessage({ seq, result }, [result.cells.buffer,
        ...Object.values(result.categories).map((c) => c.codes.buffer)]);
      // The search text, while the page is idle: the first search is then as quick as the next.
      setTimeout(() => { if (!haystack) haystack = items.map(searchText); }, 0);
      return;
    }
    if (type === 'search') {
      await itemsLoaded;
      const t0 = performance.now();
      const mask = search(e.data.query);
      self.postMessage({ seq, result: { mask, ms: performance.now() - t0 } }, [mask.buffer]);
      return;
    }
    if (type === 'records') result = e.data.indices.map((i) => items[i] || null);
    if (type === 'clusters') {
      const res = await fetch(e.data.url);
      if (!res.ok) throw new Error(`${e.data.url}: HTTP ${res.status}`);
      const c = await res.json();
      // Representatives as item indices (found once items.json is in).
      await itemsLoaded;
      const want = new Map(c.clusters.map((x) => [x.representative, -1]));
      for (let i = 0; i < items.length; i++) if (want.has(items[i].id)) want.set(items[i].id, i);
      result = {
        clusters: c.clusters.map((x) => ({ id: x.id, size: x.size, representative: want.get(x.representative) ?? -1,
          cohesion: x.cohesion ?? null, name: typeof x.name === 'string' ? x.name : null })),
        noise: (c.noise || []).length,
      };
    }
    self.postMessage({ seq, result });
  } catch (err) {
    self.postMessage({ seq, error: String(err.message || err) });
  }
};
