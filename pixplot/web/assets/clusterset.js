// The clusters of one clustering: members grouped from the per-item .i32 labels, the summary from
// the clustering's JSON (cohesion, representative), and how much of each is left to label.

export class ClusterSet {
  /** @param {Int32Array} clusterOf cluster per item (-1 = noise); @param summary from the worker */
  constructor(clusterOf, summary) {
    const n = clusterOf.length;
    let k = 0;
    for (let i = 0; i < n; i++) if (clusterOf[i] + 1 > k) k = clusterOf[i] + 1;
    // Counting sort by cluster: slot 0 is noise, slot c + 1 is cluster c.
    const start = new Int32Array(k + 2);
    for (let i = 0; i < n; i++) start[clusterOf[i] + 2]++;
    for (let c = 0; c < k + 1; c++) start[c + 1] += start[c];
    const fill = start.slice();
    const members = new Int32Array(n);
    for (let i = 0; i < n; i++) members[fill[clusterOf[i] + 1]++] = i;
    const byId = new Map(summary.clusters.map((c) => [c.id, c]));
    this.noise = members.subarray(start[0], start[1]);
    this.list = [];
    for (let c = 0; c < k; c++) {
      const s = byId.get(c) || {};
      const mem = members.subarray(start[c + 1], start[c + 2]);
      const rep = s.representative ?? -1;
      this.list.push({ id: c, name: s.name ?? null, size: mem.length, cohesion: s.cohesion ?? null, members: mem,
        representative: rep >= 0 ? rep : mem.length ? mem[0] : -1, unlabelled: mem.length, mainLabel: null });
    }
  }

  members(c) {
    return c < 0 ? this.noise : this.list[c] ? this.list[c].members : [];
  }

  /** Per cluster: members left to label (not excluded, no label) and the most common label. */
  updateStats(store) {
    const { labelOf, excluded } = store;
    for (const cl of this.list) {
      let todo = 0;
      const counts = new Map();
      for (const i of cl.members) {
        if (excluded[i]) continue;
        if (labelOf[i] < 0) todo++;
        else counts.set(labelOf[i], (counts.get(labelOf[i]) || 0) + 1);
      }
      cl.unlabelled = todo;
      let best = -1, bestN = 0;
      for (const [l, c] of counts) if (c > bestN) { best = l; bestN = c; }
      cl.mainLabel = best >= 0 ? store.labelNames[best] : null;
    }
  }

  /** Cluster ids in panel order: 'size' (as stored), 'cohesion', 'loose' or 'todo' (unlabelled first). */
  order(sort = 'size') {
    const ids = this.list.map((c) => c.id);
    const coh = (c) => (this.list[c].cohesion ?? 0);
    if (sort === 'cohesion') ids.sort((a, b) => coh(b) - coh(a));
    else if (sort === 'loose') ids.sort((a, b) => coh(a) - coh(b));
    else if (sort === 'todo') ids.sort((a, b) => (this.list[b].unlabelled > 0) - (this.list[a].unlabelled > 0) || a - b);
    return ids;
  }
}
