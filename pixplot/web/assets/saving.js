// Chooses where annotations live: the server when `api/state` answers, else this browser's IndexedDB.
// Either way a reload replays the same state.

import { fetchServerState, SendQueue, tokenFromHash } from './api.js';
import { DATA } from './data.js';
import { EventLog } from './idb.js';

const SAVED_SOURCES = new Set(['user', 'undo', 'redo']);

export async function startSaving(store, manifest, onStatus) {
  // --plot_id names the plot across rebuilds (item ids are stable), so saved work follows it.
  const key = manifest.plot_id ? `plot:${manifest.plot_id}` : `${location.pathname}|${manifest.created}|${manifest.counts.items}`;
  const token = tokenFromHash();
  const state = await fetchServerState(token);
  const events = [];
  if (state) {
    store.loadSnapshot(state);
    const queue = new SendQueue({ token, storageKey: `pixplot-queue:${key}`, onStatus });
    const pending = queue.pending();
    store.applyAll(pending, 'replay');
    events.push(...pending);
    const mine = new Set(pending.map((e) => e.id));
    store.on('annotations', ({ events: evs, source }) => {
      if (!SAVED_SOURCES.has(source)) return;
      for (const e of evs) mine.add(e.id);
      events.push(...evs);
      queue.push(evs);
    });
    queue.kick();
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
    store.applyAll(stored, 'replay');
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
        const others = evs.filter((e) => !mine.has(String(e.id).replace(/:\d+$/, '')));
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
