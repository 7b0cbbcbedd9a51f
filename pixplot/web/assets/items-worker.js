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
  return { ids, cells, thumbs, categories };
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
          cohesion: x.cohesion ?? null })),
        noise: (c.noise || []).length,
      };
    }
    self.postMessage({ seq, result });
  } catch (err) {
    self.postMessage({ seq, error: String(err.message || err) });
  }
};
