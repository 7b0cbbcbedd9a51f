"""The build: the one place that knows the order of the stages.

discover -> ingest (hash, decode, preview) -> [detect -> crop previews] -> embed
-> layouts -> clusters -> atlases -> bundle. Each per-item stage runs on the executor and
commits finished batches to the build cache, so a killed build resumes where it stopped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pixplot import __version__
from pixplot.cache import BuildCache
from pixplot.cluster import describe_clusters, relabel_by_size
from pixplot.discover import discover, load_metadata
from pixplot.embedders import default_embedder
from pixplot.errors import UserError
from pixplot.executor import make_executor
from pixplot.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text
from pixplot.imageio import DEFAULT_MAX_FILE_SIZE
from pixplot.plugins import create, get_class
from pixplot.project import grid_layout, reduce_dims
from pixplot.sample_fit import sample_fit_layout
from pixplot.sources import is_s3, s3_settings, worker_env
from pixplot.sources import read as read_source
from pixplot.work import atlas_batch, crop_thumbs_batch, detect_batch, embed_batch, ingest_batch, item_id

WEB_DIR = Path(__file__).parent / "web"
ATLAS_SIZE = 2048
WEB_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


@dataclass
class BuildOptions:
    images: str
    out_dir: str = "output"
    metadata: str | None = None
    max_images: int | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger files are skipped unread
    shuffle: bool = False
    seed: int = 24
    embedder: str | None = None  # default: the detector's, else "classic"
    detector: str = "none"
    layouts: str = "umap,grid"
    cluster: str | None = None  # default: the detector's, else "hdbscan"
    cluster_on: str | None = None  # "embedding" | "umap"; default: the detector's, else "umap"
    min_cluster_size: int | None = None
    min_samples: int | None = None
    eps: float | None = None
    max_clusters: int | None = None
    n_neighbors: int = 15
    min_dist: float = 0.1
    umap_epochs: int | None = None  # None: UMAP's default, 100 above 50k items
    metric: str = "cosine"
    cell_size: int = 32
    thumb_size: int = 256
    crop_margin: float = 0.2
    originals: str = "link"  # link | copy | none
    use_cache: bool = True
    executor: str = "local"
    workers: int | None = None
    batch_size: int | None = None
    ray_address: str | None = None  # None: RAY_ADDRESS when set, else a local Ray instance
    num_gpus: float = 0.0  # per embedding task, on the ray executor
    endpoint_url: str | None = None  # S3 input: endpoint and profile
    profile: str | None = None
    umap_fit_sample: int = 200_000  # above this many items UMAP fits on a sample, places the rest
    plugin_options: dict[str, Any] = field(default_factory=dict)
    progress: bool = True


@dataclass
class BuildResult:
    out_dir: Path
    items: int
    images: int
    skipped: list[tuple[str, str]]
    no_detections: int
    clusters: int
    noise: int
    dropped_clusters: int
    embedded: int  # items embedded in this run (the rest came from the cache)
    manifest: dict[str, Any]
    timings: dict[str, float]


def _bar(opts: BuildOptions, total: int, desc: str, unit: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, disable=not opts.progress or total == 0,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _chunks(seq: list, size: int) -> list[list]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def build(opts: BuildOptions) -> BuildResult:
    # S3 settings reach this process's readers and, through the environment, its workers.
    with s3_settings(opts.endpoint_url, opts.profile):
        return _build(opts)


def _build(opts: BuildOptions) -> BuildResult:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(opts.out_dir)
    data = out / "data"
    thumbs = data / "thumbs"
    cache_dir = out / ".pixplot-cache"
    if opts.cell_size < 8 or opts.cell_size > 256:
        raise UserError(f"--cell_size {opts.cell_size}: choose between 8 and 256 pixels")
    if opts.originals not in ("link", "copy", "none"):
        raise UserError(f"--originals {opts.originals}: choose link, copy or none")
    layouts_wanted = [s.strip() for s in opts.layouts.split(",") if s.strip()]
    for name in layouts_wanted:
        if name not in ("umap", "tsne", "grid"):
            raise UserError(f"--layouts: unknown layout {name!r}; choose from umap, tsne, grid")
    if not layouts_wanted:
        raise UserError("--layouts: name at least one of umap, tsne, grid")

    # Resolve plugins first, so a bad name fails before any work.
    detector = None
    det_cls = None
    if opts.detector and opts.detector != "none":
        det_cls = get_class("detector", opts.detector)
        detector = create("detector", opts.detector, **opts.plugin_options)
    emb_name = opts.embedder or (det_cls.default_embedder if det_cls else None) or default_embedder()[0]
    emb_params = dict(opts.plugin_options)
    if opts.batch_size:
        emb_params["batch_size"] = opts.batch_size
    embedder = create("embedder", emb_name, **emb_params)
    cluster_name = opts.cluster or (det_cls.default_cluster if det_cls else None) or "hdbscan"
    cluster_on = opts.cluster_on or (det_cls.default_cluster_on if det_cls else None) or "umap"
    if cluster_on not in ("embedding", "umap"):
        raise UserError(f"--cluster-on {cluster_on}: choose embedding or umap")
    cparams: dict[str, Any] = dict(getattr(det_cls, "default_cluster_params", {}) or {})
    for k in ("min_cluster_size", "min_samples", "eps"):
        v = getattr(opts, k)
        if v is not None:  # what the user gave beats the detector's recommendation
            cparams[k] = v
    cparams.update({"n_clusters": opts.max_clusters, "seed": opts.seed})
    if cluster_name == "dbscan" and cluster_on == "embedding":
        cparams.setdefault("metric", "euclidean")
    clusterer = create("clusterer", cluster_name, **cparams)

    found = discover(opts.images, opts.max_images, opts.shuffle, opts.seed)
    files = found.files
    if not opts.use_cache and out.exists():
        shutil.rmtree(cache_dir, ignore_errors=True)
        shutil.rmtree(thumbs, ignore_errors=True)
    cache = BuildCache(cache_dir)
    extra = {} if opts.executor == "local" else {"address": opts.ray_address, "num_gpus": opts.num_gpus,
                                                  "env": worker_env()}
    executor = make_executor(opts.executor, opts.workers, **extra)
    try:
        # ---------------------------------------------------------------- ingest
        t = time.perf_counter()
        known = cache.file_rows()
        todo = []
        whole_thumbs = detector is None
        for f in files:
            if f.size is not None:  # listed from S3
                size, mtime_ns = f.size, f.mtime_ns
            else:
                try:
                    st = f.path.stat()
                except OSError:
                    todo.append(f)
                    continue
                size, mtime_ns = st.st_size, st.st_mtime_ns
            row = known.get(f.rel)
            fresh = (row and row["size"] == size and row["mtime_ns"] == mtime_ns
                     and not (row["error"] or "").startswith("too large"))  # the cap may have changed
            thumb_ok = (not whole_thumbs or row is None or row["error"]
                        or (row["thumb_size"] == opts.thumb_size
                            and (thumbs / f"{item_id(row['sha256'])}.jpg").exists()))
            if not (fresh and thumb_ok):
                todo.append(f)
        bar = _bar(opts, len(files), "Reading images", "img")
        bar.update(len(files) - len(todo))
        tasks = [([(str(f.path), f.rel) for f in chunk], str(thumbs) if whole_thumbs else None,
                  opts.thumb_size, opts.max_file_size) for chunk in _chunks(todo, 32)]
        for rows in executor.map_unordered(ingest_batch, tasks):
            cache.put_files(rows)
            for r in rows:
                known[r["rel"]] = r
            bar.update(len(rows))
        bar.close()
        timings["ingest"] = time.perf_counter() - t

        skipped: list[tuple[str, str]] = list(found.skipped)  # what discovery could not use
        aliases = dict(found.aliases)  # a duplicate's name -> the kept copy's, for metadata rows
        good = []
        first_of: dict[str, str] = {}
        for f in files:
            row = known[f.rel]
            if row["error"]:
                skipped.append((f.rel, row["error"]))
            elif row["sha256"] in first_of:
                skipped.append((f.rel, f"duplicate of {first_of[row['sha256']]}"))
                aliases[f.rel] = first_of[row["sha256"]]
            else:
                first_of[row["sha256"]] = f.rel
                good.append((f, row))
        if not good:
            raise UserError(f"--images {opts.images}: none of the {len(files)} files is a readable image "
                            f"(first problem: {skipped[0][0]}: {skipped[0][1]})")

        meta, meta_fields, unmatched = ({}, [], 0)
        extra_manifest: dict[str, Any] = {}
        if opts.metadata:
            md = load_metadata(opts.metadata, [f.rel for f, _ in good], aliases)
            meta, meta_fields, unmatched = md.by_rel, md.fields, len(md.unmatched)
            if md.followed:
                extra_manifest.setdefault("notes", []).append(
                    f"{len(md.followed)} metadata rows name a file skipped as a duplicate; each applies to "
                    f"the kept copy unless it has a row of its own (first: {md.followed[0][0]} -> "
                    f"{md.followed[0][1]})")
            if md.unmatched:
                extra_manifest.setdefault("notes", []).append(
                    f"{len(md.unmatched)} metadata rows match no file (first: {', '.join(md.unmatched[:3])})")

        # ---------------------------------------------------------------- detect
        items: list[dict[str, Any]] = []
        paths: dict[str, str] = {}
        no_detections = 0
        if detector is None:
            for f, row in good:
                iid = item_id(row["sha256"])
                paths[iid] = str(f.path)
                items.append(_item(iid, f.rel, row, None, meta.get(f.rel, {})))
        else:
            t = time.perf_counter()
            dets = cache.detections(detector.id)
            todo_d = [(str(f.path), row["sha256"]) for f, row in good if row["sha256"] not in dets]
            bar = _bar(opts, len(good), f"Detecting ({detector.name})", "img")
            bar.update(len(good) - len(todo_d))
            chunk = max(1, min(8, len(todo_d) // max(1, executor.workers * 4) or 1))
            for rows in executor.map_unordered(
                detect_batch, [(detector, c) for c in _chunks(todo_d, chunk)],
                in_process=detector.in_process,
            ):
                cache.put_detections(detector.id, rows)
                dets.update(rows)
                bar.update(len(rows))
            bar.close()
            timings["detect"] = time.perf_counter() - t
            seen: set[str] = set()
            for f, row in good:
                found = dets.get(row["sha256"], [])
                if not found:
                    no_detections += 1
                for d in found:
                    iid = item_id(row["sha256"], d["box"])
                    if iid in seen:
                        continue
                    seen.add(iid)
                    paths[iid] = str(f.path)
                    items.append(_item(iid, f.rel, row, d, meta.get(f.rel, {})))
            if not items:
                raise UserError(f"--detector {opts.detector}: found nothing in {len(good)} images; "
                                "nothing to map (try a lower --min_face_score or --min_face_size)")
            t = time.perf_counter()
            missing = [(paths[it["id"]], it["id"], it["box"]) for it in items
                       if not (thumbs / f"{it['id']}.jpg").exists()]
            bar = _bar(opts, len(items), "Cropping", "item")
            bar.update(len(items) - len(missing))
            for res in executor.map_unordered(
                crop_thumbs_batch,
                [(c, str(thumbs), opts.thumb_size, opts.crop_margin) for c in _chunks(missing, 32)],
            ):
                bar.update(len(res))
            bar.close()
            timings["crop"] = time.perf_counter() - t
        ids = [it["id"] for it in items]

        # ---------------------------------------------------------------- embed
        t = time.perf_counter()
        done = cache.embedded_ids(embedder.id)
        todo_e = [(it["id"], paths[it["id"]], it["box"], it["landmarks"]) for it in items if it["id"] not in done]
        bar = _bar(opts, len(items), f"Embedding ({embedder.name})", "item")
        bar.update(len(items) - len(todo_e))
        embedded = 0
        bs = max(1, getattr(embedder, "batch_size", 64))
        if not embedder.in_process:  # smaller batches keep every core busy
            bs = max(1, min(bs, -(-len(todo_e) // (executor.workers * 2)) if todo_e else bs))
        for got_ids, vecs in executor.map_unordered(
            embed_batch, [(embedder, c, opts.crop_margin) for c in _chunks(todo_e, bs)],
            in_process=embedder.in_process,
        ):
            if got_ids:
                cache.put_embeddings(embedder.id, got_ids, vecs)
            embedded += len(got_ids)
            bar.update(len(got_ids))
        bar.close()
        done = cache.embedded_ids(embedder.id)
        lost = [it for it in items if it["id"] not in done]
        if lost:
            lost_ids = {it["id"] for it in lost}
            for it in lost:
                skipped.append((it["source"], "could not be decoded for embedding"))
            items = [it for it in items if it["id"] not in lost_ids]
            ids = [it["id"] for it in items]
        E = cache.embeddings(embedder.id, ids)
        timings["embed"] = time.perf_counter() - t

        # ---------------------------------------------------------------- layouts
        t = time.perf_counter()
        order_key = hashlib.sha256(("\n".join(ids) + embedder.id).encode()).hexdigest()[:16]
        layouts: dict[str, np.ndarray] = {}
        large = len(ids) > opts.umap_fit_sample
        if large and opts.cluster_on is None and opts.cluster is None and cluster_on != "umap":
            cluster_on, cluster_name = "umap", "hdbscan"
            clusterer = create("clusterer", "hdbscan", min_cluster_size=opts.min_cluster_size,
                               min_samples=opts.min_samples)
            extra_manifest.setdefault("notes", []).append(
                f"{len(ids)} items: clustered with hdbscan on the 2-D UMAP layout (choose with --cluster-on)")
        need_umap = "umap" in layouts_wanted or "grid" in layouts_wanted or cluster_on == "umap"
        projectors = []
        if need_umap:
            projectors.append(create("projector", "umap", n_neighbors=opts.n_neighbors, min_dist=opts.min_dist,
                                     metric=opts.metric, seed=opts.seed, n_epochs=opts.umap_epochs))
        if "tsne" in layouts_wanted:
            projectors.append(create("projector", "tsne", metric=opts.metric, seed=opts.seed))
        for proj in projectors:
            sample_fit = large and proj.name == "umap"
            sample_key = f"sample{opts.umap_fit_sample}" if sample_fit else ""
            key = hashlib.sha256((order_key + proj.id + sample_key).encode()).hexdigest()[:16]
            P = cache.layout(key)
            if P is None:
                if opts.progress:
                    print(f"Projecting {len(ids)} items with {proj.name}...", file=sys.stderr, flush=True)
                if sample_fit:
                    P, fit = sample_fit_layout(proj, E, opts.umap_fit_sample, executor, cache_dir,
                                               progress=opts.progress)
                    extra_manifest["layout_fit"] = fit.to_json()
                    extra_manifest.setdefault("notes", []).append(
                        f"UMAP fitted on a seeded sample of {fit.sample} of {fit.items} items, the rest placed "
                        f"with transform in {fit.chunks} batches (peak memory {fit.peak_rss_mib:.0f} MiB)")
                else:
                    P = proj.project(E)
                cache.put_layout(key, P)
            layouts[proj.name] = P
        if "grid" in layouts_wanted:
            layouts["grid"] = grid_layout(layouts["umap"])
        timings["layouts"] = time.perf_counter() - t

        # ---------------------------------------------------------------- cluster
        t = time.perf_counter()
        if cluster_on == "umap":
            X = layouts["umap"]
        else:  # compact descriptors (faces: 128-d) as they are; wide ones through PCA first
            X = E if E.shape[1] <= 128 else reduce_dims(E, 50, opts.seed)
        for note in extra_manifest.get("notes", []):
            print(f"pixplot: note: {note}", file=sys.stderr, flush=True)
        labels = clusterer.cluster(X)
        labels, dropped = relabel_by_size(labels, opts.max_clusters)
        clusters = describe_clusters(labels, E, ids)
        timings["cluster"] = time.perf_counter() - t

        # ---------------------------------------------------------------- atlases
        t = time.perf_counter()
        cols = ATLAS_SIZE // opts.cell_size
        per_atlas = cols * cols
        atlas_files = [f"atlases/{k}.jpg" for k in range(-(-len(items) // per_atlas))]
        cells: dict[int, list] = {}
        tasks = [([str(thumbs / f"{iid}.jpg") for iid in ids[k * per_atlas:(k + 1) * per_atlas]],
                  str(data / atlas_files[k]), opts.cell_size, ATLAS_SIZE, cols, k)
                 for k in range(len(atlas_files))]
        bar = _bar(opts, len(items), "Packing atlases", "item")
        for k, got in executor.map_unordered(_atlas_task, tasks):
            cells[k] = got
            bar.update(len(got))
        bar.close()
        for k in range(len(atlas_files)):
            for j, cell in enumerate(cells[k]):
                items[k * per_atlas + j]["cell"] = cell
        timings["atlas"] = time.perf_counter() - t

        # ---------------------------------------------------------------- bundle
        t = time.perf_counter()
        _write_originals(items, paths, known, good, data, opts.originals)
        result = _write_bundle(opts, out, items, E, layouts, labels, clusters, cluster_name, cluster_on,
                               clusterer, embedder, detector, skipped, meta_fields, atlas_files, cols,
                               per_atlas, len(good), unmatched, no_detections, extra_manifest)
        timings["bundle"] = time.perf_counter() - t
    finally:
        executor.close()
        cache.close()
    timings["total"] = time.perf_counter() - t0
    return BuildResult(out_dir=out, items=len(items), images=len(good), skipped=skipped,
                       no_detections=no_detections, clusters=len(clusters),
                       noise=int((labels < 0).sum()), dropped_clusters=dropped, embedded=embedded,
                       manifest=result, timings=timings)


def _atlas_task(thumbs: list[str], out_path: str, cell_size: int, size: int, cols: int, k: int):
    return k, atlas_batch(thumbs, out_path, cell_size, size, cols)


def _item(iid: str, rel: str, row: dict, det: dict | None, meta: dict) -> dict[str, Any]:
    box = det["box"] if det else None
    return {
        "id": iid,
        "source": rel,
        "sha256": row["sha256"],
        "width": int(round(box[2])) if box else row["width"],
        "height": int(round(box[3])) if box else row["height"],
        "box": box,
        "landmarks": det.get("landmarks") if det else None,
        "score": det.get("score") if det else None,
        "class": det.get("label") if det else None,
        "thumb": f"thumbs/{iid}.jpg",
        "original": None,
        "cell": None,
        "meta": meta,
    }


def _write_originals(items, paths, known, good, data: Path, mode: str) -> None:
    """Link (relative symlink) or copy each source image into data/originals/, converting
    formats browsers cannot show to JPEG. S3 objects are always copied (nothing to link to)."""
    if mode == "none":
        return
    odir = data / "originals"
    odir.mkdir(parents=True, exist_ok=True)
    by_sha: dict[str, str] = {}
    for f, row in good:
        fmt = row.get("format") or ""
        ext = WEB_FORMATS.get(fmt)
        name = f"{row['sha256'][:16]}{ext or '.jpg'}"
        target = odir / name
        by_sha[row["sha256"]] = f"originals/{name}"
        if target.exists() or target.is_symlink():
            continue
        remote = is_s3(f.path)
        if ext is None:
            from pixplot.imageio import encode_jpeg, open_image

            src = read_source(f.path).data if remote else str(f.path)
            atomic_write_bytes(target, encode_jpeg(open_image(src, max_side=4096), quality=90))
        elif mode == "copy" or remote:
            atomic_write_bytes(target, read_source(str(f.path)).data)
        else:
            tmp = odir / f".{name}.tmp"
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(os.path.relpath(f.path, odir), tmp)
            os.replace(tmp, target)
    for it in items:
        it["original"] = by_sha.get(it["sha256"])


def _copy_viewer(out: Path) -> None:
    if not (WEB_DIR / "index.html").is_file():
        return
    for src in WEB_DIR.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            atomic_write_bytes(out / src.relative_to(WEB_DIR), src.read_bytes())


def _write_bundle(opts, out, items, E, layouts, labels, clusters, cluster_name, cluster_on, clusterer,
                  embedder, detector, skipped, meta_fields, atlas_files, cols, per_atlas, n_images,
                  unmatched, no_detections, extra_manifest=None) -> dict[str, Any]:
    data = out / "data"
    ids = [it["id"] for it in items]
    # The manifest goes last: until then no reader mistakes a half-updated bundle for a whole one.
    (data / "manifest.json").unlink(missing_ok=True)
    _copy_viewer(out)
    atomic_write_json(data / "items.json", {"items": items})
    buf = io.BytesIO()
    np.save(buf, E.astype(np.float32))
    atomic_write_bytes(data / "embeddings.npy", buf.getvalue())
    lay_entries = []
    for name in ("umap", "tsne", "grid"):
        if name in layouts and name in opts.layouts.split(","):
            atomic_write_bytes(data / "layouts" / f"{name}.f32", layouts[name].astype("<f4").tobytes())
            lay_entries.append({"name": name, "file": f"layouts/{name}.f32"})
    atomic_write_json(data / "clusters" / f"{cluster_name}.json", {
        "name": cluster_name, "method": cluster_name, "on": cluster_on, "params": clusterer.get_params(),
        "clusters": clusters, "noise": [ids[i] for i in np.flatnonzero(labels < 0)],
    })
    atomic_write_bytes(data / "clusters" / f"{cluster_name}.i32", labels.astype("<i4").tobytes())
    sio = io.StringIO()
    w = csv.writer(sio)
    w.writerow(["path", "reason"])
    w.writerows(skipped)
    atomic_write_text(data / "skipped.csv", sio.getvalue())
    options = {k: v for k, v in asdict(opts).items() if k not in ("progress",)}
    manifest = {
        "format": "pixplot-bundle",
        "format_version": 1,
        "pixplot_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counts": {"items": len(items), "images": n_images, "skipped": len(skipped),
                   "noise": int((labels < 0).sum()), "clusters": len(clusters),
                   "unmatched_metadata_rows": unmatched, "images_without_detections": no_detections},
        "options": options,
        "detector": None if detector is None else {"name": detector.name, "id": detector.id},
        "embedder": {"name": embedder.name, "id": embedder.id, "dim": int(E.shape[1])},
        "items": "items.json",
        "embeddings": "embeddings.npy",
        "skipped": "skipped.csv",
        "layouts": lay_entries,
        "default_layout": lay_entries[0]["name"],
        "clusterings": [{"name": cluster_name, "file": f"clusters/{cluster_name}.json",
                         "labels": f"clusters/{cluster_name}.i32", "method": cluster_name,
                         "on": cluster_on, "count": len(clusters), "noise": int((labels < 0).sum())}],
        "default_clustering": cluster_name,
        "atlas": {"size": ATLAS_SIZE, "cell_size": opts.cell_size, "cols": cols, "per_atlas": per_atlas,
                  "files": atlas_files},
        "thumbs": {"dir": "thumbs", "size": opts.thumb_size},
        "metadata_fields": meta_fields,
    }
    manifest.update(extra_manifest or {})  # sample-fit layout report, notes
    atomic_write_json(data / "manifest.json", manifest, indent=1)
    return manifest
