// Mouse, wheel and touch on the map: pan, zoom to cursor, hover, click, box and lasso.
// It turns gestures into calls on the app; it never touches WebGL or the store directly.

const CLICK_PX = 4;

export function attachPointer(canvas, overlay, app) {
  const map = app.map;
  const pointers = new Map();
  let drag = null;
  let pinch = null;

  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const showPath = (pts, closed) => {
    overlay.setAttribute('points', pts.map((p) => `${p[0]},${p[1]}`).join(' '));
    overlay.dataset.closed = closed ? '1' : '0';
    overlay.style.display = pts.length ? '' : 'none';
  };

  const modeFor = (e) => (e.ctrlKey || e.metaKey ? 'remove' : e.shiftKey ? 'add' : 'replace');

  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    const p = local(e);
    pointers.set(e.pointerId, p);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { dist: Math.hypot(a[0] - b[0], a[1] - b[1]), mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
      drag = null;
      showPath([]);
      return;
    }
    let tool = app.store ? app.store.view.tool : 'pan';
    if (e.shiftKey && tool === 'pan') tool = 'lasso';
    if ((e.ctrlKey || e.metaKey) && tool === 'pan') tool = 'lasso';
    if (e.altKey) tool = 'box';
    if (e.button !== 0 && e.pointerType === 'mouse') tool = 'pan';
    drag = { tool, start: p, last: p, pts: [p], moved: false, mode: modeFor(e), shift: e.shiftKey,
      toggle: e.shiftKey || e.ctrlKey || e.metaKey };
  });

  canvas.addEventListener('pointermove', (e) => {
    const p = local(e);
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, p);
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a[0] - b[0], a[1] - b[1]);
      const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      map.panBy(mid[0] - pinch.mid[0], mid[1] - pinch.mid[1]);
      if (pinch.dist > 0) map.zoomBy(dist / pinch.dist, mid[0], mid[1]);
      pinch = { dist, mid };
      return;
    }
    if (!drag) {
      app.hoverAt(p[0], p[1]);
      return;
    }
    if (Math.hypot(p[0] - drag.start[0], p[1] - drag.start[1]) > CLICK_PX) drag.moved = true;
    if (drag.tool === 'pan') {
      map.panBy(p[0] - drag.last[0], p[1] - drag.last[1]);
    } else if (drag.tool === 'lasso') {
      const q = drag.pts[drag.pts.length - 1];
      if (Math.hypot(p[0] - q[0], p[1] - q[1]) >= 2) drag.pts.push(p);
      if (drag.moved) showPath(drag.pts, false);
    } else if (drag.tool === 'box' && drag.moved) {
      const [x0, y0] = drag.start;
      showPath([[x0, y0], [p[0], y0], p, [x0, p[1]]], true);
    }
    drag.last = p;
  });

  const finish = (e) => {
    pointers.delete(e.pointerId);
    if (pinch) {
      if (pointers.size < 2) pinch = null;
      return;
    }
    const d = drag;
    drag = null;
    showPath([]);
    if (!d) return;
    const p = local(e);
    if (!d.moved) {
      app.clickAt(p[0], p[1], d.toggle);
      return;
    }
    if (d.tool === 'lasso' && d.pts.length >= 3) {
      app.selectPolygon(d.pts.map((q) => map.toData(q[0], q[1])), d.mode);
    } else if (d.tool === 'box') {
      const [x0, y0] = d.start;
      app.selectPolygon([[x0, y0], [p[0], y0], p, [x0, p[1]]].map((q) => map.toData(q[0], q[1])), d.mode);
    }
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', (e) => { pointers.delete(e.pointerId); drag = null; pinch = null; showPath([]); });
  canvas.addEventListener('pointerleave', () => { if (!drag) app.hoverAt(-1, -1); });

  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    const [x, y] = local(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    if (!e.ctrlKey && app.focusScrolls()) { app.scrollFocus(dy); return; } // a tall focus grid scrolls
    if (e.ctrlKey && Math.abs(dy) < 50) map.zoomBy(Math.exp(-dy * 0.01), x, y); // trackpad pinch
    else map.zoomBy(Math.exp(-dy * 0.0015), x, y);
  }, { passive: false });

  canvas.addEventListener('dblclick', (e) => {
    const [x, y] = local(e);
    const v = map.view();
    const [dx, dy] = map.toData(x, y);
    map.setView({ x: dx + (v.x - dx) / 2, y: dy + (v.y - dy) / 2, k: v.k * 2 }, 250);
  });
}
