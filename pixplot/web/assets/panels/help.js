// The `?` dialog: every keyboard shortcut and mouse gesture, from the same table the handler uses.
// It opens at its top with focus on the dialog itself, not on Close (so its first lines show).

import { h } from '../dom.js';
import { MOUSE, SHORTCUTS } from '../keys.js';

export function buildHelp() {
  const rows = (pairs) => pairs.map(([k, what]) => h('tr', {}, h('td', {}, h('kbd', {}, k)), h('td', {}, what)));
  const dialog = h('dialog', { id: 'help', tabIndex: -1 },
    h('h2', {}, 'Keyboard and mouse'),
    h('p', { className: 'muted' }, 'The loop: n (next cluster) → select the items that do not belong → x (exclude) → '
      + 't, type a name, Shift+Enter (label the rest of the cluster) → n.'),
    h('div', { className: 'help-cols' },
      h('table', {}, rows(SHORTCUTS.map(([k, what]) => [k, what]))),
      h('table', {}, rows(MOUSE))),
    h('form', { method: 'dialog' }, h('button', {}, 'Close')));
  return dialog;
}

/** Show the help when the app asks (`?`, the toolbar button). */
export function mountHelp(dialog, app) {
  app.on('help', () => {
    if (dialog.open) { dialog.close(); return; }
    dialog.showModal();
    dialog.focus();
    dialog.scrollTop = 0;
  });
}
