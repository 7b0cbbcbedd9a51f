"""Shared by the layout benchmarks: synthetic embeddings with known clusters, layout quality
measures, and running one contender in a child process with a time limit (so that a stock
library that would take hours is stopped and reported as such, and each contender's memory
and start-up are its own)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def synthetic(n: int, k: int = 20, d: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors around ``k`` random centres (noise 0.6 per dimension), and their labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    X = np.empty((n, d), np.float32)
    for i in range(0, n, 100_000):
        part = centres[y[i:i + 100_000]] + rng.standard_normal((len(y[i:i + 100_000]), d), np.float32) * 0.6
        X[i:i + 100_000] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return X, y


def knn_preservation(X: np.ndarray, P: np.ndarray, k: int = 15, queries: int = 2000, seed: int = 0) -> float:
    """Mean share of each query point's ``k`` nearest neighbours (cosine, in ``X``) that are also
    among its ``k`` nearest in the layout ``P`` (exact search for both, on a seeded query sample)."""
    from pixplot.knn import VectorIndex

    rng = np.random.default_rng(seed)
    q = rng.choice(len(X), min(queries, len(X)), replace=False)
    hi = VectorIndex(X, metric="cosine", kind="exact").search(X[q], k + 1).indices[:, 1:]
    lo = VectorIndex(P, metric="euclidean", kind="exact").search(P[q], k + 1).indices[:, 1:]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(hi, lo, strict=True)]))


def recovered(y: np.ndarray, labels: np.ndarray) -> int:
    """Known clusters recovered: one found cluster holds most of it and is mostly it (Jaccard >= 0.5)."""
    count = 0
    for c in np.unique(y):
        truth = y == c
        found = labels[truth]
        found = found[found >= 0]
        if len(found) == 0:
            continue
        pred = labels == np.bincount(found).argmax()
        count += (truth & pred).sum() / (truth | pred).sum() >= 0.5
    return int(count)


def _child(fn: Callable[..., Any], args: tuple, queue: Any) -> None:
    t, c = time.perf_counter(), os.times()
    out = fn(*args)
    c2 = os.times()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((out, time.perf_counter() - t, c2.user + c2.system - c.user - c.system, peak))


def timed(fn: Callable[..., Any], *args: Any, timeout: float) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh process; ``{"result", "seconds", "cpu_seconds", "peak_mib"}``,
    or ``{"timeout": seconds}`` when it did not finish in time. ``fn`` must be importable
    (a module-level function)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    try:
        out, seconds, cpu, peak = queue.get(timeout=timeout)
    except Exception:  # queue.Empty: out of time
        proc.kill()
        proc.join()
        return {"timeout": timeout}
    proc.join()
    return {"result": out, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "peak_mib": round(peak)}
