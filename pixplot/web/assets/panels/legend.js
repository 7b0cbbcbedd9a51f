// The map's legend: what the colours mean in the current "colour by" mode (names as text).

import { cssColor } from '../colors.js';
import { clear, h } from '../dom.js';

const MAX = 12;

export function mountLegend(el, app) {
  const store = app.store;

  function render() {
    clear(el);
    const mode = store.view.colorBy;
    let entries = [];
    if (mode === 'cluster') {
      el.append(h('div', { className: 'muted' }, `Colour: cluster (${app.clusters.length})`));
      return;
    }
    if (mode === 'label') {
      entries = store.labels().map((l) => [l.name, store.labelIds.get(l.name), l.count]);
      entries.push(['unlabelled', -1, null]);
    } else if (mode.startsWith('meta:')) {
      const cat = app.columns.categories[mode.slice(5)];
      const counts = new Map();
      for (const k of cat.codes) counts.set(k, (counts.get(k) || 0) + 1);
      entries = cat.values.map((v, k) => [v, k, counts.get(k) || 0]).sort((a, b) => b[2] - a[2]);
      if (counts.get(-1)) entries.push(['(none)', -1, counts.get(-1)]);
    } else {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    for (const [name, k, count] of entries.slice(0, MAX)) {
      el.append(h('div', { className: 'legend-row' }, h('span', { className: 'swatch', style: { background: cssColor(k) } }),
        h('span', {}, name), count === null ? null : h('span', { className: 'muted' }, ` ${count}`)));
    }
    if (entries.length > MAX) el.append(h('div', { className: 'muted' }, `and ${entries.length - MAX} more`));
  }

  app.on('colors', render);
  store.on('annotations', () => { if (store.view.colorBy === 'label') render(); });
  render();
}
