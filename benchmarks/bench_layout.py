"""Layout + clusters, side by side: umap-learn and hdbscan as a user calls them against ours
(pixplot.project.UMAPProjector + pixplot.cluster.HDBSCANClusterer), on the same synthetic 512-d
embeddings with 20 known clusters, each contender in its own fresh process (so each pays its
own start-up, as a build does).

Stock: ``umap.UMAP(metric="cosine", random_state=24).fit_transform(X)`` (its own neighbour
search, default epochs), then ``hdbscan.HDBSCAN(min_cluster_size=m).fit_predict(layout)``.
Reports seconds (wall and CPU), the ratio, 15-NN preservation, clusters recovered (a known
cluster counts when one found cluster holds most of it and is mostly it: Jaccard >= 0.5), ARI
against the known clusters and between the two clusterings.
Usage: python benchmarks/bench_layout.py [--sizes 10000,100000] [--timeout 1800]
Prints one summary line; writes benchmarks/results/bench_layout.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import knn_preservation, recovered, synthetic, timed  # noqa: E402


def stock(X: np.ndarray, mcs: int) -> tuple[np.ndarray, np.ndarray, float]:
    import warnings

    warnings.simplefilter("ignore")
    import hdbscan
    import umap

    t = time.perf_counter()
    P = umap.UMAP(metric="cosine", random_state=24).fit_transform(X)
    layout_s = time.perf_counter() - t
    return P, hdbscan.HDBSCAN(min_cluster_size=mcs).fit_predict(P), layout_s


def ours(X: np.ndarray, mcs: int) -> tuple[np.ndarray, np.ndarray, float]:
    from pixplot.cluster import HDBSCANClusterer
    from pixplot.project import UMAPProjector

    t = time.perf_counter()
    P = UMAPProjector(seed=24).project(X)
    layout_s = time.perf_counter() - t
    return P, HDBSCANClusterer(min_cluster_size=mcs).cluster(P), layout_s


def main() -> None:
    from sklearn.metrics import adjusted_rand_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per contender and size")
    args = ap.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        X, y = synthetic(n)
        mcs = max(15, n // 1000)
        row: dict = {"items": n, "known_clusters": 20, "min_cluster_size": mcs, "cores": len(os.sched_getaffinity(0))}
        labels = {}
        for name, fn in (("stock", stock), ("ours", ours)):
            r = timed(fn, X, mcs, timeout=args.timeout)
            out = r.pop("result", None)
            if out is not None:
                P, labels[name], layout_s = out
                r.update(layout_seconds=round(layout_s, 1), knn15_preserved=round(knn_preservation(X, P), 3),
                         recovered=recovered(y, labels[name]), found=int(labels[name].max() + 1),
                         noise=round(float((labels[name] < 0).mean()), 4),
                         ari=round(float(adjusted_rand_score(y, labels[name])), 3))
            row[name] = r
        if len(labels) == 2:
            row["ari_ours_vs_stock_clusters"] = round(float(adjusted_rand_score(labels["stock"], labels["ours"])), 3)
        s, o = row["stock"], row["ours"]
        if "seconds" in o:
            row["ratio"] = (round(s["seconds"] / o["seconds"], 1) if "seconds" in s
                            else f"> {s['timeout'] / o['seconds']:.1f}")
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results" / "bench_layout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))

    def secs(r: dict) -> str:
        return f"{r['seconds']}s" if "seconds" in r else f">{r['timeout']:.0f}s"

    print("bench_layout: " + "; ".join(
        f"{r['items']:,} items: stock {secs(r['stock'])} vs ours {secs(r['ours'])} (x{r.get('ratio', '?')}), "
        f"15-NN kept {r['stock'].get('knn15_preserved', '-')} vs {r['ours'].get('knn15_preserved', '-')}, "
        f"recovered {r['stock'].get('recovered', '-')} vs {r['ours'].get('recovered', '-')}/20"
        for r in rows))


if __name__ == "__main__":
    main()
