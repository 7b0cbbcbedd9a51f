// Chooses where annotations live: the server when `api/state` answers, else this browser's IndexedDB.
// Either way a reload replays the same state.

import { fetchServerState, SendQueue, tokenFromHash } from './api.js';
import { DATA, servedByPixplot } from './data.js';
import { uuid } from './dom.js';
import { EventLog } from './idb.js';
import { Store } from './store.js';

const SAVED_SOURCES = new Set(['user', 'undo', 'redo']);

export async function startSaving(store, manifest, onStatus) {
  // --plot_id names the plot across rebuilds (item ids are stable), so saved work follows it.
  const key = manifest.plot_id ? `plot:${manifest.plot_id}` : `${location.pathname}|${manifest.created}|${manifest.counts.items}`;
  const token = tokenFromHash();
  const state = servedByPixplot() ? await fetchServerState(token) : null;
  const events = [];
  if (state) {
    store.loadSnapshot(state);
    const queue = new SendQueue({ token, storageKey: `pixplot-queue:${key}`, onStatus });
    const pending = queue.pending();
    // Undo and redo are the server's (POST api/undo, api/redo): it keeps each author's stacks, so
    // they survive a reload; this tab applies the inverse at once and recognises the server's copy.
    for (const item of pending) {
      if (item.op) store[item.op](); else store.replay([item], 'replay');
    }
    events.push(...pending.filter((e) => !e.op));
    // An undo left unsent at the reload: its server events are applied when they come back.
    const mine = new Set(pending.filter((e) => !e.op).map((e) => e.id));
    store.on('annotations', ({ events: evs, source }) => {
      if (!SAVED_SOURCES.has(source)) return;
      events.push(...evs);
      if (source === 'user') {
        for (const e of evs) mine.add(e.id);
        queue.push(evs);
        return;
      }
      const op = { op: source, id: `${source}-${uuid()}`, author: store.author };
      mine.add(op.id);
      queue.push([op]);
    });
    queue.kick();
    restoreHistory(store, state.version ?? 0);
    followOthers(store, queue, mine, state.version ?? 0);
    return { mode: 'server', token, queue, events };
  }
  // A copy written by `pixplot share` carries the publisher's labels as a read-only snapshot;
  // this browser's own changes are replayed on top and never leave it.
  const baked = await loadBaked(manifest);
  if (baked) store.loadSnapshot(baked);
  const savedText = baked ? 'Shared labels; your changes stay in this browser' : 'Saved in this browser';
  let log = null;
  try {
    log = await EventLog.open(key);
    const stored = await log.all();
    store.replay(stored, 'replay'); // rebuilds the undo stack: undo survives a reload
    events.push(...stored);
    onStatus({ state: 'saved', text: savedText });
  } catch (err) {
    onStatus({ state: 'error', text: 'This browser cannot keep annotations (IndexedDB unavailable): export them' });
    console.error(err);
  }
  const saver = { mode: 'static', events, writing: Promise.resolve() };
  store.on('annotations', ({ events: evs, source }) => {
    if (!SAVED_SOURCES.has(source)) return;
    events.push(...evs);
    if (!log) return;
    onStatus({ state: 'saving', text: 'Saving…' });
    saver.writing = saver.writing.then(() => log.append(evs)).then(
      () => onStatus({ state: 'saved', text: savedText }),
      (err) => { console.error(err); onStatus({ state: 'error', text: 'Could not save in this browser: export now' }); });
  });
  return saver;
}

/** The labels baked into a shared copy (data/annotations.json), or null. */
async function loadBaked(manifest) {
  if (!manifest.annotations) return null;
  try {
    const res = await fetch(DATA + manifest.annotations, { cache: 'no-store' });
    if (!res.ok) return null;
    const doc = await res.json();
    return doc && typeof doc.labels === 'object' && Array.isArray(doc.excluded) ? doc : null;
  } catch {
    return null;
  }
}

/** The undo and redo stacks of this annotator, rebuilt from the server's log up to `version`
 * (in the background: the map is usable meanwhile), below anything done since the page loaded. */
async function restoreHistory(store, version) {
  const scratch = new Store(store.ids);
  scratch.indexMap = store.index;
  const author = store.author;
  let since = 0;
  try {
    while (since < version) {
      const res = await fetch(`api/events?since=${since}&limit=${POLL_LIMIT}`, { cache: 'no-store' });
      if (!res.ok) return;
      const evs = ((await res.json()).events || []).filter((e) => (e.seq ?? 0) <= version);
      if (!evs.length) break;
      scratch.replay(evs, 'history', author);
      since = evs[evs.length - 1].seq ?? version;
    }
  } catch {
    return; // offline: undo reaches back to this page's load only
  }
  const local = new Set(store.undoStack.map((s) => s.key));
  store.undoStack.unshift(...scratch.undoStack.filter((s) => !local.has(s.key)));
  if (!store.undoStack.length || store.undoStack.length === scratch.undoStack.length) store.redoStack = scratch.redoStack;
  store.historyRestored = true;
}

const POLL_MS = 3000;
const POLL_LIMIT = 2000;

/** Other annotators' events (and server-side undo) arrive by polling `api/events?since=`; this
 * tab's own unsent events are replayed on top, as the server will order them after. */
function followOthers(store, queue, mine, since) {
  let busy = false;
  const poll = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      for (;;) {
        const res = await fetch(`api/events?since=${since}&limit=${POLL_LIMIT}`, { cache: 'no-store' });
        if (!res.ok) break;
        const body = await res.json();
        const evs = body.events || [];
        for (const e of evs) since = Math.max(since, e.seq ?? since);
        // Mine: my events (parts of a split one end in :k) and the server's undo of mine (op id #k).
        const others = evs.filter((e) => !mine.has(String(e.id).replace(/[:#]\d+$/, '')));
        if (others.length) {
          store.applyAll(others, 'remote');
          const unsent = queue.pending();
          if (unsent.length) store.applyAll(unsent, 'replay');
        }
        if (evs.length < POLL_LIMIT) break;
      }
    } catch {
      // offline: the send queue reports it
    } finally {
      busy = false;
    }
  };
  setInterval(poll, POLL_MS);
}
