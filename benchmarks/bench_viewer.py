"""The viewer at 10k, 100k and 1M items: time to first paint, frame time while panning, lasso time.

Synthetic bundles (pixplot.synthetic) are served from 127.0.0.1 and opened in headless Chromium
(Debian's /usr/bin/chromium, WebGL2 through SwiftShader: software rendering on this machine's CPU
cores, so frame times are far above what a GPU gives). Per size:
- first paint: from navigation start until the first frame's pixels are in the framebuffer
  (the map draws from manifest + binary layout + cluster labels, before items.json is parsed);
- ready: items.json parsed (in a worker), store, clusters and saved state loaded;
- frame: median time of draw + GPU finish while panning, zoomed out (from 50k items the map is
  drawn once into a texture that panning moves, so a full redraw is reported too) and zoomed in
  (atlas thumbnails, only the items near the view);
- lasso: median time of the polygon query (a 64-vertex circle over the centre of the map), and
  of the query plus the selection update (store, flags, the selection panel's first render).
Usage: python benchmarks/bench_viewer.py [--sizes 10000,100000,1000000] [--cache DIR]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import threading
import time
from pathlib import Path

from pixplot.synthetic import copy_viewer, write_synthetic_bundle

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
OUT = Path(__file__).parent / "results" / "bench_viewer.json"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def bundle_for(n: int, cache: Path) -> tuple[Path, float]:
    """A synthetic bundle of n items (reused from the cache when present); seconds spent writing it."""
    root = cache / f"viewer-{n}"
    t0 = time.perf_counter()
    if not (root / "data" / "manifest.json").exists():
        write_synthetic_bundle(root, n, clusters=max(8, n // 2000), seed=1, cell_size=32)
    copy_viewer(root)
    return root, time.perf_counter() - t0


def measure(page, url: str, n: int) -> dict:
    page.goto(url)
    page.wait_for_function("window.pixplot && pixplot.timings.firstPaint", timeout=600_000, polling=20)
    first = page.evaluate("pixplot.timings.firstPaintSinceNavigation")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=900_000, polling=100)
    timings = page.evaluate("pixplot.timings")
    frames = 5 if n >= 1_000_000 else 15
    out_frames = page.evaluate(
        """(k) => { const t = []; for (let i = 0; i < k; i++) { pixplot.pan(7, 3); t.push(pixplot.frameMs()); }
                  return t; }""", frames)
    full = page.evaluate(
        """(k) => { const m = pixplot.app.map; const keep = m.cacheMin; m.cacheMin = Infinity; const t = [];
                  for (let i = 0; i < k; i++) { pixplot.pan(7, 3); t.push(pixplot.frameMs()); }
                  m.cacheMin = keep; return t; }""", 3)
    # Zoom in to one cluster until thumbnails are drawn from the atlases.
    page.evaluate("""() => { const a = pixplot.app; const c = a.clusters[0];
                    const [x0, y0, x1, y1] = a.boxOf(c.members); const cam = a.map.camera;
                    cam.set(cam.fitBox(x0, y0, x1, y1)); a.map.sizeScale = 1;
                    while (a.map.pointPx() < 12) cam.k *= 1.5; a.map.requestRender(); }""")
    page.wait_for_timeout(300)
    page.evaluate("pixplot.app.map.updateDetail()")
    page.wait_for_function("pixplot.app.map.atlases.sheets.loading.size === 0", timeout=120_000)
    in_frames = page.evaluate(
        """(k) => { const t = []; for (let i = 0; i < k; i++) { pixplot.pan(5, 2); t.push(pixplot.frameMs()); }
                  return t; }""", frames)
    lassos = page.evaluate(
        """() => { const poly = []; for (let i = 0; i < 64; i++) { const a = i / 64 * 2 * Math.PI;
                     poly.push([0.6 * Math.cos(a), 0.6 * Math.sin(a)]); }
                   const r = []; for (let k = 0; k < 7; k++) {
                     const q = pixplot.lasso(poly); r.push({ ...q, total: pixplot.app.lastLasso.totalMs }); }
                   return r; }""")
    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
    return {
        "items": n,
        "first_paint_ms": round(first, 1),
        "first_paint_since_module_ms": round(timings["firstPaint"], 1),
        "ready_ms": round(timings["ready"], 1),
        "frame_ms_zoomed_out_median": round(statistics.median(out_frames), 1),
        "frame_ms_zoomed_out_full_redraw_median": round(statistics.median(full), 1),
        "frame_ms_zoomed_in_median": round(statistics.median(in_frames), 1),
        "lasso_ms_median": round(statistics.median(r["ms"] for r in lassos), 2),
        "lasso_with_selection_update_ms_median": round(statistics.median(r["total"] for r in lassos), 2),
        "lasso_selected": lassos[0]["count"],
        "js_heap_mb": round(heap / 2**20, 1) if heap else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--cache", default=os.environ.get("PIXPLOT_BENCH_CACHE", "/tmp/pixplot-bench-viewer"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for n in [int(s) for s in args.sizes.split(",")]:
            root, made = bundle_for(n, cache)
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.set_default_timeout(900_000)
            try:
                r = measure(page, f"http://127.0.0.1:{srv.server_address[1]}/", n)
            finally:
                ctx.close()
                srv.shutdown()
            r["bundle_write_s"] = round(made, 1)
            r["load_average"] = round(os.getloadavg()[0], 2)
            results.append(r)
            print(json.dumps(r), flush=True)
        browser.close()
    doc = {"benchmark": "viewer", "renderer": "Chromium headless, WebGL2 on SwiftShader (CPU)",
           "cores": os.cpu_count(), "results": results}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1))
    print("viewer: " + " | ".join(
        f"{r['items']:,} items: first paint {r['first_paint_ms'] / 1000:.2f} s, ready {r['ready_ms'] / 1000:.1f} s, "
        f"pan frame {r['frame_ms_zoomed_out_median']:.0f} ms "
        f"(full redraw {r['frame_ms_zoomed_out_full_redraw_median']:.0f} ms, "
        f"zoomed in {r['frame_ms_zoomed_in_median']:.0f} ms), "
        f"lasso {r['lasso_ms_median']:.1f} ms" for r in results))


if __name__ == "__main__":
    main()
