// Parses items.json off the main thread and hands back compact columns; keeps the records for detail views.

let items = [];

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
      const res = await fetch(e.data.url);
      if (!res.ok) throw new Error(`${e.data.url}: HTTP ${res.status}`);
      items = (await res.json()).items;
      result = columns(e.data.fields);
      self.postMessage({ seq, result }, [result.cells.buffer,
        ...Object.values(result.categories).map((c) => c.codes.buffer)]);
      return;
    }
    if (type === 'records') result = e.data.indices.map((i) => items[i] || null);
    if (type === 'clusters') {
      const res = await fetch(e.data.url);
      if (!res.ok) throw new Error(`${e.data.url}: HTTP ${res.status}`);
      const c = await res.json();
      result = {
        clusters: c.clusters.map((x) => ({ id: x.id, size: x.size, representative: x.representative,
          cohesion: x.cohesion ?? null })),
        noise: (c.noise || []).length,
      };
    }
    self.postMessage({ seq, result });
  } catch (err) {
    self.postMessage({ seq, error: String(err.message || err) });
  }
};
