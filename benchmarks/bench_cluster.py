"""Clustering a 2-D layout at millions of points: stock hdbscan (as a user calls it, on every
point) against ours (pixplot.cluster.HDBSCANClusterer: HDBSCAN on a seeded 200k sample, the rest
by a vote of their nearest sample points), side by side on the same points, each in its own
process with wall and CPU seconds (CPU seconds move far less when the machine is shared).

The points imitate a UMAP layout: 50 clusters of unequal size, spread and shape (stretched
Gaussians) on a background of 1% scattered points. ARI of ours against stock, and of both
against the known clusters. Stock is stopped after --timeout seconds (reported as ">").
Usage: python benchmarks/bench_cluster.py [--sizes 1000000,3000000] [--timeout 2400] [--no-stock 3000000]
Prints one summary line; writes benchmarks/results/bench_cluster.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import timed  # noqa: E402


def layout_like(n: int, k: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.5, k) + 0.2
    y = rng.choice(k, n, p=weights / weights.sum())
    centres = rng.uniform(-20, 20, (k, 2))
    spread = rng.uniform(0.15, 0.6, k)
    stretch = rng.uniform(1, 3, k)
    angle = rng.uniform(0, np.pi, k)
    Z = rng.standard_normal((n, 2)) * spread[y, None]
    Z[:, 0] *= stretch[y]
    c, s = np.cos(angle[y]), np.sin(angle[y])
    P = np.stack([c * Z[:, 0] - s * Z[:, 1], s * Z[:, 0] + c * Z[:, 1]], axis=1) + centres[y]
    scatter = rng.random(n) < 0.01
    P[scatter] = rng.uniform(-22, 22, (int(scatter.sum()), 2))
    y[scatter] = -1
    return P.astype(np.float32), y


def stock(path: str) -> np.ndarray:
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(np.load(path).astype(np.float64))


def ours(path: str) -> np.ndarray:
    from pixplot.cluster import HDBSCANClusterer

    return HDBSCANClusterer(min_cluster_size=15).cluster(np.load(path))


def main() -> None:
    import tempfile

    from sklearn.metrics import adjusted_rand_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,3000000")
    ap.add_argument("--timeout", type=float, default=2400, help="seconds for stock hdbscan per size")
    ap.add_argument("--no-stock", default="", help="sizes to run ours only (stock known not to finish)")
    args = ap.parse_args()
    skip = {int(s) for s in args.no_stock.split(",") if s}
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    for n in (int(s) for s in args.sizes.split(",")):
        P, y = layout_like(n)
        path = tmp / f"layout-{n}.npy"
        np.save(path, P)
        row: dict = {"items": n, "cores": len(os.sched_getaffinity(0)), "load_avg_start": os.getloadavg()}
        labels = {}
        for name, fn in (("ours", ours), ("stock", stock)):
            if name == "stock" and n in skip:
                row[name] = {"skipped": "not run at this size"}
                continue
            r = timed(fn, str(path), timeout=args.timeout if name == "stock" else 3 * args.timeout)
            out = r.pop("result", None)
            if out is not None:
                labels[name] = np.asarray(out)
                r.update(clusters=int(labels[name].max() + 1), noise=round(float((labels[name] < 0).mean()), 4),
                         ari_vs_truth=round(float(adjusted_rand_score(y, labels[name])), 4))
            row[name] = r
            print(json.dumps({"items": n, name: r}), flush=True)
        if len(labels) == 2:
            row["ari_ours_vs_stock"] = round(float(adjusted_rand_score(labels["stock"], labels["ours"])), 4)
        o, s = row["ours"], row["stock"]
        if "seconds" in o and "seconds" in s:
            row["ratio_wall"] = round(s["seconds"] / o["seconds"], 1)
            row["ratio_cpu"] = round(s["cpu_seconds"] / max(o["cpu_seconds"], 1e-3), 1)
        elif "seconds" in o and "timeout" in s:
            row["ratio_wall"] = f"> {s['timeout'] / o['seconds']:.1f}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(__file__).parent / "results" / "bench_cluster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))

    def secs(r: dict) -> str:
        if "seconds" in r:
            return f"{r['seconds']}s ({r['cpu_seconds']} CPU-s)"
        return f">{r['timeout']:.0f}s" if "timeout" in r else "not run"

    print("bench_cluster: " + "; ".join(
        f"{r['items']:,} points: stock hdbscan {secs(r['stock'])} vs ours {secs(r['ours'])} "
        f"(x{r.get('ratio_wall', '?')} wall, x{r.get('ratio_cpu', '?')} CPU), ARI ours vs stock "
        f"{r.get('ari_ours_vs_stock', '-')}, vs truth {r['ours'].get('ari_vs_truth', '-')}"
        for r in rows))


if __name__ == "__main__":
    main()
