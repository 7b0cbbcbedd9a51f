"""Recognition index speed and recall: exact (NumPy) vs approximate (faiss IVF) on synthetic galleries.

Galleries of 10k, 100k and 1M unit vectors (128-d, like the face embedder), clustered around many
centres (as identities or classes are) and uniform on the sphere (no structure: the hardest case
for an IVF index); queries are fresh draws from the same distribution. For each
size it reports the build time, milliseconds per query one at a time (what `POST /api/recognize`
sees) and in batches of 1000 (what `pixplot recognize` does), and recall@10 of the approximate
index against the exact one, beside the stock way (NumPy float32 brute force: a matrix product
and a top-k) measured in the same run, with the ratio of its ms/query to what recognition uses
(the exact index up to 200k items, the tuned IVF above). Target: at most 10 ms per query at 1M.

    python benchmarks/bench_recognize.py [--sizes 10000,100000,1000000] [--dim 128] [--nprobe 64]

Prints one summary line and writes benchmarks/results/bench_recognize.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from pixplot.knn import VectorIndex, recall_at_k, tune_nprobe

OUT = Path(__file__).parent / "results" / "bench_recognize.json"


def synthetic(n: int, d: int, structure: str, seed: int = 0, per_centre: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Gallery and 1000 queries: ``clustered`` around n/per_centre centres (like identities or
    classes), or ``uniform`` on the sphere (no structure at all: the hardest case for IVF)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // per_centre), d)).astype(np.float32)
    if structure == "uniform":
        centres[:] = 0

    def draw(m: int) -> np.ndarray:
        X = np.empty((m, d), np.float32)
        for s in range(0, m, 100_000):
            e = min(m, s + 100_000)
            X[s:e] = centres[rng.integers(0, len(centres), e - s)] + 0.8 * rng.normal(size=(e - s, d)).astype(
                np.float32)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return X

    return draw(n), draw(1000)


class NumpyBruteForce:
    """The stock way: a float32 matrix product with every gallery row, then the top k."""

    def __init__(self, X: np.ndarray):
        self.X = X

    def search(self, Q: np.ndarray, k: int) -> np.ndarray:
        S = Q @ self.X.T
        top = np.argpartition(-S, k, axis=1)[:, :k]
        return np.take_along_axis(top, np.argsort(-np.take_along_axis(S, top, axis=1), axis=1), axis=1)


def per_query_ms(index: object, Q: np.ndarray, k: int, repeats: int) -> float:
    t = time.perf_counter()
    for q in Q[:repeats]:
        index.search(q[None, :], k)  # type: ignore[attr-defined]
    return (time.perf_counter() - t) / repeats * 1e3


def batch_ms(index: object, Q: np.ndarray, k: int) -> float:
    t = time.perf_counter()
    index.search(Q, k)  # type: ignore[attr-defined]
    return (time.perf_counter() - t) / len(Q) * 1e3


def run(n: int, d: int, nprobe: int, structure: str, k: int = 10) -> dict:
    X, Q = synthetic(n, d, structure)
    t = time.perf_counter()
    exact = VectorIndex(X, kind="exact")
    exact_build = time.perf_counter() - t
    r: dict = {"n": n, "dim": d, "k": k, "structure": structure}
    brute = NumpyBruteForce(X)
    r["numpy_brute_force"] = {"ms_per_query": round(per_query_ms(brute, Q, k, 20 if n >= 1_000_000 else 200), 3),
                              "ms_per_query_batched": round(batch_ms(brute, Q[:200], k), 3), "recall_at_10": 1.0}
    r["exact"] = {"build_s": round(exact_build, 2),
                  "ms_per_query": round(per_query_ms(exact, Q, k, 50 if n >= 1_000_000 else 200), 3),
                  "ms_per_query_batched": round(batch_ms(exact, Q, k), 3)}
    t = time.perf_counter()
    approx = VectorIndex(X, kind="approx", nprobe=nprobe)
    build_s = time.perf_counter() - t
    r["approx"] = {"kind": approx.kind, "nlist": approx.nlist, "build_s": round(build_s, 2), "by_nprobe": {}}
    for p in sorted({max(1, nprobe // 4), nprobe, nprobe * 4}):
        approx.nprobe = p
        r["approx"]["by_nprobe"][p] = {
            "ms_per_query": round(per_query_ms(approx, Q, k, 500), 3),
            "ms_per_query_batched": round(batch_ms(approx, Q, k), 4),
            "recall_at_10": round(recall_at_k(approx, exact, Q, k), 4),
        }
    r["approx"]["nprobe"] = nprobe
    # What `pixplot recognize` does: more cells until recall@10 on 200 gallery items reaches 0.95.
    approx.nprobe = nprobe
    t = time.perf_counter()
    rec = tune_nprobe(approx, exact, X[:: max(1, n // 200)][:200], k)
    r["approx"]["tuned"] = {"nprobe": approx.nprobe, "tune_s": round(time.perf_counter() - t, 2),
                            "ms_per_query": round(per_query_ms(approx, Q, k, 500), 3),
                            "recall_at_10_gallery_sample": round(rec, 4),
                            "recall_at_10": round(recall_at_k(approx, exact, Q, k), 4)}
    ours = r["approx"]["tuned"]["ms_per_query"] if n > 200_000 else r["exact"]["ms_per_query"]  # SEARCH_EXACT_LIMIT
    r["ratio_vs_numpy"] = round(r["numpy_brute_force"]["ms_per_query"] / max(ours, 1e-6), 1)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--nprobe", type=int, default=64)
    ap.add_argument("--structures", default="clustered,uniform")
    args = ap.parse_args()
    results = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                           "load_avg": os.getloadavg()}, "runs": []}
    for n in [int(s) for s in args.sizes.split(",")]:
        for structure in args.structures.split(","):
            r = run(n, args.dim, args.nprobe, structure)
            print(json.dumps(r), flush=True)
            results["runs"].append(r)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print("bench_recognize: " + "; ".join(
        f"{r['n']} {r['structure']}: numpy {r['numpy_brute_force']['ms_per_query']:.2f} ms/q (x{r['ratio_vs_numpy']}), "
        f"exact {r['exact']['ms_per_query']:.2f} ms/q, {r['approx']['kind']} "
        f"{r['approx']['by_nprobe'][args.nprobe]['ms_per_query']:.2f} ms/q recall@10 "
        f"{r['approx']['by_nprobe'][args.nprobe]['recall_at_10']:.3f}, tuned nprobe {r['approx']['tuned']['nprobe']} "
        f"{r['approx']['tuned']['ms_per_query']:.2f} ms/q recall@10 {r['approx']['tuned']['recall_at_10']:.3f} "
        f"(build {r['approx']['build_s']:.0f}s)"
        for r in results["runs"]))


if __name__ == "__main__":
    main()
