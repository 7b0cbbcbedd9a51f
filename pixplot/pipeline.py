"""The build: the one place that knows the order of the stages.

resolve the plan -> discover -> ingest (hash, decode, preview) -> detect (items; crop previews)
-> embed -> layout -> cluster -> atlas -> originals -> bundle (manifest last). Each per-item stage
runs on the executor and commits finished batches to the build cache, so a killed build resumes
where it stopped. The stages live in :mod:`pixplot.stages`; this module only sequences them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pixplot import publish
from pixplot.bundle import BundleWriter, Manifest
from pixplot.cache import BuildCache
from pixplot.discover import discover
from pixplot.executor import make_executor
from pixplot.plan import BuildOptions, BuildPlan, resolve
from pixplot.progress import say
from pixplot.sources import s3_settings, worker_env
from pixplot.stages import atlas, cluster, detect, embed, ingest, layout, originals

__all__ = ["BuildOptions", "BuildResult", "build"]


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
    embedder_reason: str = ""
    notes: list[str] = field(default_factory=list)


def build(opts: BuildOptions) -> BuildResult:
    # S3 settings reach this process's readers and, through the environment, its workers.
    with s3_settings(opts.endpoint_url, opts.profile):
        return _build(resolve(opts))


class _Clock:
    """Seconds per stage, for the build summary and benchmarks."""

    def __init__(self) -> None:
        self.t0 = self.t = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self.t
        self.t = now


def _build(plan: BuildPlan) -> BuildResult:
    o = plan.options
    clock = _Clock()
    found = discover(o.images, o.max_images, o.shuffle, o.seed)
    if not o.use_cache and plan.out.exists():
        shutil.rmtree(plan.cache_dir, ignore_errors=True)
        shutil.rmtree(plan.thumbs, ignore_errors=True)
    cache = BuildCache(plan.cache_dir)
    extra = {} if o.executor == "local" else {"address": o.ray_address, "num_gpus": o.num_gpus, "env": worker_env()}
    executor = make_executor(o.executor, o.workers, **extra)
    clock.lap("discover")
    try:
        ing = ingest.run(plan, cache, executor, found)
        clock.lap("ingest")
        det = detect.run(plan, cache, executor, ing.good, ing.meta)
        if plan.detector is not None:
            clock.lap("detect")
            detect.crop_previews(plan, executor, det.items, det.paths)
            clock.lap("crop")
        emb = embed.run(plan, cache, executor, det.items, det.paths)
        items, E, skipped = emb.items, emb.vectors, ing.skipped + emb.lost
        ids = [it["id"] for it in items]
        clock.lap("embed")
        plan.settle(len(items))
        lay = layout.run(plan, cache, executor, items, E)
        clock.lap("layouts")
        notes = ing.notes + plan.notes + lay.report.get("notes", [])
        for note in notes:
            say(True, f"pixplot: note: {note}")
        cl = cluster.run(plan, lay.positions, E, ids, items)
        clock.lap("cluster")
        geo = atlas.run(plan, executor, items)
        clock.lap("atlas")

        writer = BundleWriter(plan.out)
        originals.run(plan, ing.good, items)
        writer.viewer()
        writer.items(items)
        writer.embeddings(E)
        for name in plan.layouts:
            writer.layout(name, lay.positions[name], lay.guides.get(name))
        if o.clusters_from:
            writer.clustering(plan.cluster_name, cl.labels, cl.clusters, ids, method="column",
                              on=f"metadata:{o.clusters_from}", params={"column": o.clusters_from})
        else:
            writer.clustering(plan.cluster_name, cl.labels, cl.clusters, ids, method=plan.cluster_name,
                              on=plan.cluster_on, params=plan.clusterer.get_params())
        writer.skipped(skipped)
        extra: dict[str, Any] = {"notes": notes} if ing.notes or plan.notes else {}  # decided before layouts
        extra |= {k: v for k, v in lay.report.items() if k != "notes"}  # e.g. UMAP's sample-fit report
        if notes:
            extra["notes"] = notes
        if o.plot_id:
            extra["plot_id"] = o.plot_id
        manifest = writer.finish(Manifest(
            counts={"items": len(items), "images": len(ing.good), "skipped": len(skipped), "noise": cl.noise,
                    "clusters": len(cl.clusters), "unmatched_metadata_rows": ing.unmatched,
                    "images_without_detections": det.no_detections},
            options={k: v for k, v in asdict(o).items() if k != "progress"},
            detector=None if plan.detector is None else {"name": plan.detector.name, "id": plan.detector.id},
            embedder={"name": plan.embedder.name, "id": plan.embedder.id, "dim": int(E.shape[1])},
            layouts=writer.layouts, clusterings=writer.clusterings, atlas=geo.to_json(),
            thumbs={"dir": "thumbs", "size": o.thumb_size}, metadata_fields=ing.meta_fields,
            extra=extra,
        ))
        # After the manifest, so that a stale sibling of the last build is never served with it.
        if o.gzip:
            publish.gzip_siblings(plan.data)
        else:
            publish.remove_gzip_siblings(plan.data)
        clock.lap("bundle")
    finally:
        executor.close()
        cache.close()
    clock.timings["total"] = time.perf_counter() - clock.t0
    return BuildResult(out_dir=plan.out, items=len(items), images=len(ing.good), skipped=skipped,
                       no_detections=det.no_detections, clusters=len(cl.clusters), noise=cl.noise,
                       dropped_clusters=cl.dropped, embedded=emb.embedded, manifest=manifest,
                       timings=clock.timings, embedder_reason=plan.embedder_reason, notes=notes)
