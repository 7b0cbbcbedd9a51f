// The state the panels share: annotations (labels, excluded), selection and view options.
// Every annotation action becomes exactly one event (docs/api.md types); undo and redo append the
// inverse events, so the server, the browser store and the tests all see the same log.

import { uuid } from './dom.js';

/** Sub-group k (from 1) of a split event: named after the event, as the server names it. */
export function groupName(eventId, k) {
  return `${eventId}/${k}`;
}

export class Store {
  constructor(ids) {
    this.ids = ids;
    this.n = ids.length;
    this.indexMap = null;
    this.labelOf = new Int32Array(this.n).fill(-1);
    this.labelNames = [];
    this.labelIds = new Map();
    this.labelCounts = [];
    this.excluded = new Uint8Array(this.n);
    this.excludedCount = 0;
    this.groupOf = new Map(); // item index -> group a split or merge put it in (docs/api.md)
    this.selected = new Uint8Array(this.n);
    this.selCount = 0;
    this.undoStack = [];
    this.redoStack = [];
    this.author = ''; // who is annotating: recorded with every event (docs/api.md)
    this.view = { colorBy: 'cluster', unlabelledOnly: false, cluster: null, detail: -1, tool: 'pan' };
    this.listeners = new Map();
  }

  /** id -> item index, built on first use (a million ids take a while, and a fresh static
   * bundle never needs it). */
  get index() {
    if (!this.indexMap) {
      this.indexMap = new Map();
      this.ids.forEach((id, i) => this.indexMap.set(id, i));
    }
    return this.indexMap;
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
    return () => this.listeners.get(topic).delete(fn);
  }

  emit(topic, payload) {
    for (const fn of this.listeners.get(topic) || []) fn(payload);
  }

  // ---- annotations -------------------------------------------------------------------------

  labelId(name, create) {
    let k = this.labelIds.get(name);
    if (k === undefined && create) {
      k = this.labelNames.length;
      this.labelNames.push(name);
      this.labelCounts.push(0);
      this.labelIds.set(name, k);
    }
    return k;
  }

  /** Live labels with their counts, most used first. */
  labels() {
    return this.labelNames.map((name, k) => ({ name, count: this.labelCounts[k] }))
      .filter((l) => l.count > 0).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  }

  labelOfIndex(i) {
    const k = this.labelOf[i];
    return k < 0 ? null : this.labelNames[k];
  }

  setLabel(i, k) {
    const old = this.labelOf[i];
    if (old === k) return;
    if (old >= 0) this.labelCounts[old]--;
    if (k >= 0) this.labelCounts[k]++;
    this.labelOf[i] = k;
  }

  indices(itemIds) {
    const out = [];
    for (const id of itemIds) { const i = this.index.get(id); if (i !== undefined) out.push(i); }
    return out;
  }

  /** Apply one event to the state; returns nothing. Unknown items are ignored. */
  apply(ev) {
    switch (ev.type) {
      case 'label': {
        const k = this.labelId(ev.label, true);
        for (const i of this.indices(ev.items)) this.setLabel(i, k);
        break;
      }
      case 'unlabel':
        for (const i of this.indices(ev.items)) this.setLabel(i, -1);
        break;
      case 'exclude':
      case 'include': {
        const v = ev.type === 'exclude' ? 1 : 0;
        for (const i of this.indices(ev.items)) {
          if (this.excluded[i] !== v) { this.excluded[i] = v; this.excludedCount += v ? 1 : -1; }
        }
        break;
      }
      case 'rename_label': {
        const from = this.labelIds.get(ev.from);
        if (from === undefined || ev.from === ev.to) break;
        const to = this.labelId(ev.to, true);
        for (let i = 0; i < this.n; i++) if (this.labelOf[i] === from) this.setLabel(i, to);
        break;
      }
      case 'delete_label': {
        const k = this.labelIds.get(ev.label);
        if (k === undefined) break;
        for (let i = 0; i < this.n; i++) if (this.labelOf[i] === k) this.setLabel(i, -1);
        break;
      }
      case 'split':
        (ev.groups || []).forEach((g, k) => this.setGroups(this.indices(g), groupName(ev.id, k + 1)));
        break;
      case 'merge':
        this.setGroups(this.indices(ev.items), ev.into ?? null);
        if (ev.label !== undefined && ev.label !== null) {
          const k = this.labelId(ev.label, true);
          for (const i of this.indices(ev.items)) this.setLabel(i, k);
        }
        break;
      default:
        console.warn('pixplot: unknown event type', ev.type);
    }
  }

  setGroups(indices, group) {
    for (const i of indices) { if (group === null) this.groupOf.delete(i); else this.groupOf.set(i, group); }
  }

  /** Members of each group made by splits and merges: name -> [item index]. */
  groups() {
    const out = new Map();
    for (const [i, g] of this.groupOf) { if (!out.has(g)) out.set(g, []); out.get(g).push(i); }
    return out;
  }

  /** Merge events that put these items back in the groups they are in now. */
  regroup(indices) {
    const by = new Map();
    for (const i of indices) {
      const g = this.groupOf.has(i) ? this.groupOf.get(i) : null;
      if (!by.has(g)) by.set(g, []);
      by.get(g).push(this.ids[i]);
    }
    return [...by.entries()].map(([into, items]) => ({ type: 'merge', items, into }));
  }

  /** The events that undo `ev`, computed before it is applied. Empty when `ev` would change nothing. */
  inverse(ev) {
    const restore = (indices) => {
      const byLabel = new Map();
      for (const i of indices) {
        const k = this.labelOf[i];
        if (!byLabel.has(k)) byLabel.set(k, []);
        byLabel.get(k).push(this.ids[i]);
      }
      return [...byLabel.entries()].map(([k, items]) => (k < 0
        ? { type: 'unlabel', items } : { type: 'label', items, label: this.labelNames[k] }));
    };
    switch (ev.type) {
      case 'label': {
        const k = this.labelIds.get(ev.label);
        return restore(this.indices(ev.items).filter((i) => k === undefined || this.labelOf[i] !== k));
      }
      case 'unlabel':
        return restore(this.indices(ev.items).filter((i) => this.labelOf[i] >= 0));
      case 'exclude':
      case 'include': {
        const v = ev.type === 'exclude' ? 1 : 0;
        const changed = this.indices(ev.items).filter((i) => this.excluded[i] !== v).map((i) => this.ids[i]);
        return changed.length ? [{ type: v ? 'include' : 'exclude', items: changed }] : [];
      }
      case 'rename_label': {
        const from = this.labelIds.get(ev.from);
        if (from === undefined || !this.labelCounts[from] || ev.from === ev.to) return [];
        const to = this.labelIds.get(ev.to);
        if (to === undefined || !this.labelCounts[to]) return [{ type: 'rename_label', from: ev.to, to: ev.from }];
        const members = [];
        for (let i = 0; i < this.n; i++) if (this.labelOf[i] === from) members.push(this.ids[i]);
        return [{ type: 'label', items: members, label: ev.from }];
      }
      case 'delete_label': {
        const k = this.labelIds.get(ev.label);
        if (k === undefined || !this.labelCounts[k]) return [];
        const members = [];
        for (let i = 0; i < this.n; i++) if (this.labelOf[i] === k) members.push(this.ids[i]);
        return [{ type: 'label', items: members, label: ev.label }];
      }
      case 'split':
        return this.regroup(this.indices((ev.groups || []).flat()));
      case 'merge': {
        const idx = this.indices(ev.items);
        const into = ev.into ?? null;
        const moved = idx.filter((i) => (this.groupOf.has(i) ? this.groupOf.get(i) : null) !== into);
        const inv = this.regroup(moved);
        if (ev.label !== undefined && ev.label !== null) {
          const k = this.labelIds.get(ev.label);
          inv.push(...restore(idx.filter((i) => k === undefined || this.labelOf[i] !== k)));
        }
        return inv;
      }
      default:
        return [];
    }
  }

  stamp(ev) {
    return { ...ev, id: uuid(), time: new Date().toISOString(), author: this.author };
  }

  /** Apply events that came from a user action, a replay or a server; emits 'annotations'. */
  applyAll(events, source) {
    for (const ev of events) this.apply(ev);
    if (events.length) this.emit('annotations', { events, source });
  }

  /** One user action: one event, applied, recorded for undo, and emitted for saving. Each undo step
   * is keyed by its event's id: the inverse events of an undo carry `undo: key`, a redo `redo: key`,
   * so replaying a saved log (IndexedDB, or the server's, whose own undo events carry the same
   * fields) rebuilds the undo and redo stacks after a reload. */
  act(ev) {
    const inv = this.inverse(ev);
    if (!inv.length) return null;
    const stamped = this.stamp(ev);
    this.undoStack.push({ forward: ev, inverse: inv, key: stamped.id });
    this.redoStack.length = 0;
    this.applyAll([stamped], 'user');
    return stamped;
  }

  undo() {
    const step = this.undoStack.pop();
    if (!step) return false;
    const events = step.inverse.map((e) => ({ ...this.stamp(e), undo: step.key }));
    this.redoStack.push(step);
    this.applyAll(events, 'undo');
    return true;
  }

  redo() {
    const step = this.redoStack.pop();
    if (!step) return false;
    step.inverse = this.inverse(step.forward);
    this.undoStack.push(step);
    this.applyAll([{ ...this.stamp(step.forward), redo: step.key }], 'redo');
    return true;
  }

  /** Apply a saved log in order and rebuild the undo and redo stacks from it: events by `author`
   * (any author when undefined) are steps; `undo` / `redo` fields move them between the stacks. */
  replay(events, source = 'replay', author = undefined) {
    for (const ev of events) {
      const own = author === undefined || (ev.author ?? '') === author;
      if (own && ev.undo) {
        const top = this.undoStack[this.undoStack.length - 1];
        if (top && top.key === ev.undo) this.redoStack.push(this.undoStack.pop());
      } else if (own && ev.redo) {
        const top = this.redoStack[this.redoStack.length - 1];
        if (top && top.key === ev.redo) {
          this.redoStack.pop();
          top.inverse = this.inverse(top.forward);
          this.undoStack.push(top);
        }
      } else if (own && !ev.undo && !ev.redo) {
        const inv = this.inverse(ev);
        if (inv.length) {
          const forward = { ...ev };
          for (const k of ['id', 'time', 'author', 'seq']) delete forward[k];
          this.undoStack.push({ forward, inverse: inv, key: ev.id });
          this.redoStack.length = 0;
        }
      }
      this.apply(ev);
    }
    if (events.length) this.emit('annotations', { events, source });
  }

  /** Replace annotations with a server snapshot: {labels: {id: label}, excluded: [id...]}. */
  loadSnapshot(state) {
    this.labelOf.fill(-1);
    this.labelNames = [];
    this.labelIds = new Map();
    this.labelCounts = [];
    this.excluded.fill(0);
    this.excludedCount = 0;
    this.groupOf = new Map();
    for (const [id, g] of Object.entries(state.groups || {})) {
      const i = this.index.get(id);
      if (i !== undefined) this.groupOf.set(i, String(g));
    }
    for (const [id, label] of Object.entries(state.labels || {})) {
      const i = this.index.get(id);
      if (i !== undefined) this.setLabel(i, this.labelId(String(label), true));
    }
    for (const id of state.excluded || []) {
      const i = this.index.get(id);
      if (i !== undefined && !this.excluded[i]) { this.excluded[i] = 1; this.excludedCount++; }
    }
    this.emit('annotations', { events: [], source: 'snapshot' });
  }

  /** The current annotations as the export and server snapshot format. */
  snapshot() {
    const labels = {};
    const excluded = [];
    for (let i = 0; i < this.n; i++) {
      if (this.labelOf[i] >= 0) labels[this.ids[i]] = this.labelNames[this.labelOf[i]];
      if (this.excluded[i]) excluded.push(this.ids[i]);
    }
    const groups = {};
    for (const [i, g] of this.groupOf) groups[this.ids[i]] = g;
    return { labels, excluded, groups };
  }

  // ---- selection ----------------------------------------------------------------------------

  /** mode: 'replace' | 'add' | 'remove' | 'toggle'. */
  select(indices, mode = 'replace', source = 'map') {
    const s = this.selected;
    if (mode === 'replace') { s.fill(0); this.selCount = 0; }
    for (const i of indices) {
      const want = mode === 'remove' ? 0 : mode === 'toggle' ? 1 - s[i] : 1;
      if (s[i] !== want) { s[i] = want; this.selCount += want ? 1 : -1; }
    }
    this.emit('selection', { source });
  }

  clearSelection() {
    this.select([], 'replace');
  }

  selection() {
    const out = [];
    for (let i = 0; i < this.n; i++) if (this.selected[i]) out.push(i);
    return out;
  }

  setView(patch) {
    Object.assign(this.view, patch);
    this.emit('view', patch);
  }
}
