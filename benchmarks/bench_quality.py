"""Cluster quality for annotation: every installed embedder x the clustering choices, on every set.

For each labelled set of benchmarks/datasets.py (generated shapes; real digits, emoji, icons, faces),
each installed embedder embeds the images once (images/s measured), then each clustering choice
(space: the 2-D UMAP layout or the embedding itself, PCA-50 when wider than 128-d, as a build does;
method and parameters) is scored side by side:

- ``knn5``: leave-one-out 5-NN accuracy of the embedding (independent of the clustering),
- ``purity``, ``clustered`` (share of items in a cluster), ``ari`` over the clustered items
  (seeen_ext.evaluate, as `pixplot evaluate` computes them),
- ``actions``: oracle actions per item (benchmarks/bench_annotation.oracle_actions: one exclude per
  impure cluster, one label per cluster, then nearest-labelled suggestions for the rest). Labelling
  one by one is 1.0; lower is better.

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
from benchmarks.bench_annotation import oracle_actions  # noqa: E402

OUT = Path(__file__).parent / "results" / "bench_quality.json"
BASELINE = "umap/hdbscan-eom-15"

#: name -> (space, clusterer, params); a k-means ``n_clusters`` below 1 is a share of the items.
CHOICES: dict[str, tuple[str, str, dict[str, Any]]] = {
    f"{space}/hdbscan-{sel}-{mcs}": (space, "hdbscan", {"min_cluster_size": mcs, "cluster_selection_method": sel})
    for space, sizes in (("umap", (5, 10, 15)), ("embedding", (5, 10))) for sel in ("eom", "leaf") for mcs in sizes
}
CHOICES["embedding/kmeans-sqrt(n/2)"] = ("embedding", "kmeans", {})
CHOICES["embedding/kmeans-n/10"] = ("embedding", "kmeans", {"n_clusters": 0.1})
CHOICES["embedding/kmeans-n/20"] = ("embedding", "kmeans", {"n_clusters": 0.05})
CHOICES["umap/kmeans-n/10"] = ("umap", "kmeans", {"n_clusters": 0.1})


def installed_embedders() -> list[str]:
    """Embedders that run here offline on whole images (inception_v3 and clip need downloaded
    weights, face needs a face crop)."""
    from pixplot import embedders

    names = ["classic"]
    if embedders.learned_available() is None:
        names.append("efficientnet_lite")
    return names


def embed(name: str, images: list[Any]) -> tuple[np.ndarray, float]:
    from pixplot.plugins import ItemImage, create

    e = create("embedder", name)
    batch = getattr(e, "batch_size", 32)
    t = time.perf_counter()
    parts = [e.embed([ItemImage(im) for im in images[i:i + batch]]) for i in range(0, len(images), batch)]
    secs = time.perf_counter() - t
    E = np.concatenate(parts).astype(np.float32)
    return E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12), len(images) / secs


def score_set(E: np.ndarray, truth: np.ndarray, seed: int = 24) -> dict[str, dict[str, Any]]:
    from pixplot.plugins import create
    from pixplot.project import UMAPProjector, reduce_dims
    from seeen_ext.evaluate import clustering_scores, knn_accuracy

    knn5 = knn_accuracy(E, truth, ks=(5,))["knn5"]
    spaces = {"umap": UMAPProjector(seed=seed).project(E),
              "embedding": E if E.shape[1] <= 128 else reduce_dims(E, 50, seed)}
    out = {}
    for cname, (space, method, params) in CHOICES.items():
        p = dict(params)
        if 0 < p.get("n_clusters", 1) < 1:
            p["n_clusters"] = max(2, round(p["n_clusters"] * len(E)))
        pred = create("clusterer", method, **p, seed=seed).cluster(spaces[space])
        s = clustering_scores(truth, pred)
        out[cname] = {"knn5": round(knn5, 4), "clusters": int(len(set(pred[pred >= 0].tolist()))),
                      "purity": round(s["purity"], 4), "clustered": round(s["fraction_clustered"], 4),
                      "ari": round(s["ari"], 4),
                      "actions": round(oracle_actions(pred, truth, E) / len(truth), 4)}
    return out


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'set':7} {'embedder':17} {'clustering':27} {'kNN@5':>6} {'k':>4} {'purity':>6} {'clust':>6} " \
           f"{'ARI':>6} {'act/it':>6} {'img/s':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['set']:7} {r['embedder']:17} {r['clustering']:27} {r['knn5']:6.3f} {r['clusters']:4d} "
                     f"{r['purity']:6.3f} {r['clustered']:6.3f} {r['ari']:6.3f} {r['actions']:6.3f} "
                     f"{r['images_per_s']:7.1f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default=",".join(datasets.SETS))
    ap.add_argument("--embedders", default=None, help="default: every installed offline embedder")
    ap.add_argument("--out", default=str(OUT))
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
            E, ips = embed(emb, images)
            for cname, s in score_set(E, truth).items():
                rows.append({"set": set_name, "items": len(truth), "classes": len(set(labels)), "embedder": emb,
                             "clustering": cname, **s, "images_per_s": round(ips, 1)})
            print(f"{set_name} {emb}: {len(truth)} images, {ips:.1f}/s, kNN@5 {rows[-1]['knn5']:.3f}",
                  file=sys.stderr, flush=True)
    print(table(rows))
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
