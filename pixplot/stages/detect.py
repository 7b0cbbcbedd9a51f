"""Detect: turn images into items. Without a detector each image is one item; with one, each
detection is (boxes cached per file content and detector id), and its crop becomes the preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pixplot.cache import BuildCache
from pixplot.errors import UserError
from pixplot.plan import BuildPlan
from pixplot.progress import bar, chunks
from pixplot.work import crop_thumbs_batch, detect_batch, item_id


@dataclass
class Detected:
    items: list[dict[str, Any]]  # item records (docs/bundle.md), in item order
    paths: dict[str, str]  # item id -> source image path
    no_detections: int  # images where the detector found nothing


def make_item(iid: str, rel: str, row: dict, det: dict | None, meta: dict) -> dict[str, Any]:
    """An item record of ``items.json``; ``original`` and ``cell`` are filled by later stages."""
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


def _detections(plan: BuildPlan, cache: BuildCache, executor: Any, good: list) -> dict[str, list[dict]]:
    detector = plan.detector
    dets = cache.detections(detector.id)
    todo = [(str(f.path), row["sha256"]) for f, row in good if row["sha256"] not in dets]
    b = bar(plan.options.progress, len(good), f"Detecting ({detector.name})", "img")
    b.update(len(good) - len(todo))
    size = max(1, min(8, len(todo) // max(1, executor.workers * 4) or 1))
    for rows in executor.map_unordered(detect_batch, [(detector, c) for c in chunks(todo, size)],
                                       in_process=detector.in_process):
        cache.put_detections(detector.id, rows)
        dets.update(rows)
        b.update(len(rows))
    b.close()
    return dets


def crop_previews(plan: BuildPlan, executor: Any, items: list[dict[str, Any]], paths: dict[str, str]) -> None:
    """Write each detection's preview (its box plus ``--crop_margin``) where it is missing."""
    o = plan.options
    missing = [(paths[it["id"]], it["id"], it["box"]) for it in items
               if not (plan.thumbs / f"{it['id']}.jpg").exists()]
    b = bar(o.progress, len(items), "Cropping", "item")
    b.update(len(items) - len(missing))
    tasks = [(c, str(plan.thumbs), o.thumb_size, o.crop_margin) for c in chunks(missing, 32)]
    for res in executor.map_unordered(crop_thumbs_batch, tasks):
        b.update(len(res))
    b.close()


def run(plan: BuildPlan, cache: BuildCache, executor: Any, good: list, meta: dict[str, dict]) -> Detected:
    items: list[dict[str, Any]] = []
    paths: dict[str, str] = {}
    if plan.detector is None:
        for f, row in good:
            iid = item_id(row["sha256"])
            paths[iid] = str(f.path)
            items.append(make_item(iid, f.rel, row, None, meta.get(f.rel, {})))
        return Detected(items, paths, 0)
    dets = _detections(plan, cache, executor, good)
    no_detections = 0
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
            items.append(make_item(iid, f.rel, row, d, meta.get(f.rel, {})))
    if not items:
        raise UserError(f"--detector {plan.options.detector}: found nothing in {len(good)} images; "
                        "nothing to map (try a lower --min_face_score or --min_face_size)")
    return Detected(items, paths, no_detections)
