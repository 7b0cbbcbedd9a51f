"""Faces: detection and embedding speed, detection accuracy, and clustering by identity.

Runs the real ``faces`` detector (MTCNN) and ``face`` embedder (dlib) on composites from
``seeen_ext.faces.synthetic`` (faces that ship in scikit-image, pasted at known places).

    python benchmarks/bench_faces.py [--images 24] [--faces 4] [--views 3]

Prints one summary line and writes benchmarks/results/bench_faces.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from pixplot.plugins import ItemImage
from seeen_ext.faces import synthetic as S
from seeen_ext.faces.detector import MTCNNFaceDetector
from seeen_ext.faces.embedder import DlibFaceEmbedder

OUT = Path(__file__).parent / "results" / "bench_faces.json"


def crop_item(image, box, margin: float = 0.2, size: int = DlibFaceEmbedder.input_size) -> ItemImage:
    """What the pipeline hands the embedder: the box plus margin, at most ``size`` px."""
    x, y, w, h = box
    left, top = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    right, bottom = min(image.width, int(x + w + margin * w)), min(image.height, int(y + h + margin * h))
    crop = image.crop((left, top, right, bottom))
    s = min(1.0, size / max(crop.size))
    if s < 1.0:
        crop = crop.resize((max(1, round(crop.width * s)), max(1, round(crop.height * s))))
    return ItemImage(crop, box=((x - left) * s, (y - top) * s, w * s, h * s))


def _embed_chunk(items: list[ItemImage]) -> np.ndarray:
    return DlibFaceEmbedder().embed(items)


def bench_detection(det: MTCNNFaceDetector, comps: list[S.Composite]) -> dict:
    det.detect([comps[0].image])  # load the model outside the clock
    t = time.perf_counter()
    found = det.detect([c.image for c in comps])
    dt = time.perf_counter() - t
    truth = sum(len(c.boxes) for c in comps)
    hits, ious, extra = 0, [], 0
    for c, dets in zip(comps, found, strict=True):
        m = S.match(c.boxes, [d.box for d in dets])
        hits += sum(j is not None for j in m)
        extra += len(dets) - sum(j is not None for j in m)
        ious += [S.iou(c.boxes[i], dets[j].box) for i, j in enumerate(m) if j is not None]
    return {"images": len(comps), "faces": truth, "seconds": round(dt, 3),
            "faces_per_s": round(truth / dt, 2), "images_per_s": round(len(comps) / dt, 2),
            "recall_iou50": round(hits / truth, 4), "false_detections": extra,
            "iou_mean": round(float(np.mean(ious)), 3), "iou_min": round(float(np.min(ious)), 3)}, found


def bench_embedding(items: list[ItemImage], workers: int) -> dict:
    emb = DlibFaceEmbedder()
    emb.embed(items[:1])  # load the models outside the clock
    t = time.perf_counter()
    emb.embed(items)
    one = time.perf_counter() - t
    chunks = [items[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_embed_chunk, [c[:1] for c in chunks]))  # warm every worker
        t = time.perf_counter()
        list(pool.map(_embed_chunk, chunks))
        many = time.perf_counter() - t
    return {"faces": len(items), "faces_per_s_one_process": round(len(items) / one, 2),
            "workers": workers, "faces_per_s_pool": round(len(items) / many, 2)}


def identity_views(det: MTCNNFaceDetector, views: int, seed: int) -> tuple[list[ItemImage], list[str]]:
    """Every face tile, ``views`` times (the first as is, the rest mildly augmented), detected."""
    rng = np.random.default_rng(seed)
    canvases, idents = [], []
    for tile, ident in S.face_tiles():
        for k in range(views):
            face = tile if k == 0 else S.augment(tile, rng)
            size = int(rng.integers(100, 180))
            canvases.append(S.paste_faces(S.background((360, 360), rng), [(face, ident)], [size], rng))
            idents.append(ident)
    found = det.detect([c.image for c in canvases])
    items, labels = [], []
    for c, ident, dets in zip(canvases, idents, found, strict=True):
        m = S.match(c.boxes, [d.box for d in dets])
        if m[0] is not None:
            items.append(crop_item(c.image, dets[m[0]].box))
            labels.append(ident)
    return items, labels


def clustering_grid(X: np.ndarray, labels: list[str]) -> dict:
    """DBSCAN and HDBSCAN on the descriptors: how pure the clusters are, and who is left out.

    Two collections: every identity seen ``views`` times; and half the identities seen once
    (strangers, who should stay noise) among the other half seen ``views`` times.
    """
    import hdbscan
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import adjusted_rand_score

    y = np.asarray(labels)
    uniq = sorted(set(labels))
    once = set(uniq[::2])
    keep, seen = [], set()
    for i, ident in enumerate(y):
        if ident in once:
            if ident in seen:
                continue
            seen.add(ident)
        keep.append(i)

    def score(lab: np.ndarray, yy: np.ndarray, strangers: np.ndarray | None) -> dict:
        n = lab.max() + 1
        wrong = sum(int((lab == k).sum() - np.unique(yy[lab == k], return_counts=True)[1].max())
                    for k in range(n))
        out = {"clusters": int(n), "noise": round(float((lab < 0).mean()), 3), "misplaced_items": wrong,
               "pure_clusters": round(float(np.mean([len(set(yy[lab == k])) == 1 for k in range(n)])), 3)
               if n else 0.0}
        if strangers is None:
            out["ari"] = round(float(adjusted_rand_score(yy, lab)), 3)
        else:
            out["strangers_left_as_noise"] = round(float((lab[strangers] < 0).mean()), 3)
        return out

    methods = {f"dbscan eps={e} min_samples=2": (lambda Z, e=e: DBSCAN(eps=e, min_samples=2).fit_predict(Z))
               for e in (0.25, 0.28, 0.30, 0.32, 0.35, 0.43)}
    methods["dbscan eps=0.30 min_samples=3"] = lambda Z: DBSCAN(eps=0.30, min_samples=3).fit_predict(Z)
    for mcs, ms in ((2, 1), (3, 2)):
        methods[f"hdbscan min_cluster_size={mcs} min_samples={ms}"] = (
            lambda Z, mcs=mcs, ms=ms: hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms).fit_predict(Z))
    res = {}
    Xs, ys = X[keep], y[keep]
    strangers = np.array([v in once for v in ys])
    for name, fn in methods.items():
        res[name] = {"all_seen_often": score(fn(X), y, None),
                     "with_strangers": score(fn(Xs), ys, strangers)}
    return res


def distances(X: np.ndarray, labels: list[str]) -> dict:
    y = np.asarray(labels)
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    iu = np.triu_indices(len(X), 1)
    same = (y[:, None] == y[None])[iu]
    s, o = D[iu][same], D[iu][~same]
    pct = lambda a, q: round(float(np.percentile(a, q)), 3)  # noqa: E731
    return {"same_face": {"mean": round(float(s.mean()), 3), "p95": pct(s, 95), "max": round(float(s.max()), 3)},
            "different_faces": {"min": round(float(o.min()), 3), "p1": pct(o, 1), "p5": pct(o, 5),
                                "mean": round(float(o.mean()), 3)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--faces", type=int, default=4)
    ap.add_argument("--views", type=int, default=3, help="views per identity for the clustering study")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    workers = max(1, len(os.sched_getaffinity(0)))

    det = MTCNNFaceDetector()
    comps = S.make_composites(args.images, args.faces, canvas=(800, 600), size_range=(90, 200), seed=args.seed)
    detection, found = bench_detection(det, comps)
    items = [crop_item(c.image, d.box) for c, dets in zip(comps, found, strict=True) for d in dets]
    embedding = bench_embedding(items, workers)
    nonface = det.detect(S.nonface_images())
    detection["false_detections_on_nonface_photos"] = sum(len(f) for f in nonface)

    t = time.perf_counter()
    vitems, vlabels = identity_views(det, args.views, args.seed + 1)
    X = DlibFaceEmbedder().embed(vitems)
    study = {"identities": len(set(vlabels)), "faces": len(vitems), "distances": distances(X, vlabels),
             "clustering": clustering_grid(X, vlabels), "seconds": round(time.perf_counter() - t, 1)}

    result = {"machine": {"cpus": workers, "python": platform.python_version()},
              "detection": detection, "embedding": embedding, "identity_study": study}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"faces: detection {detection['faces_per_s']} faces/s ({detection['images_per_s']} img/s, "
          f"recall {detection['recall_iou50']:.1%} at IoU>=0.5, {detection['false_detections']} false), "
          f"embedding {embedding['faces_per_s_one_process']} faces/s/process, "
          f"{embedding['faces_per_s_pool']} with {workers} workers -> {OUT}")


if __name__ == "__main__":
    main()
