"""The viewer at 10k, 100k and 1M items: time to first paint, frame time while panning, lasso time.

Synthetic bundles (pixplot.testing) are served from 127.0.0.1 and opened in headless Chromium
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

Find and repair (``--parts find``; issue 13 targets: <= 50 ms in the browser at 100k, <= 20 ms on
the server at 1M), on clustered vectors that follow the bundle's clusters:
- browser, static bundle: fetching and decoding the compact vectors (data/vectors.f16, 64-d
  float16) once, then "more like this" for one item and for a whole cluster (its centroid), and
  similar clusters (every cluster's centroid), through the Find panel's own code;
- server (in process, the code behind /api/neighbors etc.): 256-d float32 embeddings; building the
  index (exact below 200k, faiss IVF above), neighbours of one item and of a cluster, with the exact
  search measured beside it as the baseline, split of one cluster, similar clusters with the
  centroids kept, and label suggestions for 10,000 unlabelled items against 5 % labelled.
Review (``--parts review``; issue 13 items 1 and 4), in the browser through the app's own actions:
- focus grid: opening the cluster nearest 400 members with its members laid out on a grid
  (grid, positions, picking grid, flags), against opening the same cluster in place (selection,
  flags and camera: the baseline, same run), leaving focus, and a frame while focused;
- filters: a literal text search (in the items worker) and a category facet, each with the map's
  flags updated, and turning the filter into a selection; the facet against the lasso query of a
  third of the items (same run).
Usage: python benchmarks/bench_viewer.py [--sizes 10000,100000,1000000] [--parts render,find,review] [--cache DIR]
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

import numpy as np

from pixplot.bundle import copy_viewer
from pixplot.testing import write_synthetic_bundle

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


def measure_review(page, url: str, n: int) -> dict:
    """Focus grid and filters at this size (see the module docstring)."""
    if page.url != url:
        page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=900_000, polling=100)
    return page.evaluate(
        """async () => { const a = pixplot.app, reps = 5;
             const med = (xs) => +xs.slice().sort((p, q) => p - q)[Math.floor(xs.length / 2)].toFixed(1);
             let c = 0;
             a.clusters.forEach((x, k) => { if (Math.abs(x.size - 400) < Math.abs(a.clusters[c].size - 400)) c = k; });
             const mem = a.membersOf(c);
             const base = [], focus = [], leave = [];
             for (let r = 0; r < reps; r++) {
               let s = performance.now();
               a.store.setView({ cluster: c }); a.selectCluster(c);
               a.map.zoomToPoints(mem, { maxPointPx: 56, animate: false }); a.sync({ flags: true });
               base.push(performance.now() - s);
               s = performance.now(); a.openCluster(c); focus.push(performance.now() - s);
               s = performance.now(); a.leaveFocus(false); leave.push(performance.now() - s);
             }
             a.openCluster(c); await pixplot.settled();
             a.map.updateDetail(); // the atlas sheets the grid needs, loaded before timing frames
             const idle = () => new Promise((r) => setTimeout(r, 50));
             for (let t = 0; t < 600 && a.map.atlases.sheets.loading.size; t++) await idle();
             const px = a.map.pointPx();
             pixplot.frameMs(); pixplot.frameMs(); // warm-up: textures first drawn
             const frames = []; for (let k = 0; k < 5; k++) frames.push(pixplot.frameMs());
             a.leaveFocus(false); a.store.setView({ cluster: null }); a.store.clearSelection();
             const text = [], facet = [], select = [];
             for (let r = 0; r < reps; r++) {
               let s = performance.now();
               await a.setFilter({ text: r % 2 ? 'dog' : 'bird' }); a.sync({ flags: true });
               text.push(performance.now() - s);
               await a.clearFilter();
               s = performance.now(); await a.setFilter({ category: ['cat'] }); a.sync({ flags: true });
               facet.push(performance.now() - s);
               s = performance.now(); a.selectFiltered(); select.push(performance.now() - s);
               await a.clearFilter(); a.store.clearSelection();
             }
             await a.setFilter({ category: ['cat'] }); const matched = a.filterCount; await a.clearFilter();
             return { focus_cluster_size: mem.length, focus_thumbnail_px: +px.toFixed(1),
                      open_in_place_ms_median: med(base), focus_open_ms_median: med(focus),
                      focus_vs_in_place: +(med(focus) / Math.max(0.1, med(base))).toFixed(2),
                      focus_leave_ms_median: med(leave), focus_frame_ms_median: med(frames),
                      search_text_ms_median: med(text), filter_facet_ms_median: med(facet),
                      filter_select_ms_median: med(select), filter_matched: matched }; }""")


def clustered(labels: np.ndarray, dim: int, seed: int = 0, spread: float = 0.35) -> np.ndarray:
    """Unit vectors: one random direction per cluster (noise: its own random direction) plus noise."""
    rng = np.random.default_rng(seed)
    k = int(labels.max(initial=-1)) + 2
    centres = rng.normal(size=(k, dim)).astype(np.float32)
    out = np.empty((len(labels), dim), np.float32)
    for s in range(0, len(labels), 100_000):
        part = labels[s:s + 100_000]
        X = centres[part] + spread * rng.normal(size=(len(part), dim)).astype(np.float32)
        out[s:s + 100_000] = X / np.linalg.norm(X, axis=1, keepdims=True)
    return out


def add_vectors(root: Path) -> None:
    """Give a synthetic bundle compact vectors (64-d) that follow its clusters."""
    from pixplot.vectors import write_vectors

    man_path = root / "data" / "manifest.json"
    man = json.loads(man_path.read_text())
    if man.get("vectors", {}).get("dim") == 64 and (root / "data" / man["vectors"]["file"]).exists():
        return
    labels = np.fromfile(root / "data" / man["clusterings"][0]["labels"], dtype="<i4")
    man["vectors"] = write_vectors(root / "data", clustered(labels, 64, seed=5))
    man_path.write_text(json.dumps(man, indent=1))


def measure_find_browser(page, url: str, n: int) -> dict:
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=900_000, polling=100)
    return page.evaluate(
        """async () => { const f = pixplot.app.find.finder, a = pixplot.app;
             const t0 = performance.now(); await f.loadVectors(); const load = performance.now() - t0;
             const med = (xs) => xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)];
             const one = []; for (let k = 0; k < 7; k++) { const i = (k * 7919) % a.n;
               const s = performance.now(); await f.neighbours([i], 24); one.push(performance.now() - s); }
             const mem = Array.from(a.membersOf(0));
             const cl = []; for (let k = 0; k < 5; k++) { const s = performance.now(); await f.neighbours(mem, 24);
               cl.push(performance.now() - s); }
             const sim = []; for (let k = 0; k < 3; k++) { const s = performance.now();
               await f.similar({ key: '0', rows: mem }, 8); sim.push(performance.now() - s); }
             return { vectors_load_ms: Math.round(load), neighbours_item_ms_median: +med(one).toFixed(1),
                      neighbours_item_ms_min: +Math.min(...one).toFixed(1),
                      neighbours_cluster_ms_median: +med(cl).toFixed(1), cluster_size: mem.length,
                      similar_clusters_ms_median: +med(sim).toFixed(1) }; }""")


KERNEL_JS = """
import { Finder } from '%s';
const n = %d, d = 64;
const f = new Finder({ store: { on() {} }, n, saver: { mode: 'static' }, manifest: {} });
f.dim = d; f.vectors = new Float32Array(n * d);
for (let i = 0; i < f.vectors.length; i++) f.vectors[i] = Math.random() - 0.5;
const cpu = [], wall = [];
for (let r = 0; r < 9; r++) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  f.searchLocal(f.centroid([(r * 7919) %% n]), 24, [(r * 7919) %% n]);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000); wall.push(performance.now() - t0);
}
const med = (xs) => xs.sort((a, b) => a - b)[4];
console.log(JSON.stringify({ cpu_ms_median: +med(cpu).toFixed(1), wall_ms_median: +med(wall).toFixed(1) }));
"""


def measure_find_kernel_cpu(n: int) -> dict | None:
    """The browser's neighbour search (assets/find.js) in Node's V8, Chromium's engine, timed in
    CPU time: what one query costs a core, whatever else the machine runs (wall time on this
    shared machine mostly measures the wait for a core)."""
    import shutil
    import subprocess
    import tempfile

    node = shutil.which("node")
    if not node:
        return None
    from pixplot.bundle import WEB_DIR as WEB

    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "kernel.mjs"
        script.write_text(KERNEL_JS % ((WEB / "assets" / "find.js").resolve().as_uri(), n))
        out = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}


def measure_find_server(root: Path, n: int, dim: int = 256) -> dict:
    """The code behind the find routes, in process, on 256-d embeddings that follow the clusters."""
    from pixplot.knn import SEARCH_EXACT_LIMIT, VectorIndex
    from seeen_ext import find

    labels = np.fromfile(root / "data" / "clusters" / "kmeans.i32", dtype="<i4")
    E = clustered(labels, dim, seed=9)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    index = VectorIndex(E, exact_limit=SEARCH_EXACT_LIMIT)
    build = time.perf_counter() - t0
    exact = index if index.kind == "exact" else VectorIndex(E, kind="exact")

    mins: dict[str, float] = {}

    def med_ms(fn, reps: int, name: str = "") -> float:
        ts, cpu = [], []
        for r in range(reps):
            s, c = time.perf_counter(), time.process_time()
            fn(r)
            ts.append((time.perf_counter() - s) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        mins[name] = round(min(ts), 2)
        mins[name.replace("_ms_min", "_cpu_ms_median")] = round(statistics.median(cpu), 2)
        return round(statistics.median(ts), 2)

    items = rng.choice(n, 30, replace=False)
    groups = find.group_rows(labels)
    groups.pop(-1, None)
    cluster = groups[0]
    one = med_ms(lambda r: find.neighbours_of(index, E, [int(items[r])], 24), 30, "neighbours_item_ms_min")
    one_exact = med_ms(lambda r: find.neighbours_of(exact, E, [int(items[r])], 24), 5, "neighbours_item_exact_ms_min")
    whole = med_ms(lambda r: find.neighbours_of(index, E, cluster.tolist(), 24), 5)
    got = {h.row for h in find.neighbours_of(index, E, [int(items[0])], 24)}
    want = {h.row for h in find.neighbours_of(exact, E, [int(items[0])], 24)}
    t0 = time.perf_counter()
    cents = find.centroids(E, groups)
    cent_s = time.perf_counter() - t0
    sim = med_ms(lambda r: find.similar_groups(E, groups, 0, 8, cents=cents), 5)
    split = med_ms(lambda r: find.split(E, cluster.tolist()), 1)
    # Suggestions: 5 % labelled with their cluster's name, 10,000 unlabelled candidates.
    from pixplot.bundle import open_bundle

    bundle = open_bundle(root)
    bundle.__dict__["embeddings"] = E  # the cached property, set to these 256-d vectors
    ids = bundle.ids
    lab_rows = rng.choice(n, n // 20, replace=False)
    lab = {ids[i]: f"c{labels[i]}" for i in lab_rows if labels[i] >= 0}
    t0 = time.perf_counter()
    rec = find.suggester(bundle, lab, set())
    rec_s = time.perf_counter() - t0
    cands = np.setdiff1d(rng.choice(n, min(n, 12_000), replace=False), lab_rows)[:10_000]
    t0 = time.perf_counter()
    sug = find.suggest(bundle, lab, set(), candidates=cands, rec=rec)
    sug_s = time.perf_counter() - t0
    right = sum(s.label == f"c{labels[s.row]}" for s in sug.items)
    return {"dim": dim, "index": index.kind, "index_build_s": round(build, 1),
            "neighbours_item_ms_median": one, "neighbours_item_exact_ms_median": one_exact,
            "index_recall_at_24_one_query": round(len(got & want) / 24, 3),
            "neighbours_cluster_ms_median": whole, "cluster_size": int(len(cluster)),
            "centroids_s": round(cent_s, 2), "similar_clusters_ms_median": sim, "split_ms": split,
            "suggest_setup_s": round(rec_s, 1), "suggest_10k_s": round(sug_s, 2),
            "suggest_accuracy": round(right / max(1, len(sug.items)), 4),
            "suggest_coverage": round(len(sug.items) / max(1, sug.candidates), 4),
            **{k: v for k, v in mins.items() if k}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--parts", default="render,find", help="render (paint, pan, lasso) and/or find (issue 13)")
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
            parts = args.parts.split(",")
            if "find" in parts:
                add_vectors(root)
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.set_default_timeout(900_000)
            url = f"http://127.0.0.1:{srv.server_address[1]}/"
            r = {"items": n}
            try:
                if "render" in parts:
                    r = measure(page, url, n)
                if "review" in parts:
                    r["review"] = measure_review(page, url, n)
                if "find" in parts:
                    r["find_browser"] = measure_find_browser(page, url, n)
                    r["find_browser"]["search_kernel_node"] = measure_find_kernel_cpu(n)
            finally:
                ctx.close()
                srv.shutdown()
            if "find" in parts:
                r["find_server"] = measure_find_server(root, n)
            r["bundle_write_s"] = round(made, 1)
            r["load_average"] = round(os.getloadavg()[0], 2)
            results.append(r)
            print(json.dumps(r), flush=True)
        browser.close()
    # Parts measured by an earlier run at the same size are kept (a run of one part adds to it).
    kept = {}
    if OUT.exists():
        try:
            kept = {r["items"]: r for r in json.loads(OUT.read_text()).get("results", [])}
        except (ValueError, KeyError, TypeError):
            kept = {}
    for r in results:
        kept[r["items"]] = {**kept.get(r["items"], {}), **r}
        merged = kept[r["items"]]
        if "review" in merged and "lasso_ms_median" in merged:  # the facet against the lasso at this size
            facet, lasso = merged["review"]["filter_facet_ms_median"], merged["lasso_ms_median"]
            merged["review"]["facet_vs_lasso"] = round(facet / max(0.01, lasso), 2)
    doc = {"benchmark": "viewer", "renderer": "Chromium headless, WebGL2 on SwiftShader (CPU)",
           "cores": os.cpu_count(), "results": [kept[k] for k in sorted(kept)]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1))
    finds = [r for r in results if "find_server" in r]
    if finds:
        def line(r: dict) -> str:
            b, sv = r["find_browser"], r["find_server"]
            return (f"{r['items']:,} items: more like this {b['neighbours_item_ms_median']:.1f} ms in the browser, "
                    f"{sv['neighbours_item_ms_median']:.2f} ms on the server ({sv['index']}; exact "
                    f"{sv['neighbours_item_exact_ms_median']:.1f} ms), split {sv['split_ms']:.0f} ms, "
                    f"similar clusters {sv['similar_clusters_ms_median']:.1f} ms, "
                    f"suggestions for 10k {sv['suggest_10k_s']:.1f} s")
        print("find: " + " | ".join(line(r) for r in finds))
    reviews = [r for r in results if "review" in r]
    if reviews:
        def rline(r: dict) -> str:
            v = r["review"]
            return (f"{r['items']:,} items: focus {v['focus_cluster_size']} items {v['focus_open_ms_median']:.0f} ms "
                    f"({v['focus_vs_in_place']:.1f}x opening in place, {v['focus_thumbnail_px']:.0f} px), leave "
                    f"{v['focus_leave_ms_median']:.0f} ms, search {v['search_text_ms_median']:.0f} ms, facet "
                    f"{v['filter_facet_ms_median']:.0f} ms, select matches {v['filter_select_ms_median']:.0f} ms")
        print("review: " + " | ".join(rline(r) for r in reviews))
    results = [r for r in results if "first_paint_ms" in r]
    if not results:
        return
    print("viewer: " + " | ".join(
        f"{r['items']:,} items: first paint {r['first_paint_ms'] / 1000:.2f} s, ready {r['ready_ms'] / 1000:.1f} s, "
        f"pan frame {r['frame_ms_zoomed_out_median']:.0f} ms "
        f"(full redraw {r['frame_ms_zoomed_out_full_redraw_median']:.0f} ms, "
        f"zoomed in {r['frame_ms_zoomed_in_median']:.0f} ms), "
        f"lasso {r['lasso_ms_median']:.1f} ms" for r in results))


if __name__ == "__main__":
    main()
