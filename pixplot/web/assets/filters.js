// Search and facet filters over metadata and annotations. Pure functions: the app keeps the filter
// and pushes the result to the map (non-matching items dim). Within a facet the chosen values are
// alternatives (any of them); facets, the text and the year range all have to hold.

/** The empty filter: matches everything. */
export function emptyFilter() {
  return { text: '', category: [], tags: [], metaLabel: [], label: [], cluster: [], status: [], years: null };
}

const LISTS = ['category', 'tags', 'metaLabel', 'label', 'cluster', 'status'];

export function isActive(f) {
  return !!(f && (f.text || f.years || LISTS.some((k) => f[k] && f[k].length)));
}

/** Annotation labels holding `query` (literal, case-insensitive): a Set of label codes. */
export function labelsContaining(store, query) {
  const q = query.toLowerCase();
  const out = new Set();
  store.labelNames.forEach((name, k) => { if (name.toLowerCase().includes(q)) out.add(k); });
  return out;
}

/**
 * The items the filter keeps, as a Uint8Array of 0/1, or null when the filter is empty.
 * `ctx`: {n, facets (the worker's facet columns), store, clusterOf, textMask (the worker's search
 * result for f.text, or null while it is pending)}.
 */
export function matchMask(ctx, f) {
  if (!isActive(f)) return null;
  const { n, facets, store, clusterOf } = ctx;
  const keep = new Uint8Array(n).fill(1);
  const narrow = (test) => { for (let i = 0; i < n; i++) if (keep[i] && !test(i)) keep[i] = 0; };
  if (f.text) {
    const tm = ctx.textMask;
    const labs = labelsContaining(store, f.text);
    narrow((i) => (tm && tm[i] === 1) || labs.has(store.labelOf[i]));
  }
  const codeFacet = (col, chosen) => {
    if (!chosen.length) return;
    if (!col) { keep.fill(0); return; }
    const want = new Set(chosen.map((v) => col.values.indexOf(v)).filter((k) => k >= 0));
    narrow((i) => want.has(col.codes[i]));
  };
  codeFacet(facets && facets.category, f.category);
  codeFacet(facets && facets.metaLabel, f.metaLabel);
  if (f.tags.length) {
    const col = facets && facets.tags;
    if (!col) keep.fill(0); else {
      const want = new Set(f.tags.map((v) => col.values.indexOf(v)).filter((k) => k >= 0));
      narrow((i) => { for (let j = col.offsets[i]; j < col.offsets[i + 1]; j++) if (want.has(col.codes[j])) return true; return false; });
    }
  }
  if (f.label.length) {
    const want = new Set(f.label.map((v) => store.labelIds.get(v)).filter((k) => k !== undefined));
    narrow((i) => want.has(store.labelOf[i]));
  }
  if (f.cluster.length) {
    const want = new Set(f.cluster.map(Number));
    narrow((i) => want.has(clusterOf[i]));
  }
  if (f.status.length) {
    const ex = f.status.includes('excluded'), un = f.status.includes('unlabelled');
    narrow((i) => (ex && store.excluded[i] === 1) || (un && store.labelOf[i] < 0));
  }
  if (f.years) {
    const ys = facets && facets.years;
    const [lo, hi] = f.years;
    if (!ys) keep.fill(0); else narrow((i) => ys[i] !== 0 && ys[i] >= lo && ys[i] <= hi);
  }
  return keep;
}

/** Counts per value of a code column ({values, codes}): [[value, count], ...], largest first. */
export function codeCounts(col) {
  if (!col) return [];
  const counts = new Int32Array(col.values.length);
  for (const k of col.codes) if (k >= 0) counts[k]++;
  return col.values.map((v, k) => [v, counts[k]]).sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
}

/** The years' range present: [min, max], or null. */
export function yearRange(years) {
  if (!years) return null;
  let lo = Infinity, hi = -Infinity;
  for (const y of years) if (y) { if (y < lo) lo = y; if (y > hi) hi = y; }
  return Number.isFinite(lo) ? [lo, hi] : null;
}
