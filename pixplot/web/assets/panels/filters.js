// Filter panel: literal search over file names, descriptions, tags, categories and labels, and
// facets with counts (category, tags, metadata label, annotation label, cluster, excluded /
// unlabelled, a year range). Items that do not match dim on the map; `s` selects the matches.
// Every value is shown as text (dom.js `h`), never as markup.

import { clear, h } from '../dom.js';
import { codeCounts, yearRange } from '../filters.js';

const MAX_VALUES = 200;

export function mountFilters(el, app) {
  const store = app.store;
  const text = h('input', { type: 'search', id: 'filter-text', placeholder: 'Search names, descriptions, tags, labels…',
    autocomplete: 'off', spellcheck: false, title: 'Literal text, not a pattern (/)' });
  let timer = null;
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => app.setFilter({ text: text.value.trim() }), 150);
  });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); app.setFilter({ text: text.value.trim() }).then(() => app.selectFiltered()); }
    if (e.key === 'Escape') text.blur();
  });
  const summary = h('span', { className: 'muted', id: 'filter-count' });
  const facetsBox = h('div', { className: 'facets' });
  el.append(
    h('div', { className: 'panel-head' }, text),
    h('div', { className: 'actions' }, summary,
      h('button', { type: 'button', id: 'filter-select', title: 'Select the matching items (s)', onclick: () => app.selectFiltered() },
        'Select matches'),
      h('button', { type: 'button', id: 'filter-clear', title: 'Show everything again',
        onclick: () => { text.value = ''; app.clearFilter(); } }, 'Clear')),
    facetsBox);

  const toggle = (key, value, on) => {
    const cur = app.filter[key].filter((v) => v !== value);
    if (on) cur.push(value);
    app.setFilter({ [key]: cur });
  };

  function section(title, key, entries) {
    if (!entries.length) return null;
    const chosen = new Set(app.filter[key].map(String));
    const list = h('ul', { className: 'facet', dataset: { facet: key } });
    for (const [value, label, count] of entries.slice(0, MAX_VALUES)) {
      const box = h('input', { type: 'checkbox', checked: chosen.has(String(value)),
        onchange: () => toggle(key, value, box.checked) });
      checks.push([key, String(value), box]);
      list.append(h('li', {}, h('label', {}, box, ' ', h('span', { className: 'value' }, label), ' ',
        h('span', { className: 'muted' }, String(count)))));
    }
    if (entries.length > MAX_VALUES) list.append(h('li', { className: 'muted' }, `${entries.length - MAX_VALUES} more: use the search`));
    return h('section', {}, h('h3', {}, title), list);
  }

  function yearSection(facets) {
    const range = yearRange(facets && facets.years);
    if (!range) return null;
    const cur = app.filter.years || range;
    const num = (v) => h('input', { type: 'number', min: range[0], max: range[1], value: v, step: 1, className: 'year' });
    const lo = num(cur[0]), hi = num(cur[1]);
    const apply = () => {
      const a = Math.round(Number(lo.value)), b = Math.round(Number(hi.value));
      if (!Number.isFinite(a) || !Number.isFinite(b)) return;
      app.setFilter({ years: a <= range[0] && b >= range[1] ? null : [Math.min(a, b), Math.max(a, b)] });
    };
    lo.addEventListener('change', apply);
    hi.addEventListener('change', apply);
    yearInputs = { lo, hi, range };
    lo.id = 'year-from';
    hi.id = 'year-to';
    return h('section', {}, h('h3', {}, `Year (${range[0]}–${range[1]})`), h('label', {}, 'from ', lo), ' ', h('label', {}, 'to ', hi));
  }

  let yearInputs = null;
  const checks = []; // [facet, value, checkbox]: ticks follow the filter without a rebuild

  function syncChecks() {
    for (const [key, value, box] of checks) box.checked = app.filter[key].map(String).includes(value);
  }

  function render() {
    const f = app.columns && app.columns.facets;
    clear(facetsBox);
    checks.length = 0;
    const labels = store.labels().map((l) => [l.name, l.name, l.count]);
    let unlabelled = 0;
    for (let i = 0; i < app.n; i++) if (store.labelOf[i] < 0) unlabelled++;
    const clusters = [...app.clusters].sort((a, b) => b.size - a.size).map((c) => [c.id, `cluster ${c.id}`, c.size]);
    const pairs = (col) => codeCounts(col).map(([v, c]) => [v, v, c]);
    facetsBox.append(...[
      section('Status', 'status', [['excluded', 'excluded', store.excludedCount], ['unlabelled', 'unlabelled', unlabelled]]),
      section('Label (annotations)', 'label', labels),
      section('Category', 'category', pairs(f && f.category)),
      section('Tags', 'tags', pairs(f && f.tags)),
      section('label (metadata)', 'metaLabel', pairs(f && f.metaLabel)),
      yearSection(f),
      section('Cluster', 'cluster', clusters),
    ].filter(Boolean));
  }

  let pending = false;
  const later = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  };
  app.on('filter', ({ active, count }) => {
    summary.textContent = active ? `${count.toLocaleString()} of ${app.n.toLocaleString()} match` : 'No filter';
    app.setTabCount('filters', active ? count : 0);
    if (!app.filter.text && text.value && document.activeElement !== text) text.value = '';
    syncChecks();
    if (!app.filter.years && yearInputs) { yearInputs.lo.value = yearInputs.range[0]; yearInputs.hi.value = yearInputs.range[1]; }
  });
  app.on('focusSearch', () => { text.focus(); text.select(); });
  app.on('clusters', later);
  store.on('annotations', later);
  summary.textContent = 'No filter';
  render();
}
