// The hover tooltip: the app says which item is under the pointer and what to say about it.

export function mountTooltip(el, app) {
  app.on('hover', ({ i, sx, sy, text }) => {
    if (i < 0) { el.hidden = true; return; }
    el.textContent = text;
    el.style.left = `${sx + 14}px`;
    el.style.top = `${sy + 14}px`;
    el.hidden = false;
  });
}
