// Short messages ("Nothing to undo.") shown for a moment at the bottom of the map.

export function mountToast(el, app, ms = 2500) {
  let timer = null;
  app.on('toast', (text) => {
    el.textContent = text;
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => { el.hidden = true; }, ms);
  });
}
