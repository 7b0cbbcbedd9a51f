"""Nearest neighbours for layouts: deterministic, multi-threaded, and with nothing to compile.

UMAP's own neighbour search (pynndescent) compiles its numba kernels afresh in every process
(about 50 s on 2 cores, before any work) and runs on one core when seeded. faiss needs no
compilation, uses every core, and gives the same answer every run: an exact search up to
:data:`EXACT_LIMIT` points, above it an inverted-file index (k-means cells, seeded) probed in
:data:`NPROBE` cells, which found 99.9% of the exact neighbours of 100k and 200k clustered
points (docs/scale.md). Returns ``None`` for metrics other than cosine and euclidean, or
without faiss, so callers fall back to UMAP's own search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Up to this many indexed points the search is exact.
EXACT_LIMIT = 30_000
#: Cells probed per query in the inverted-file index.
NPROBE = 12
METRICS = ("cosine", "euclidean")


def available(metric: str) -> bool:
    """Whether :func:`build_index` can serve ``metric`` here."""
    if metric not in METRICS:
        return False
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Index:
    """A searchable set of points (faiss) and the metric its distances are in."""

    index: Any
    metric: str
    quantizer: Any = None  # an inverted-file index's cells, which must outlive it

    def search(self, Q: np.ndarray, k: int, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest indexed points of each row of ``Q``: (indices int32, distances
        float32), nearest first, in UMAP's distance for the metric (1 - cos, or euclidean)."""
        k = min(k, self.index.ntotal)
        idx = np.empty((len(Q), k), np.int32)
        dist = np.empty((len(Q), k), np.float32)
        for i in range(0, len(Q), chunk):
            q = _prepare(Q[i:i + chunk], self.metric)
            D, ix = self.index.search(q, k)
            idx[i:i + chunk] = ix
            dist[i:i + chunk] = _distances(D, self.metric)
        return idx, dist


def normalise(x: np.ndarray) -> np.ndarray:
    """Float32, C-contiguous, each row of unit length (zero rows stay zero)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim == 1:
        x = x[None, :]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(n > 0, n, 1), dtype=np.float32)


def _prepare(X: np.ndarray, metric: str) -> np.ndarray:
    return normalise(X) if metric == "cosine" else np.ascontiguousarray(X, dtype=np.float32)


def _distances(D: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":  # inner products of unit vectors
        return np.clip(1.0 - D, 0.0, 2.0)
    return np.sqrt(np.maximum(D, 0.0))  # faiss gives squared euclidean distances


def build_index(X: np.ndarray, metric: str, seed: int = 24) -> Index | None:
    """An index over the rows of ``X``, or ``None`` where :func:`available` says no."""
    if not available(metric):
        return None
    import faiss

    Xp = _prepare(X, metric)
    n, d = Xp.shape
    kind = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
    flat = faiss.IndexFlatIP(d) if metric == "cosine" else faiss.IndexFlatL2(d)
    if n <= EXACT_LIMIT:
        flat.add(Xp)
        return Index(flat, metric)
    nlist = int(4 * math.sqrt(n))
    ivf = faiss.IndexIVFFlat(flat, d, nlist, kind)
    ivf.cp.seed = seed
    ivf.cp.max_points_per_centroid = 64  # train on a seeded sample of at most 64 per cell
    ivf.train(Xp)
    ivf.add(Xp)
    ivf.nprobe = NPROBE
    return Index(ivf, metric, quantizer=flat)


def knn_graph(X: np.ndarray, k: int, metric: str, seed: int = 24) -> tuple[np.ndarray, np.ndarray] | None:
    """Each row's ``k`` nearest rows of ``X`` (itself first), or ``None`` (see module doc)."""
    index = build_index(X, metric, seed)
    if index is None:
        return None
    return index.search(X, k)
