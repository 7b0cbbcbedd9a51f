"""t-SNE: scikit-learn's (as pixplot called it before: PCA to 50, cosine, PCA start) against ours
(openTSNE with FFT gradients and faiss neighbours, pixplot.project.TSNEProjector), side by side
on the same synthetic 512-d embeddings with 20 known clusters, each in its own process.

Reports seconds (wall and CPU), peak memory, 15-NN preservation and the ARI of a k-means on each
layout against the known clusters, and the ratio of the two times. scikit-learn is stopped
after --timeout seconds (reported as ">"), as it would take hours at the largest sizes.
Usage: python benchmarks/bench_tsne.py [--sizes 5000,20000,100000] [--timeout 900]
Prints one summary line; writes benchmarks/results/bench_tsne.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import knn_preservation, synthetic, timed  # noqa: E402


def stock(X: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    Xr = PCA(n_components=50, random_state=seed).fit_transform(X)
    return TSNE(n_components=2, metric="cosine", init="pca", random_state=seed).fit_transform(Xr)


def ours(X: np.ndarray, seed: int) -> np.ndarray:
    from pixplot.project import TSNEProjector

    return TSNEProjector(seed=seed).project(X)


def quality(X: np.ndarray, y: np.ndarray, P: np.ndarray) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    labels = KMeans(len(np.unique(y)), n_init=4, random_state=0).fit_predict(P)
    return {"knn15_preserved": round(knn_preservation(X, P), 3), "kmeans_ari": round(adjusted_rand_score(y, labels), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,20000,100000")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per contender and size")
    ap.add_argument("--stock-timeout", type=float, help="seconds for scikit-learn (default: --timeout); "
                                                         "a stopped run still bounds the ratio from below")
    args = ap.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        X, y = synthetic(n)
        row: dict = {"items": n, "cores": len(os.sched_getaffinity(0))}
        for name, fn in (("sklearn", stock), ("ours", ours)):
            limit = args.stock_timeout if name == "sklearn" and args.stock_timeout else args.timeout
            r = timed(fn, X, 24, timeout=limit)
            P = r.pop("result", None)
            row[name] = {**r, **(quality(X, y, np.asarray(P)) if P is not None else {})}
        s, o = row["sklearn"], row["ours"]
        if "seconds" in o:
            row["ratio"] = (round(s["seconds"] / o["seconds"], 1) if "seconds" in s
                            else f"> {s['timeout'] / o['seconds']:.1f}")
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results" / "bench_tsne.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))

    def secs(r: dict) -> str:
        return f"{r['seconds']}s" if "seconds" in r else f">{r['timeout']:.0f}s"

    print("bench_tsne: " + "; ".join(
        f"{r['items']:,} items: sklearn {secs(r['sklearn'])} vs ours {secs(r['ours'])} (x{r.get('ratio', '?')}), "
        f"15-NN kept {r['sklearn'].get('knn15_preserved', '-')} vs {r['ours'].get('knn15_preserved', '-')}"
        for r in rows))


if __name__ == "__main__":
    main()
