// Clusters panel: each cluster with its size, a preview mosaic, cohesion and a done mark.
// Clicking one flies to it and selects it.

import { clear, h } from '../dom.js';
import { cellSprite } from '../thumbs.js';

const MAX_ROWS = 2000;

export function mountClusters(el, app) {
  const sort = h('select', { title: 'Sort clusters', onchange: () => { app.store.setView({ clusterSort: sort.value }); } },
    h('option', { value: 'size' }, 'Largest first'),
    h('option', { value: 'cohesion' }, 'Most cohesive first'),
    h('option', { value: 'loose' }, 'Least cohesive first'),
    h('option', { value: 'todo' }, 'Unlabelled first'));
  const summary = h('span', { className: 'muted' });
  const list = h('ol', { className: 'clusters' });
  el.append(h('div', { className: 'panel-head' }, sort, summary), list);
  const rows = new Map();

  function build() {
    clear(list);
    rows.clear();
    const order = app.clusterOrder();
    for (const c of order.slice(0, MAX_ROWS)) {
      const cl = app.clusters[c];
      const mosaic = h('div', { className: 'mosaic' });
      const picks = [cl.representative, ...Array.from(cl.members.slice(0, 4))]
        .filter((v, k, arr) => v >= 0 && arr.indexOf(v) === k).slice(0, 4);
      for (const i of picks) mosaic.append(cellSprite(app, i, 24));
      const status = h('span', { className: 'status' });
      const row = h('li', { className: 'cluster', tabIndex: -1, dataset: { cluster: String(c) },
        onclick: () => app.openCluster(c) },
      mosaic,
      h('div', { className: 'info' },
        h('div', { className: 'name' }, cl.name ? `${cl.name}` : `Cluster ${cl.id}`),  // --clusters-from names them
        h('div', { className: 'muted' }, `${cl.size} items`,
          cl.cohesion === null || cl.cohesion === undefined ? '' : ` · cohesion ${Number(cl.cohesion).toFixed(2)}`),
        status));
      rows.set(c, { row, status });
      list.append(row);
    }
    if (order.length > MAX_ROWS) list.append(h('li', { className: 'muted' }, `${order.length - MAX_ROWS} more clusters (use n / p)`));
    if (app.noise.length) {
      list.append(h('li', { className: 'cluster noise', onclick: () => app.openCluster(-1) },
        h('div', { className: 'info' }, h('div', { className: 'name' }, 'Noise'),
          h('div', { className: 'muted' }, `${app.noise.length} items in no cluster`))));
    }
    marks();
  }

  function marks() {
    let done = 0;
    for (const [c, { row, status }] of rows) {
      const cl = app.clusters[c];
      const isDone = cl.unlabelled === 0;
      if (isDone) done++;
      row.classList.toggle('done', isDone);
      row.classList.toggle('current', app.store.view.cluster === c);
      status.textContent = isDone ? `✓ ${cl.mainLabel ?? 'done'}` : `${cl.unlabelled} unlabelled`;
    }
    summary.textContent = `${done} of ${app.clusters.length} done`;
  }

  app.store.on('view', (patch) => {
    if ('clusterSort' in patch) build();
    if ('cluster' in patch) {
      marks();
      const r = rows.get(app.store.view.cluster);
      if (r) r.row.scrollIntoView({ block: 'nearest' });
    }
  });
  app.on('clusters', build);
  app.on('clusterStats', marks);
  build();
}
