// Talks to `pixplot serve`: reads the annotation state, and sends events through a queue that
// survives reloads (localStorage) and retries with backoff until the server takes them.

const BATCH = 200;
const MAX_ITEMS = 50000; // per request, to stay far below the server's body limit

export function tokenFromHash() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function headers(token, json) {
  const h = { 'X-Requested-With': 'pixplot' }; // the server refuses writes without it (cross-site pages cannot add it)
  if (json) h['Content-Type'] = 'application/json';
  if (token) h['X-Pixplot-Token'] = token;
  return h;
}

/** The server's state, or null when the bundle is served statically. */
export async function fetchServerState(token) {
  try {
    const res = await fetch('api/state', { headers: headers(token), cache: 'no-store' });
    if (!res.ok || !(res.headers.get('content-type') || '').includes('json')) return null;
    const state = await res.json();
    return state && typeof state === 'object' && 'labels' in state ? state : null;
  } catch {
    return null;
  }
}

export class SendQueue {
  constructor({ token, storageKey, onStatus, maxItems = MAX_ITEMS }) {
    this.token = token;
    this.maxItems = maxItems;
    this.key = storageKey;
    this.onStatus = onStatus;
    this.delay = 500;
    this.sending = false;
    this.timer = null;
    this.error = null;
    try {
      this.queue = JSON.parse(localStorage.getItem(this.key) || '[]');
    } catch {
      this.queue = [];
    }
    window.addEventListener('online', () => this.kick());
  }

  /** Events written before the last reload that the server may not have. */
  pending() {
    return this.queue.slice();
  }

  persist() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.queue));
    } catch (err) {
      console.warn('pixplot: could not keep the send queue in localStorage', err);
    }
  }

  push(events) {
    this.queue.push(...events);
    this.persist();
    this.kick();
  }

  kick() {
    clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }

  status() {
    if (this.error) return { state: 'error', text: this.error, pending: this.queue.length };
    if (!this.queue.length) return { state: 'saved', text: 'Saved', pending: 0 };
    if (this.offline) return { state: 'offline', text: `Offline, ${this.queue.length} waiting`, pending: this.queue.length };
    return { state: 'saving', text: 'Saving…', pending: this.queue.length };
  }

  report() {
    this.onStatus(this.status());
  }

  /** The next events to send: at most BATCH events and MAX_ITEMS item ids. An event over the limit
   * is split into parts with ids derived from its own, so a resend is still recognised. */
  nextBatch() {
    const first = this.queue[0];
    if (first.op) return [first]; // an undo or redo goes alone, in order
    const max = this.maxItems;
    if (first.items && first.items.length > max) {
      const parts = [];
      for (let k = 0; k * max < first.items.length; k++) {
        parts.push({ ...first, id: `${first.id}:${k}`, items: first.items.slice(k * max, (k + 1) * max) });
      }
      this.queue.splice(0, 1, ...parts);
      this.persist();
    }
    let items = 0;
    let end = 0;
    while (end < this.queue.length && end < BATCH && !this.queue[end].op) {
      items += (this.queue[end].items || []).length;
      if (end > 0 && items > max) break;
      end++;
    }
    return this.queue.slice(0, end);
  }

  async flush() {
    if (this.sending) return;
    if (!this.queue.length) { this.report(); return; }
    this.sending = true;
    this.report();
    const batch = this.nextBatch();
    let retry = false;
    try {
      const op = batch[0].op;
      const res = op
        ? await fetch(`api/${op}`, { method: 'POST', headers: headers(this.token, true),
          body: JSON.stringify({ author: batch[0].author, id: batch[0].id }) })
        : await fetch('api/events', { method: 'POST', headers: headers(this.token, true),
          body: JSON.stringify({ events: batch }) });
      if (res.ok) {
        this.queue.splice(0, batch.length);
        this.persist();
        this.offline = false;
        this.error = null;
        this.delay = 500;
      } else if (res.status === 401 || res.status === 403) {
        this.error = 'Not saved: this server needs a token (open the link with #token=…)';
        retry = true;
      } else if (res.status >= 500 || res.status === 429) {
        this.offline = true;
        retry = true;
      } else {
        // The server refused for good; keeping the culprit would block every later event.
        const body = await res.json().catch(() => ({}));
        console.error('pixplot: server refused events', res.status, body);
        const bad = batch.findIndex((ev) => ev.id === body.event);
        this.error = `Server refused a change: ${body.error || `HTTP ${res.status}`}`;
        if (bad >= 0) this.queue.splice(bad, 1); else this.queue.splice(0, batch.length);
        this.persist();
      }
    } catch {
      this.offline = true;
      retry = true;
    }
    this.sending = false;
    if (retry) {
      this.report();
      this.timer = setTimeout(() => this.flush(), this.delay);
      this.delay = Math.min(this.delay * 2, 15000);
    } else if (this.queue.length) {
      this.flush();
    } else {
      this.report();
    }
  }
}

/** Start an upload job and poll it until it ends; `onProgress` gets the job's JSON. */
export async function startUpload(token, target, onProgress) {
  const res = await fetch('api/upload', { method: 'POST', headers: headers(token, true),
    body: JSON.stringify({ target }) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `Upload refused: HTTP ${res.status}`);
  const id = body.job_id ?? body.id ?? body.job?.id ?? body.job;
  if (id === undefined || id === null) throw new Error('The server did not return a job id');
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const jr = await fetch(`api/jobs/${encodeURIComponent(id)}`, { headers: headers(token) });
    const job = await jr.json().catch(() => ({}));
    onProgress(job);
    const st = String(job.status || job.state || '').toLowerCase();
    if (!jr.ok || ['done', 'finished', 'succeeded', 'success', 'failed', 'error', 'cancelled'].includes(st)) return job;
  }
}
