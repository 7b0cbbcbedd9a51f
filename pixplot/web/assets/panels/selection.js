// Selection panel: the selected thumbnails, large enough to judge a face; clicking one toggles it.
// Holds the exclude / include / label actions.

import { clear, h } from '../dom.js';
import { thumbElement } from '../thumbs.js';

const MAX_TILES = 400;

export function mountSelection(el, app) {
  const store = app.store;
  const count = h('span', { className: 'count' });
  const btn = (text, title, fn) => h('button', { type: 'button', title, onclick: fn }, text);
  const input = h('input', { type: 'text', id: 'label-input', placeholder: 'Label…', autocomplete: 'off',
    spellcheck: false, attrs: { list: 'label-names' } });
  const datalist = h('datalist', { id: 'label-names' });
  const size = h('input', { type: 'range', min: 48, max: 192, value: 96, title: 'Thumbnail size',
    oninput: () => { grid.style.setProperty('--tile', `${size.value}px`); render(); } });
  const grid = h('div', { className: 'tiles' });
  const more = h('div', { className: 'muted' });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      if (e.shiftKey) app.labelCluster(name); else app.labelSelection(name);
      input.value = '';
      input.blur();
    } else if (e.key === 'Escape') {
      input.blur();
    }
  });
  const form = h('div', { className: 'label-form' }, input, datalist,
    btn('Label selection', 'Enter', () => { const v = input.value.trim(); if (v) { app.labelSelection(v); input.value = ''; } }),
    btn('Label cluster', 'Shift+Enter: the current cluster\'s non-excluded items',
      () => { const v = input.value.trim(); if (v) { app.labelCluster(v); input.value = ''; } }));
  el.append(
    h('div', { className: 'panel-head' }, count, size),
    h('div', { className: 'actions' },
      btn('Exclude', 'x', () => app.excludeSelection()),
      btn('Include', 'i', () => app.includeSelection()),
      btn('Unlabel', 'u', () => app.unlabelSelection()),
      btn('Invert', 'v', () => app.invertSelection()),
      btn('Clear', 'Esc', () => store.clearSelection())),
    form, grid, more);

  let shown = [];
  const tiles = new Map();

  function render() {
    clear(grid);
    tiles.clear();
    for (const i of shown.slice(0, MAX_TILES)) {
      const label = store.labelOfIndex(i);
      const tile = h('button', { type: 'button', className: 'tile', title: `${store.ids[i]} (double-click: details)`,
        onclick: (e) => { e.preventDefault(); store.select([i], 'toggle', 'panel'); },
        ondblclick: () => store.setView({ detail: i }) },
      thumbElement(app, i, Number(size.value) - 4),
      h('span', { className: 'caption' }, label ?? ''));
      tiles.set(i, tile);
      grid.append(tile);
    }
    more.textContent = shown.length > MAX_TILES ? `Showing ${MAX_TILES} of ${shown.length}` : '';
    marks();
  }

  function marks() {
    count.textContent = `${store.selCount} selected`;
    app.setTabCount('selection', store.selCount);
    for (const [i, tile] of tiles) {
      tile.classList.toggle('off', !store.selected[i]);
      tile.classList.toggle('excluded', !!store.excluded[i]);
      tile.querySelector('.caption').textContent = store.labelOfIndex(i) ?? '';
    }
  }

  function refreshNames() {
    clear(datalist);
    for (const l of store.labels()) datalist.append(h('option', { value: l.name }));
  }

  store.on('selection', ({ source }) => {
    if (source === 'panel') { marks(); return; }
    shown = store.selection();
    render();
  });
  store.on('annotations', () => { marks(); refreshNames(); });
  refreshNames();
  shown = store.selection();
  render();
}
