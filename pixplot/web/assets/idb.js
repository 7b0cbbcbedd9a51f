// The static-mode event log in IndexedDB: every action is written before the next one, so a
// closed tab loses nothing. One database per bundle (its path and build time).

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

export class EventLog {
  static async open(key) {
    const open = indexedDB.open(`pixplot:${key}`, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('events', { autoIncrement: true });
    const log = new EventLog();
    log.db = await req(open);
    return log;
  }

  async all() {
    const tx = this.db.transaction('events', 'readonly');
    return req(tx.objectStore('events').getAll());
  }

  append(events) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction('events', 'readwrite');
      const st = tx.objectStore('events');
      for (const ev of events) st.add(ev);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
}
