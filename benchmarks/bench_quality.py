"""Cluster quality for annotation: every installed embedder x the clustering choices, on every set.

For each labelled set of benchmarks/datasets.py (generated shapes; real digits, emoji, icons, faces),
each installed embedder embeds the images once (images/s measured), then each clustering choice
(space: the 2-D UMAP layout or the embedding itself, PCA-50 when wider than 128-d, as a build does;
method and parameters) is scored side by side:

- ``knn5``: leave-one-out 5-NN accuracy of the embedding (independent of the clustering),
- ``purity``, ``clustered`` (share of items in a cluster), ``ari`` over the clustered items
  (seeen_ext.evaluate, as `pixplot evaluate` computes them),
- ``actions``: oracle actions per item (seeen_ext.quality.oracle_actions, bench_annotation.py's oracle
  in memory: one exclude per impure cluster, one label per cluster, then nearest-labelled
  suggestions for the rest). Labelling one by one is 1.0; lower is better.

    python benchmarks/bench_quality.py [--sets shapes,digits,emoji,icons,faces] [--embedders classic,...]

Writes benchmarks/results/bench_quality.json and prints the table and one summary line: the
configuration with the fewest mean actions per item over the real sets, against today's default
(``umap/hdbscan-eom-15``) measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import datasets  # noqa: E402
from seeen_ext.quality import CHOICES, PREVIOUS_DEFAULT, format_rows, score_clusterings  # noqa: E402

OUT = Path(__file__).parent / "results" / "bench_quality.json"
BASELINE = PREVIOUS_DEFAULT


def installed_embedders() -> list[str]:
    """Embedders that run here offline on whole images (inception_v3 and clip need downloaded
    weights, face needs a face crop)."""
    from pixplot import embedders

    names = ["classic"]
    if embedders.learned_available() is None:
        names.append("efficientnet_lite")
    return names


def embed(name: str, images: list[Any], cache: Path | None = None, key: str = "") -> tuple[np.ndarray, float]:
    """Normalised embeddings and images/s; with ``cache``, kept per set and embedder id so that a
    rerun that changes only the clustering choices re-embeds nothing (images/s as first measured)."""
    import hashlib

    from pixplot.plugins import ItemImage, create

    e = create("embedder", name)
    path = None
    if cache is not None:
        path = cache / f"{key}-{name}-{hashlib.sha256(e.id.encode()).hexdigest()[:12]}.npz"
        if path.is_file():
            z = np.load(path)
            return z["E"], float(z["ips"])
    batch = getattr(e, "batch_size", 32)
    t = time.perf_counter()
    parts = [e.embed([ItemImage(im) for im in images[i:i + batch]]) for i in range(0, len(images), batch)]
    secs = time.perf_counter() - t
    E = np.concatenate(parts).astype(np.float32)
    E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, E=E, ips=len(images) / secs)
    return E, len(images) / secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default=",".join(datasets.SETS))
    ap.add_argument("--embedders", default=None, help="default: every installed offline embedder")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--cache", default="/tmp/pixplot-bench-quality", help="embeddings kept between runs ('' = none)")
    args = ap.parse_args()
    names = args.embedders.split(",") if args.embedders else installed_embedders()
    rows, skipped = [], {}
    for set_name in args.sets.split(","):
        try:
            images, labels = datasets.load(set_name)
        except datasets.Unavailable as exc:
            skipped[set_name] = str(exc)
            print(f"{set_name}: skipped: {exc}", file=sys.stderr)
            continue
        truth = np.array(labels)
        for emb in names:
            E, ips = embed(emb, images, Path(args.cache) if args.cache else None, set_name)
            for cname, s in score_clusterings(E, truth).items():
                rows.append({"set": set_name, "items": len(truth), "classes": len(set(labels)), "embedder": emb,
                             "clustering": cname, **s, "images_per_s": round(ips, 1)})
            print(f"{set_name} {emb}: {len(truth)} images, {ips:.1f}/s, kNN@5 {rows[-1]['knn5']:.3f}",
                  file=sys.stderr, flush=True)
    print(format_rows(rows))
    real = [r for r in rows if r["set"] in datasets.REAL]
    summary: dict[str, Any] = {}
    for emb in names:
        means = {}
        for cname in CHOICES:
            sel = [r for r in real if r["embedder"] == emb and r["clustering"] == cname]
            if sel:
                means[cname] = {k: round(float(np.mean([r[k] for r in sel])), 4)
                                for k in ("actions", "purity", "clustered", "ari")}
        if means:
            best = min(means, key=lambda c: means[c]["actions"])
            summary[emb] = {"best": best, **{f"best_{k}": v for k, v in means[best].items()},
                            "baseline": BASELINE, **{f"baseline_{k}": v for k, v in means[BASELINE].items()},
                            "means": means}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "sets": args.sets,
        "embedders": names, "skipped": skipped, "rows": rows, "summary_real_sets": summary}, indent=1))
    print("bench_quality: " + "; ".join(
        f"{emb}: best {s['best']} {s['best_actions']:.3f} actions/item (purity {s['best_purity']:.3f}, "
        f"{s['best_clustered']:.0%} clustered) vs {BASELINE} {s['baseline_actions']:.3f} "
        f"({s['baseline_actions'] / max(s['best_actions'], 1e-9):.2f}x)"
        for emb, s in summary.items()))


if __name__ == "__main__":
    main()
