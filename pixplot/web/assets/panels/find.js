// Find panel: the answers of "more like this" (r), text search (w), split (s), similar clusters (j)
// and label suggestions (o), as groups of thumbnails. The active group (. and , move) is the
// selection, so x excludes it and the label box labels it; y accepts it (a suggestion: its label;
// a similar cluster: merged into the current cluster's label). Each change is one event.

import { clear, h } from '../dom.js';
import { Finder } from '../find.js';
import { thumbElement } from '../thumbs.js';

const TILES = 60;
const TILE = 64;

export function mountFind(el, app) {
  const store = app.store;
  const finder = new Finder(app);
  const status = h('div', { id: 'find-status', className: 'muted', attrs: { role: 'status' } });
  const text = h('input', { type: 'search', id: 'find-text', maxLength: 1000, autocomplete: 'off', spellcheck: false,
    placeholder: 'Search images by words (w)…', title: 'Text search: needs pixplot serve and a CLIP-family embedder' });
  const label = h('input', { type: 'text', id: 'find-label', maxLength: 200, autocomplete: 'off', spellcheck: false,
    placeholder: 'Label for the active group…', attrs: { list: 'label-names' } });
  const list = h('div', { id: 'find-groups' });
  const btn = (txt, title, fn, extra = {}) => h('button', { type: 'button', title, onclick: fn, ...extra }, txt);
  el.append(
    h('div', { className: 'find-search' }, text),
    h('div', { className: 'actions' },
      btn('More like this', 'r: neighbours of the selection, the hovered item or the cluster', () => ctl.moreLikeThis()),
      btn('Split', 's: re-cluster the selection (or the current cluster) into sub-groups', () => ctl.split()),
      btn('Similar clusters', 'j: clusters like this one, to merge into its label', () => ctl.similar()),
      btn('Suggestions', 'o: labels for unlabelled items from their labelled neighbours', () => ctl.suggest())),
    h('div', { className: 'label-form' }, label,
      btn('Label', 'Enter in the box: label the active group\'s selected items', () => ctl.labelActive(label.value.trim())),
      btn('Exclude', 'x: exclude the active group\'s selected items', () => ctl.excludeActive())),
    status, list);

  const state = { mode: null, groups: [], active: -1, source: null };

  function say(msg) { status.textContent = msg; }

  function selectedOf(g) {
    const rows = g.rows.filter((i) => store.selected[i]);
    return rows.length ? rows : [];
  }

  function render() {
    clear(list);
    state.groups.forEach((g, j) => {
      const tiles = h('div', { className: 'tiles find-tiles', style: { '--tile': `${TILE}px` } });
      for (const [n, i] of g.rows.slice(0, TILES).entries()) {
        const score = g.scores ? g.scores[n] : null;
        const tile = h('button', { type: 'button', className: 'tile', dataset: { id: store.ids[i] },
          title: `${store.ids[i]}${score !== null ? ` · ${score.toFixed(3)}` : ''}`,
          onclick: () => { if (state.active !== j) activate(j); store.select([i], 'toggle', 'panel'); marks(); } },
        thumbElement(app, i, TILE - 4), h('span', { className: 'caption' }, store.labelOfIndex(i) ?? ''));
        tiles.append(tile);
      }
      const extra = [];
      if (g.kind === 'suggest') extra.push(btn(`Accept "${g.label}"`, 'y: label the selected suggestions', () => { activate(j, false); ctl.accept(); }, { className: 'accept' }));
      if (g.kind === 'similar') extra.push(btn('Merge', 'y: merge into the current cluster\'s label', () => { activate(j, false); ctl.accept(); }, { className: 'accept' }));
      const box = h('section', { className: 'find-group', dataset: { kind: g.kind, key: g.key ?? '' } },
        h('div', { className: 'panel-head' },
          h('button', { type: 'button', className: 'find-title', title: 'Make it the active group (selects it)', onclick: () => activate(j) }, g.title),
          h('span', { className: 'actions' },
            btn('Exclude', 'x', () => { activate(j, false); ctl.excludeActive(); }),
            ...extra)),
        tiles,
        g.rows.length > TILES ? h('div', { className: 'muted' }, `and ${g.rows.length - TILES} more`) : null);
      g.el = box;
      list.append(box);
    });
    marks();
  }

  function marks() {
    state.groups.forEach((g, j) => {
      if (!g.el) return;
      g.el.classList.toggle('active', j === state.active);
      g.el.classList.toggle('done', !!g.done);
      for (const tile of g.el.querySelectorAll('.tile')) {
        const i = store.index.get(tile.dataset.id);
        tile.classList.toggle('off', !store.selected[i]);
        tile.classList.toggle('excluded', !!store.excluded[i]);
        tile.querySelector('.caption').textContent = store.labelOfIndex(i) ?? '';
      }
    });
  }

  function show(mode, groups, msg) {
    state.mode = mode;
    state.groups = groups;
    state.active = -1;
    render();
    if (groups.length) activate(0); else store.clearSelection();
    say(msg);
    app.showTab('find');
    app.setTabCount('find', groups.length);
  }

  function activate(j, scroll = true) {
    if (j < 0 || j >= state.groups.length) return;
    state.active = j;
    const g = state.groups[j];
    store.select(g.rows, 'replace', 'find'); // excluded items too: suggestions are for them as well
    marks();
    if (scroll && g.el && g.el.scrollIntoView) g.el.scrollIntoView({ block: 'nearest' });
  }

  /** What a question is about: the selection, else the current cluster, else the hovered item. */
  function source() {
    const sel = store.selection();
    const c = store.view.cluster;
    const inCluster = c !== null && c !== undefined;
    if (sel.length) {
      const members = inCluster ? app.membersOf(c) : [];
      const whole = inCluster && sel.length === Array.from(members).filter((i) => !store.excluded[i]).length
        && sel.every((i) => app.clusterOf[i] === c);
      return { rows: sel, key: whole && !sel.some((i) => store.groupOf.has(i)) ? String(c) : null };
    }
    if (inCluster) {
      const rows = Array.from(app.membersOf(c)).filter((i) => !store.excluded[i]);
      return { rows, key: rows.some((i) => store.groupOf.has(i)) ? null : String(c) };
    }
    const hv = app.map.get('hover');
    if (hv >= 0) return { rows: [hv], key: null };
    return { rows: [], key: null };
  }

  async function run(what, fn) {
    say(`${what}…`);
    try {
      await fn();
    } catch (err) {
      say(String(err.message || err));
      app.showTab('find');
      app.toast(String(err.message || err));
    }
  }

  /** The label most of these rows carry, or null. */
  function majority(rows) {
    const count = new Map();
    for (const i of rows) { const l = store.labelOfIndex(i); if (l !== null && !store.excluded[i]) count.set(l, (count.get(l) || 0) + 1); }
    let best = null, n = 0;
    for (const [l, c] of count) if (c > n) { best = l; n = c; }
    return best;
  }

  function groupKey(rows) {
    const count = new Map();
    for (const i of rows) { const g = store.groupOf.has(i) ? store.groupOf.get(i) : String(app.clusterOf[i]); count.set(g, (count.get(g) || 0) + 1); }
    let best = null, n = 0;
    for (const [g, c] of count) if (c > n) { best = g; n = c; }
    return best === '-1' ? null : best;
  }

  const ctl = {
    finder,
    state,
    moreLikeThis: () => run('Finding similar items', async () => {
      const src = source();
      const got = await finder.neighbours(src.rows, 24);
      show('neighbours', [{ kind: 'neighbours', title: `More like ${src.rows.length === 1 ? 'this' : `these ${src.rows.length}`} (${got.length})`,
        rows: got.map((n) => n.i), scores: got.map((n) => n.score) }],
      `${got.length} nearest items, best first (${finder.lastMs.toFixed(1)} ms${finder.served ? ', server' : ', in this browser'}).`);
    }),
    text: (q) => run('Searching', async () => {
      const got = await finder.text(q, 48);
      show('text', [{ kind: 'text', title: `Best matches for "${q}" (${got.length})`, rows: got.map((n) => n.i),
        scores: got.map((n) => n.score) }], `${got.length} images match best.`);
    }),
    split: () => run('Splitting', async () => {
      const src = source();
      const parts = await finder.split(src.rows);
      const of = src.key ?? (store.view.cluster !== null && store.view.cluster !== undefined ? String(store.view.cluster) : 'selection');
      const ev = app.act({ type: 'split', of, groups: parts.map((p) => finder.ids(p.rows)) }, 'Nothing to split.');
      if (!ev) return;
      show('split', parts.map((p, k) => ({ kind: 'split', key: `${ev.id}/${k + 1}`, rows: p.rows,
        title: `Sub-group ${k + 1}: ${p.rows.length} items, cohesion ${p.cohesion.toFixed(2)}` })),
      `Split ${src.rows.length} items into ${parts.length} sub-groups (saved). Label (Enter in the box) or exclude (x) each; . and , move.`);
    }),
    similar: () => run('Finding similar clusters', async () => {
      const src = source();
      if (!src.rows.length) throw new Error('Open a cluster (n) or select items first.');
      const mine = new Set(src.rows);
      const got = (await finder.similar(src, 8)).filter((c) => c.rows.filter((i) => mine.has(i)).length * 2 < c.rows.length);
      state.source = { rows: src.rows, label: majority(src.rows), into: src.key ?? groupKey(src.rows) };
      const target = state.source.label;
      show('similar', got.map((c) => ({ kind: 'similar', key: c.key, rows: c.rows,
        title: `Cluster ${c.key}: ${c.rows.length} items, similarity ${c.score.toFixed(2)}${majority(c.rows) ? `, labelled ${majority(c.rows)}` : ''}` })),
      target ? `Clusters most like this one; y merges the active one into "${target}".`
        : 'Clusters most like this one. Label this cluster first (t) to merge them into its label.');
    }),
    suggest: () => run('Suggesting labels', async () => {
      const got = await finder.suggestions();
      show('suggest', got.groups.map((g) => ({ kind: 'suggest', label: g.label, rows: g.items.map((s) => s.i).filter((i) => i !== undefined),
        scores: g.items.map((s) => s.score), title: `${g.label}: ${g.count} suggestion${g.count === 1 ? '' : 's'}` })),
      `${got.candidates} unlabelled items: ${got.candidates - got.unknown} suggestions above the calibrated threshold ${got.threshold.toFixed(3)}, ${got.unknown} too far from any label. y accepts the selected ones of the active group.`);
    }),
    step(dir) {
      if (!state.groups.length) return;
      activate(((state.active + dir) % state.groups.length + state.groups.length) % state.groups.length);
    },
    focusText() { app.showTab('find'); text.focus(); },
    afterChange(g) {
      g.done = true;
      marks();
      const next = state.groups.findIndex((x, j) => j > state.active && !x.done);
      if (next >= 0) activate(next);
      if (state.mode === 'suggest') refreshSuggestions();
    },
    labelActive(name) {
      const g = state.groups[state.active];
      if (!g) { app.toast('Nothing to label: ask for more like this (r), a split (s) or suggestions (o) first.'); return; }
      if (!name) { label.focus(); return; }
      if (!app.checkLabel(name)) return;
      const rows = selectedOf(g);
      if (app.act({ type: 'label', items: finder.ids(rows), label: name }, 'Select some of the group first.')) ctl.afterChange(g);
      label.value = '';
    },
    excludeActive() {
      const g = state.groups[state.active];
      if (!g) { app.excludeSelection(); return; }
      if (app.act({ type: 'exclude', items: finder.ids(selectedOf(g)) }, 'Select some of the group first.')) ctl.afterChange(g);
    },
    /** y: accept the active suggestion group (its selected items), or merge the active similar cluster. */
    accept() {
      const g = state.groups[state.active];
      if (!g) { app.toast('Nothing to accept: ask for suggestions (o) or similar clusters (j) first.'); return; }
      if (g.kind === 'suggest') {
        const rows = selectedOf(g).filter((i) => store.labelOf[i] < 0); // never overwrite a label
        if (app.act({ type: 'label', items: finder.ids(rows), label: g.label }, 'Select some of the suggestions first.')) ctl.afterChange(g);
      } else if (g.kind === 'similar') {
        const src = state.source;
        if (!src || !src.label) { app.toast('Label this cluster first (t), then merge similar clusters into its label.'); return; }
        const rows = selectedOf(g).filter((i) => !store.excluded[i]);
        if (app.act({ type: 'merge', items: finder.ids(rows), into: src.into, label: src.label }, 'Select some of the cluster first.')) ctl.afterChange(g);
      } else {
        label.focus();
      }
    },
  };

  let refreshTimer = null;
  function refreshSuggestions() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const q = app.saver && app.saver.queue;
      for (let t = 0; q && q.queue.length && t < 100; t++) await new Promise((r) => setTimeout(r, 50));
      const active = state.active;
      await ctl.suggest();
      if (state.groups.length) activate(Math.min(Math.max(active, 0), state.groups.length - 1));
    }, 300);
  }

  /** With nothing asked: the saved sub-groups of the current cluster (or every one). */
  function showSaved() {
    if (state.mode && state.mode !== 'saved') return;
    const c = store.view.cluster;
    const groups = [];
    for (const [name, rows] of store.groups()) {
      if (!name.includes('/')) continue;
      if (c !== null && c !== undefined && !rows.some((i) => app.clusterOf[i] === c)) continue;
      groups.push({ kind: 'split', key: name, rows, title: `Sub-group ${name.split('/').pop()} of a split: ${rows.length} items` });
    }
    state.mode = groups.length ? 'saved' : null;
    state.groups = groups.slice(0, 50);
    state.active = -1;
    render();
    app.setTabCount('find', groups.length);
    say(groups.length ? `${groups.length} saved sub-group${groups.length === 1 ? '' : 's'}${c !== null && c !== undefined ? ' in this cluster' : ''}. . and , make one active.`
      : 'r: more like this · s: split · j: similar clusters · o: label suggestions · w: search by words');
  }

  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); const q = text.value.trim(); if (q) ctl.text(q); text.blur(); }
    else if (e.key === 'Escape') text.blur();
  });
  label.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); ctl.labelActive(label.value.trim()); label.blur(); }
    else if (e.key === 'Escape') label.blur();
  });
  store.on('annotations', ({ source: src }) => { marks(); if (src !== 'user' && state.mode === 'saved') showSaved(); });
  store.on('selection', ({ source: src }) => { if (src !== 'find') marks(); });
  store.on('view', (p) => { if ('cluster' in p && (state.mode === null || state.mode === 'saved')) showSaved(); });
  showSaved();
  app.find = ctl;
  return ctl;
}
