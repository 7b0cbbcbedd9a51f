// Labels panel: every label with its count; select its items, rename (to an existing name: merge) or delete.

import { clear, h } from '../dom.js';

export function mountLabels(el, app) {
  const store = app.store;
  const totals = h('div', { className: 'muted' });
  const list = h('ul', { className: 'labels' });
  el.append(totals, list);

  function editor(row, name) {
    const input = h('input', { type: 'text', value: name, className: 'rename', attrs: { list: 'label-names' } });
    const note = h('span', { className: 'muted' });
    const commit = () => {
      const to = input.value.trim();
      if (to && to !== name) app.renameLabel(name, to);
      else render();
    };
    input.addEventListener('input', () => {
      const to = input.value.trim();
      note.textContent = to !== name && store.labels().some((l) => l.name === to) ? `merges into “${to}”` : '';
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); commit(); }
      if (e.key === 'Escape') { e.preventDefault(); render(); }
    });
    clear(row).append(input, h('button', { type: 'button', onclick: commit }, 'Rename'), note);
    input.focus();
    input.select();
  }

  function render() {
    clear(list);
    const labels = store.labels();
    let labelled = 0;
    for (const l of labels) labelled += l.count;
    totals.textContent = `${labels.length} labels · ${labelled} labelled · ${store.excludedCount} excluded`;
    for (const l of labels) {
      const row = h('li', { className: 'label-row' });
      row.append(
        h('span', { className: 'swatch', style: { background: app.labelColor(l.name) } }),
        h('button', { type: 'button', className: 'link name', title: 'Select these items',
          onclick: () => app.selectLabel(l.name) }, l.name),
        h('span', { className: 'muted' }, String(l.count)),
        h('button', { type: 'button', title: 'Rename, or merge into another label', onclick: () => editor(row, l.name) }, 'Rename'),
        h('button', { type: 'button', title: 'Remove this label from its items', onclick: () => app.deleteLabel(l.name) }, 'Delete'));
      list.append(row);
    }
    if (!labels.length) list.append(h('li', { className: 'muted' }, 'No labels yet: select items, press t, type a name.'));
  }

  store.on('annotations', render);
  render();
}
