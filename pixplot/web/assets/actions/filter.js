// Search and filter actions of the app (mixed into App): the filter (filters.js) and its result,
// which dims what does not match on the map and becomes the selection in one key.

import { emptyFilter, isActive, matchMask } from '../filters.js';

export const filterActions = {
  /** Change the filter (filters.js fields); the text is searched in the worker. Resolves when the
   * map shows the result. */
  async setFilter(patch) {
    const seq = ++this.filterSeq;
    const next = { ...this.filter, ...patch };
    this.filterPending = true;
    if ('text' in patch && patch.text !== this.filter.text) {
      this.filter = next;
      const t0 = performance.now();
      const res = next.text ? await this.items.search(next.text) : null;
      if (seq !== this.filterSeq) return; // a newer filter superseded this one
      this.textMask = res ? res.mask : null;
      this.timings.searchMs = performance.now() - t0;
    }
    this.filter = next;
    this.applyFilter();
    this.filterPending = false;
  },

  clearFilter() { return this.setFilter(emptyFilter()); },

  /** Recompute which items the filter keeps and dim the others. */
  applyFilter() {
    const t0 = performance.now();
    const ctx = { n: this.n, facets: this.columns && this.columns.facets, store: this.store, clusterOf: this.clusterOf,
      textMask: this.textMask };
    this.filterMask = matchMask(ctx, this.filter);
    let count = this.n;
    if (this.filterMask) { count = 0; for (let i = 0; i < this.n; i++) count += this.filterMask[i]; }
    this.filterCount = count;
    this.timings.filterMs = performance.now() - t0;
    this.scheduleSync({ flags: true });
    this.emit('filter', { active: isActive(this.filter), count });
  },

  /** `s`: the items the filter keeps become the selection. */
  selectFiltered() {
    const m = this.filterMask;
    if (!m) { this.toast('Set a search or a filter first (5, or / to search).'); return; }
    const out = [];
    for (let i = 0; i < this.n; i++) if (m[i] && !this.hidden(i)) out.push(i);
    this.store.select(out, 'replace', 'filter');
    if (out.length) this.showTab('selection');
  },

  focusSearch() {
    this.showTab('filters');
    this.emit('focusSearch');
  },
};
