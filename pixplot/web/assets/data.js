// Reads the bundle (docs/bundle.md). The map paints from the binary layout and cluster files alone;
// items.json and the clusterings' JSON are parsed in a worker so a million records never block the page.

export const DATA = 'data/';

async function fetchOk(url, what) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${what} could not be read (HTTP ${res.status}); rebuild the bundle`);
  return res;
}

let served = false;

/** Whether `pixplot serve` delivered the bundle (its files carry `X-Pixplot-Serve`): only then is
 * there an annotation API to ask, so a static bundle never probes one (no 404 in the console). */
export function servedByPixplot() {
  return served;
}

export async function loadManifest() {
  const res = await fetchOk(DATA + 'manifest.json', 'the manifest');
  served = res.headers.get('X-Pixplot-Serve') === '1';
  const m = await res.json();
  if (m.format !== 'pixplot-bundle') throw new Error('data/manifest.json: not a pixplot bundle');
  return m;
}

/** Float32 x,y pairs in item order. */
export async function loadLayout(manifest, name) {
  const lay = manifest.layouts.find((l) => l.name === name);
  if (!lay) throw new Error(`data/manifest.json: no layout ${name}`);
  const buf = await (await fetchOk(DATA + lay.file, `layout ${name}`)).arrayBuffer();
  const xy = new Float32Array(buf);
  if (xy.length !== 2 * manifest.counts.items) {
    throw new Error(`data/${lay.file}: holds ${xy.length / 2} points, the manifest says ${manifest.counts.items}; rebuild the bundle`);
  }
  return xy;
}

/** Int32 cluster index per item (-1 = noise). */
export async function loadClusterLabels(manifest, name) {
  const c = manifest.clusterings.find((x) => x.name === name);
  if (!c) throw new Error(`data/manifest.json: no clustering ${name}`);
  const buf = await (await fetchOk(DATA + c.labels, `clustering ${name}`)).arrayBuffer();
  const lab = new Int32Array(buf);
  if (lab.length !== manifest.counts.items) {
    throw new Error(`data/${c.labels}: holds ${lab.length} labels, the manifest says ${manifest.counts.items}; rebuild the bundle`);
  }
  return lab;
}

/** The worker that owns items.json: columns come back once, full records on request. */
export class ItemsSource {
  constructor(manifest) {
    this.worker = new Worker(new URL('./items-worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.seq = 0;
    this.worker.onmessage = (e) => {
      const p = this.pending.get(e.data.seq);
      if (!p) return;
      this.pending.delete(e.data.seq);
      if (e.data.error) p.reject(new Error(e.data.error));
      else p.resolve(e.data.result);
    };
    this.columns = this.call('items', { url: new URL(DATA + manifest.items, location.href).href,
      fields: manifest.metadata_fields || [] });
  }

  call(type, args) {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, type, ...args });
    });
  }

  /** Full item records for these indices. */
  records(indices) {
    return this.call('records', { indices: Array.from(indices) });
  }

  /** Items whose file name, description, tags, category or metadata label hold `query` (literal,
   * case-insensitive): {mask: Uint8Array, ms}. */
  search(query) {
    return this.call('search', { query });
  }

  /** Cluster summaries (id, size, representative, cohesion) of one clustering, members dropped. */
  clusters(manifest, name) {
    const c = manifest.clusterings.find((x) => x.name === name);
    return this.call('clusters', { url: new URL(DATA + c.file, location.href).href });
  }
}
