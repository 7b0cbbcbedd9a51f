// Keyboard shortcuts: one table drives both the handler and the `?` help (docs/viewer.md mirrors it).

export const SHORTCUTS = [
  ['?', 'Show or hide this help', (a) => a.toggleHelp()],
  ['n', 'Next unlabelled cluster (flies there, selects it and lays it out on a grid)', (a) => a.stepCluster(1)],
  ['p', 'Previous unlabelled cluster', (a) => a.stepCluster(-1)],
  ['c', 'Select the current cluster (or the hovered item\'s cluster)', (a) => a.selectCurrentCluster()],
  ['a', 'Select every visible item', (a) => a.selectAllVisible()],
  ['z', 'Focus the selection: lay it out on a grid where every item is visible (Escape returns)', (a) => a.focusSelection()],
  ['PageDown', 'Scroll a tall focus grid down (the wheel scrolls it too)', (a) => a.pageFocus(1)],
  ['PageUp', 'Scroll a tall focus grid up', (a) => a.pageFocus(-1)],
  ['v', 'Invert the selection (within the current cluster, if any)', (a) => a.invertSelection()],
  ['Escape', 'Clear the selection; again: leave the cluster and its grid; closes the detail and dialogs', (a) => a.escape()],
  ['x', 'Exclude the selection from its cluster', (a) => a.excludeSelection()],
  ['Delete', 'Exclude the selection', (a) => a.excludeSelection()],
  ['i', 'Include the selection back in its cluster', (a) => a.includeSelection()],
  ['t', 'Type a label (Enter labels the selection, Shift+Enter the cluster\'s non-excluded items)', (a) => a.focusLabel()],
  ['Enter', 'Type a label for the selection', (a) => a.focusLabel()],
  ['u', 'Remove the labels of the selection', (a) => a.unlabelSelection()],
  ['f', 'Show only unlabelled items (toggle)', (a) => a.toggleUnlabelled()],
  ['k', 'Colour by the next option (cluster, label, metadata, none)', (a) => a.cycleColor()],
  ['g', 'Next layout (animated)', (a) => a.cycleLayout()],
  ['m', 'Pan tool (drag moves the map)', (a) => a.setTool('pan')],
  ['l', 'Lasso tool (drag draws a free-hand selection)', (a) => a.setTool('lasso')],
  ['b', 'Box tool (drag draws a rectangle selection)', (a) => a.setTool('box')],
  ['1', 'Clusters panel', (a) => a.showTab('clusters')],
  ['2', 'Selection panel', (a) => a.showTab('selection')],
  ['3', 'Labels panel', (a) => a.showTab('labels')],
  ['4', 'Find panel (more like this, split, similar clusters, suggestions)', (a) => a.showTab('find')],
  ['r', 'More like this: nearest items to the selection, the hovered item or the cluster', (a) => a.find?.moreLikeThis()],
  ['s', 'Split the selection (or the current cluster) into sub-groups, saved', (a) => a.find?.split()],
  ['j', 'Similar clusters, to merge into this cluster\'s label', (a) => a.find?.similar()],
  ['o', 'Label suggestions for unlabelled items, by label, best first', (a) => a.find?.suggest()],
  ['w', 'Search images by words (served, CLIP-family embedder)', (a) => a.find?.focusText()],
  ['.', 'Find panel: next group (it becomes the selection)', (a) => a.find?.step(1)],
  [',', 'Find panel: previous group', (a) => a.find?.step(-1)],
  ['y', 'Accept the active group: its suggested label, or merge it into the current cluster\'s label', (a) => a.find?.accept()],
  ['5', 'Filter panel: search and facets', (a) => a.showTab('filters')],
  ['/', 'Search names, descriptions, tags, categories and labels (literal text)', (a) => a.focusSearch()],
  ['e', 'Select every item the search and filters match', (a) => a.selectFiltered()],
  ['d', 'Details of the hovered item', (a) => a.detailHovered()],
  ['ArrowLeft', 'Pan left', (a) => a.panBy(80, 0)],
  ['ArrowRight', 'Pan right', (a) => a.panBy(-80, 0)],
  ['ArrowUp', 'Pan up', (a) => a.panBy(0, 80)],
  ['ArrowDown', 'Pan down', (a) => a.panBy(0, -80)],
  ['+', 'Zoom in', (a) => a.zoomBy(1.5)],
  ['=', 'Zoom in', (a) => a.zoomBy(1.5)],
  ['-', 'Zoom out', (a) => a.zoomBy(1 / 1.5)],
  ['0', 'Show everything', (a) => a.fit()],
  ['[', 'Smaller thumbnails', (a) => a.pointSize(1 / 1.25)],
  [']', 'Larger thumbnails', (a) => a.pointSize(1.25)],
  ['Ctrl+z', 'Undo', (a) => a.undo()],
  ['Ctrl+Shift+z', 'Redo', (a) => a.redo()],
  ['Ctrl+y', 'Redo', (a) => a.redo()],
  ['Ctrl+a', 'Select every visible item', (a) => a.selectAllVisible()],
];

export const MOUSE = [
  ['Drag', 'Pan (pan tool), draw a lasso (lasso tool) or a box (box tool)'],
  ['Shift+drag', 'Lasso that adds to the selection'],
  ['Ctrl+drag', 'Lasso that removes from the selection'],
  ['Alt+drag', 'Box that replaces (with Shift: adds to) the selection'],
  ['Click', 'Select one item and show its details'],
  ['Shift+click, Ctrl+click', 'Toggle one item in the selection'],
  ['Wheel, pinch', 'Zoom to the cursor (scrolls a focus grid taller than the view; Ctrl+wheel zooms)'],
  ['Double-click', 'Zoom in'],
  ['Two fingers', 'Pan and zoom on a touch screen'],
];

function keyName(e) {
  let k = e.key;
  if (k.length === 1) k = k.toLowerCase();
  if (k === '?' || k === '+') return k;
  const mods = [];
  if (e.ctrlKey || e.metaKey) mods.push('Ctrl');
  if (e.shiftKey && k.length > 1) mods.push('Shift');
  if (e.shiftKey && k.length === 1 && (e.ctrlKey || e.metaKey)) mods.push('Shift');
  return [...mods, k].join('+');
}

export function attachKeys(app) {
  const table = new Map(SHORTCUTS.map(([k, , fn]) => [k, fn]));
  window.addEventListener('keydown', (e) => {
    const t = e.target;
    // Typing goes to text fields; a ticked checkbox keeps the shortcuts working.
    const typing = t && t.tagName === 'INPUT' && !['checkbox', 'radio', 'button'].includes(t.type);
    if (t && (typing || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
    if (e.altKey) return;
    if (t && t.tagName === 'BUTTON' && (e.key === 'Enter' || e.key === ' ')) return; // the button's own action
    const name = keyName(e);
    // A dialog is open: its own keys (Escape closes it); `?` still toggles the help.
    if (document.querySelector('dialog[open]') && name !== '?') return;
    const fn = table.get(name);
    if (!fn) return;
    e.preventDefault();
    fn(app);
  });
}
