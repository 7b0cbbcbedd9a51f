"""Scale-out figures: per-item stage rates on the local and the Ray executor, sample-fit layouts
for large synthetic collections, and how many cores 10M images in one hour would take.

- Ingest (read, hash, thumbnail) and embed (classic) images/s on this machine's cores, with the
  local executor and with Ray (started here), in the same run, after each has warmed up.
- Layout seconds and peak memory for synthetic 512-d embeddings through the sample-fit path,
  plus HDBSCAN on the 2-D layout; each size runs in its own process so its peak is its own.
- A projection: cores needed for 10M images in an hour, from the measured per-core rates (and the
  face detector / face embedder rates in benchmarks/results/bench_faces.json when present).

Usage: python benchmarks/bench_scale.py [--images 400] [--sizes 100000,1000000] [--sample 200000]
Prints one summary line; writes benchmarks/results/bench_scale.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import synthetic  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TARGET_IMAGES, TARGET_SECONDS = 10_000_000, 3600


def _photos(folder: Path, n: int) -> list[tuple[str, str]]:
    """``n`` distinct 640x480 JPEGs (camera-photo sized decode work)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    files = []
    for i in range(n):
        arr = np.roll(base, i * 7, axis=1) // 2 + rng.integers(0, 128, (1, 1, 3), dtype=np.uint8)
        p = folder / f"img_{i:05d}.jpg"
        Image.fromarray(arr).save(p, quality=90)
        files.append((str(p), p.name))
    return files


def _rate(executor, fn, tasks: list[tuple], count) -> float:
    """Items per second over ``tasks`` after one warm-up round (worker start-up, imports)."""
    list(executor.map_unordered(fn, tasks[:executor.workers]))
    t = time.perf_counter()
    n = sum(count(r) for r in executor.map_unordered(fn, tasks))
    return n / (time.perf_counter() - t)


def stage_rates(n_images: int, batch: int) -> dict:
    import ray

    from pixplot.embedders.classic import ClassicEmbedder
    from pixplot.executor import LocalExecutor
    from pixplot.ray_executor import RayExecutor
    from pixplot.work import embed_batch, ingest_batch

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    files = _photos(tmp / "images", n_images)
    chunks = [files[i:i + batch] for i in range(0, len(files), batch)]
    emb = ClassicEmbedder()
    embed_tasks = [(emb, [(Path(p).stem, p, None, None) for p, _ in c], 0.2) for c in chunks]
    out: dict = {"images": n_images, "batch": batch, "cores": os.cpu_count()}
    for name in ("local", "ray"):
        if name == "local":
            ex = LocalExecutor(2)
        else:
            ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                     logging_level="WARNING")
            ex = RayExecutor()
        thumbs = tmp / f"thumbs-{name}"
        ingest_tasks = [(c, str(thumbs), 256) for c in chunks]
        out[name] = {
            "ingest_images_per_s": round(_rate(ex, ingest_batch, ingest_tasks, len), 2),
            "embed_images_per_s": round(_rate(ex, embed_batch, embed_tasks, lambda r: len(r[0])), 2),
        }
        ex.close()
        if name == "ray":
            ray.shutdown()
    out["ray_vs_local_embed"] = round(out["local"]["embed_images_per_s"] / out["ray"]["embed_images_per_s"], 3)
    return out


def _cpu_s() -> float:
    """CPU seconds of this process so far (user + system, every thread): on a shared machine
    this moves far less with other load than wall time does."""
    t = os.times()
    return t.user + t.system


def _write_bundle_files(out: Path, X: np.ndarray, P: np.ndarray, labels: np.ndarray, clusters: list) -> None:
    """The bundle files a build writes for a collection this size (items, embeddings, layout,
    labels, clusters), streamed to disk (no in-memory copy of the embeddings)."""
    data = out / "data"
    (data / "layouts").mkdir(parents=True, exist_ok=True)
    (data / "clusters").mkdir(parents=True, exist_ok=True)
    with open(data / "items.json", "w") as f:
        json.dump({"items": [{"id": str(i), "source": f"img_{i}.jpg"} for i in range(len(X))]}, f)
    with open(data / "embeddings.npy", "wb") as f:
        np.save(f, X)
    (data / "layouts" / "umap.f32").write_bytes(P.astype("<f4").tobytes())
    (data / "clusters" / "hdbscan.i32").write_bytes(labels.astype("<i4").tobytes())
    with open(data / "clusters" / "hdbscan.json", "w") as f:
        json.dump({"clusters": clusters}, f)


def layout_one(n: int, sample: int, stock_timeout: float) -> dict:
    """One size, in this process: the sample-fit layout, our clustering of it, the bundle files,
    then (for the ratio) stock single-core HDBSCAN on the whole layout, given ``stock_timeout``
    seconds of wall time (it runs in a child process so that it can be stopped)."""
    import multiprocessing as mp

    from sklearn.metrics import adjusted_rand_score

    from pixplot.cluster import HDBSCANClusterer, describe_clusters, relabel_by_size
    from pixplot.executor import LocalExecutor
    from pixplot.project import UMAPProjector
    from pixplot.sample_fit import peak_rss_mib, sample_fit_layout

    X, y = synthetic(n, k=50)
    ex = LocalExecutor(2)
    t, c = time.perf_counter(), _cpu_s()
    P, report = sample_fit_layout(UMAPProjector(seed=24), X, min(sample, n // 2), ex, Path(tempfile.mkdtemp()))
    layout_s, layout_cpu = time.perf_counter() - t, _cpu_s() - c
    ex.close()
    own, kids = peak_rss_mib()
    r: dict = {"items": n, "sample": report.sample, "layout_seconds": round(layout_s, 1),
               "layout_cpu_seconds_driver": round(layout_cpu, 1),
               "fit_seconds": report.fit_seconds, "transform_seconds": report.transform_seconds,
               "pca_seconds": report.pca_seconds, "peak_rss_mib_driver": own,
               "peak_rss_mib_worker": kids, "input_mib": round(X.nbytes / 2**20, 1)}
    print(json.dumps(r), flush=True)  # the layout's figures first, in case clustering runs out of time

    t, c = time.perf_counter(), _cpu_s()
    ours = HDBSCANClusterer(min_cluster_size=15).cluster(P)
    r["cluster_seconds"] = round(time.perf_counter() - t, 1)
    r["cluster_cpu_seconds"] = round(_cpu_s() - c, 1)
    t = time.perf_counter()
    labels, _ = relabel_by_size(ours)
    clusters = describe_clusters(labels, X, [str(i) for i in range(n)])
    out = Path(tempfile.mkdtemp(prefix="bench-scale-bundle-"))
    _write_bundle_files(out, X, P, labels, clusters)
    r["bundle_seconds"] = round(time.perf_counter() - t, 1)
    r["end_to_end_seconds"] = round(layout_s + r["cluster_seconds"] + r["bundle_seconds"], 1)
    r["clusters"], r["noise"] = int(labels.max() + 1), round(float((labels < 0).mean()), 4)
    r["ari_vs_truth"] = round(float(adjusted_rand_score(y, labels)), 4)
    r["peak_rss_mib_driver"], r["peak_rss_mib_worker"] = peak_rss_mib()
    print(json.dumps(r), flush=True)
    del X, clusters

    # Stock: hdbscan as a user calls it on the whole layout, single core.
    np.save(out / "layout.npy", P)
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(_stock_hdbscan, (str(out / "layout.npy"),))
        try:
            stock, stock_s = job.get(timeout=stock_timeout)
            r["stock_hdbscan_seconds"] = round(stock_s, 1)
            r["cluster_ratio_vs_stock"] = round(stock_s / max(r["cluster_seconds"], 1e-3), 1)
            r["ari_vs_stock"] = round(float(adjusted_rand_score(stock, ours)), 4)
            r["stock_ari_vs_truth"] = round(float(adjusted_rand_score(y, stock)), 4)
        except mp.TimeoutError:
            r["stock_hdbscan_seconds"] = f"> {stock_timeout:.0f} (stopped)"
            r["cluster_ratio_vs_stock"] = f"> {stock_timeout / max(r['cluster_seconds'], 1e-3):.0f}"
            pool.terminate()
    return r


def _stock_hdbscan(path: str) -> tuple[np.ndarray, float]:
    import hdbscan

    P = np.load(path).astype(np.float64)
    t = time.perf_counter()
    labels = hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(P)
    return labels, time.perf_counter() - t


def projection(rates: dict) -> dict:
    """Cores for 10M images in one hour, per stage and for a whole build, from per-core rates."""
    need = TARGET_IMAGES / TARGET_SECONDS
    per_core = {
        "ingest (read, hash, preview)": rates["local"]["ingest_images_per_s"] / 2,
        "embed (classic)": rates["local"]["embed_images_per_s"] / 2,
    }
    faces = RESULTS / "bench_faces.json"
    if faces.is_file():
        f = json.loads(faces.read_text())
        cpus = f.get("machine", {}).get("cpus", 2)
        if f.get("detection", {}).get("images_per_s"):
            per_core["detect (MTCNN faces, bench_faces)"] = f["detection"]["images_per_s"] / cpus
        if f.get("embedding", {}).get("faces_per_s_one_process"):
            per_core["embed (dlib face, per face, bench_faces)"] = f["embedding"]["faces_per_s_one_process"] / cpus
    table = {k: {"images_per_s_per_core": round(v, 2), "cores": math.ceil(need / v)} for k, v in per_core.items()}
    whole = [k for k in per_core if k.startswith(("ingest", "embed (classic"))]
    s_per_image = sum(1 / per_core[k] for k in whole)
    table["whole image build (ingest + classic embed)"] = {"cores": math.ceil(need * s_per_image)}
    face_keys = [k for k in per_core if "bench_faces" in k]
    if len(face_keys) == 2:
        s_face = 1 / per_core[whole[0]] + sum(1 / per_core[k] for k in face_keys)  # ~1 face per image
        table["face build (ingest + detect + face embed, ~1 face/image)"] = {"cores": math.ceil(need * s_face)}
    return {"images": TARGET_IMAGES, "seconds": TARGET_SECONDS, "images_per_s_needed": round(need, 1),
            "stages": table}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--sample", type=int, default=200_000)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per size (everything)")
    ap.add_argument("--stock-timeout", type=int, default=1200, help="seconds for stock HDBSCAN per size")
    ap.add_argument("--skip-rates", action="store_true")
    ap.add_argument("--out", default=str(RESULTS / "bench_scale.json"), help="result JSON (kept entries are updated)")
    ap.add_argument("--layout-one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.layout_one:
        print(json.dumps(layout_one(args.layout_one, args.sample, args.stock_timeout)))
        return
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    result: dict = json.loads(path.read_text()) if path.is_file() else {}
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if not args.skip_rates:
        result["stage_rates"] = stage_rates(args.images, args.batch)
        result["projection_10M_in_1h"] = projection(result["stage_rates"])
        path.write_text(json.dumps(result, indent=1))
    layouts = result.setdefault("layouts", {})
    for n in (int(s) for s in args.sizes.split(",") if s):
        try:
            r = subprocess.run([sys.executable, __file__, "--layout-one", str(n), "--sample", str(args.sample),
                                "--stock-timeout", str(args.stock_timeout)],
                               capture_output=True, text=True, timeout=args.timeout)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
            layouts[str(n)] = json.loads(lines[-1]) if lines else {"error": r.stderr[-800:]}
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            lines = [ln for ln in out.splitlines() if ln.startswith("{")]
            layouts[str(n)] = {**(json.loads(lines[-1]) if lines else {}),
                               "error": f"unfinished after {args.timeout} s" if lines
                               else f"layout unfinished after {args.timeout} s"}
        path.write_text(json.dumps(result, indent=1))
    sr = result.get("stage_rates", {})
    parts = []
    if sr:
        parts.append(f"embed local {sr['local']['embed_images_per_s']}/s ray {sr['ray']['embed_images_per_s']}/s "
                     f"(ratio {sr['ray_vs_local_embed']})")
    for n, r in layouts.items():
        if "end_to_end_seconds" in r:
            parts.append(f"{int(n):,}: {r['layout_seconds']}s layout + {r['cluster_seconds']}s clusters "
                         f"(stock hdbscan {r.get('stock_hdbscan_seconds', '?')}s, ratio "
                         f"{r.get('cluster_ratio_vs_stock', '?')}, ARI vs stock {r.get('ari_vs_stock', '-')}) + "
                         f"{r['bundle_seconds']}s bundle = {r['end_to_end_seconds']}s, "
                         f"{r['peak_rss_mib_driver'] / 1024:.1f} GiB peak, ARI vs truth {r['ari_vs_truth']}")
        elif "layout_seconds" in r:
            parts.append(f"{int(n):,}: {r['layout_seconds']}s layout, {r['peak_rss_mib_driver']:.0f} MiB peak; "
                         + r.get("error", ""))
        else:
            parts.append(f"{int(n):,}: " + r.get("error", "?")[:80])
    print("bench_scale: " + "; ".join(parts))


if __name__ == "__main__":
    main()
