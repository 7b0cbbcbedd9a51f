// Annotation actions of the app (mixed into App): each is one event in the store (undo appends the
// inverse), plus the annotations' export.

export const annotateActions = {
  selectedIds() {
    return this.store.selection().map((i) => this.store.ids[i]);
  },

  act(ev, empty) {
    if (ev.items && !ev.items.length) { this.toast(empty); return null; }
    const done = this.store.act(ev);
    if (!done) this.toast('Nothing changed.');
    return done;
  },

  excludeSelection() { return this.act({ type: 'exclude', items: this.selectedIds() }, 'Select items to exclude first.'); },
  includeSelection() { return this.act({ type: 'include', items: this.selectedIds() }, 'Select items to include first.'); },
  unlabelSelection() { return this.act({ type: 'unlabel', items: this.selectedIds() }, 'Select items first.'); },

  toggleExcluded(i) {
    const st = this.store;
    return this.act({ type: st.excluded[i] ? 'include' : 'exclude', items: [st.ids[i]] });
  },

  checkLabel(label) {
    if (label.length > 200) { this.toast('Labels are at most 200 characters.'); return false; }
    return true;
  },

  labelSelection(label) {
    if (!this.checkLabel(label)) return null;
    return this.act({ type: 'label', items: this.selectedIds(), label }, 'Select items to label first.');
  },

  /** Label the current cluster's members that are not excluded. */
  labelCluster(label) {
    if (!this.checkLabel(label)) return null;
    const st = this.store, c = st.view.cluster;
    if (c === null || c === undefined) { this.toast('Open a cluster first (n, or click one in the Clusters panel).'); return null; }
    const items = Array.from(this.membersOf(c)).filter((i) => !st.excluded[i]).map((i) => st.ids[i]);
    return this.act({ type: 'label', items, label }, 'This cluster has no items left to label.');
  },

  renameLabel(from, to) { return this.checkLabel(to) ? this.act({ type: 'rename_label', from, to }) : null; },
  deleteLabel(label) { return this.act({ type: 'delete_label', label }); },

  undo() { if (!this.store.undo()) this.toast('Nothing to undo.'); },
  redo() { if (!this.store.redo()) this.toast('Nothing to redo.'); },


  /** The annotations as a downloadable JSON document. */
  exportDocument() {
    const { labels, excluded } = this.store.snapshot();
    return { format: 'pixplot-annotations', version: 1, events: this.saver ? this.saver.events : [], labels, excluded };
  },

  /** Served: the server's export (the whole log, every session). Static, or while changes wait to
   * be sent: this browser's document. */
  exportAnnotations() {
    const s = this.saver;
    if (s && s.mode === 'server' && !s.queue.queue.length) {
      this.emit('download', { url: 'api/export?format=json', filename: 'annotations.json' });
      return;
    }
    if (s && s.mode === 'server') this.toast('Some changes are not on the server yet: exporting this browser\'s copy.');
    const blob = new Blob([JSON.stringify(this.exportDocument(), null, 1)], { type: 'application/json' });
    this.emit('download', { blob, filename: 'annotations.json' });
  },
};
