"""UMAP + HDBSCAN on synthetic 512-d embeddings with known clusters.

Reports seconds per stage and how many known clusters were recovered (a known cluster counts
as recovered when one found cluster holds most of it and is mostly it: Jaccard >= 0.5).
Usage: python benchmarks/bench_layout.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from pixplot.cluster import HDBSCANClusterer
from pixplot.project import UMAPProjector


def synthetic(n: int, k: int = 20, d: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    X = centres[y] + rng.normal(scale=0.6, size=(n, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, y


def recovered(y: np.ndarray, labels: np.ndarray) -> int:
    count = 0
    for c in np.unique(y):
        truth = y == c
        found = labels[truth]
        found = found[found >= 0]
        if len(found) == 0:
            continue
        best = np.bincount(found).argmax()
        pred = labels == best
        jaccard = (truth & pred).sum() / (truth | pred).sum()
        count += jaccard >= 0.5
    return int(count)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    args = ap.parse_args()
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        X, y = synthetic(n)
        t = time.perf_counter()
        P = UMAPProjector(seed=24).project(X)
        t_umap = time.perf_counter() - t
        t = time.perf_counter()
        labels = HDBSCANClusterer(min_cluster_size=max(15, n // 1000)).cluster(P)
        t_hdb = time.perf_counter() - t
        r = {"n": n, "known_clusters": 20, "umap_s": round(t_umap, 1), "hdbscan_s": round(t_hdb, 2),
             "total_s": round(t_umap + t_hdb, 1), "recovered": recovered(y, labels),
             "found": int(labels.max() + 1), "noise": float((labels < 0).mean()),
             "ari": round(float(adjusted_rand_score(y, labels)), 3), "cores": len(os.sched_getaffinity(0))}
        results.append(r)
        print(json.dumps(r), flush=True)
    out = Path(__file__).parent / "results" / "bench_layout.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print("bench_layout: " + "; ".join(
        f"{r['n']:,} items {r['total_s']}s (umap {r['umap_s']}s), {r['recovered']}/20 clusters recovered"
        for r in results))


if __name__ == "__main__":
    main()
