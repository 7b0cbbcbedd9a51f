"""Nearest neighbours: one vector index for layouts, recognition and search.

:class:`VectorIndex` is faiss over float32 rows, in one convention: for ``cosine`` (the default)
rows and queries are L2-normalised with :func:`normalise` and the score is the inner product
(cosine similarity, 1 = identical); for ``euclidean`` the score is minus the distance. Either way
higher is closer, and :meth:`VectorIndex.search` returns ids and scores best first.

Up to ``exact_limit`` rows the search is exact (a flat index: every query against every row,
multi-threaded, deterministic). Above it, an inverted-file index (IVF-Flat): k-means cells
trained with a fixed seed on at most :data:`TRAIN_PER_CELL` rows per cell, each query scanning
its ``nprobe`` nearest cells; rows are stored uncompressed, so scores within scanned cells are
exact. The limit is the caller's policy, because it depends on how many queries follow: a
layout asks every row for its neighbours (:data:`EXACT_LIMIT`, 30k), while recognition and the
viewer's search ask a few (:data:`SEARCH_EXACT_LIMIT`, 200k, where an exact query still takes
tens of milliseconds). Approximate recall is measured, never assumed: :func:`recall_at_k`,
:func:`tune_nprobe` (the IVF with :data:`NPROBE` found 99.9% of the exact neighbours of 100k and
200k clustered points, docs/scale.md; ``benchmarks/bench_recognize.py`` for galleries).

Why faiss rather than an HNSW graph or pynndescent: nothing to compile (UMAP's own search spends
about 50 s compiling its numba kernels in every process), every core used, the same answer every
run, and an IVF index builds in about a minute at 1M rows on two cores where inserting into an
HNSW graph measured ~300 rows/s on the same machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Up to this many rows a layout's neighbour graph is exact.
EXACT_LIMIT = 30_000
#: Up to this many rows recognition and search are exact.
SEARCH_EXACT_LIMIT = 200_000
#: Cells probed per query in the inverted-file index, unless the caller says otherwise.
NPROBE = 12
#: The cells are trained on a seeded sample of at most this many rows per cell.
TRAIN_PER_CELL = 64
METRICS = ("cosine", "euclidean")
#: Queries searched at once (bounds the memory of one faiss call).
_CHUNK = 65_536


def available(metric: str) -> bool:
    """Whether :class:`VectorIndex` serves ``metric`` (cosine or euclidean, with faiss installed)."""
    if metric not in METRICS:
        return False
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def normalise(x: np.ndarray) -> np.ndarray:
    """Float32, C-contiguous, each row of unit length (zero rows stay zero)."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim == 1:
        x = x[None, :]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(n > 0, n, 1), dtype=np.float32)


@dataclass
class Hits:
    """Top-k answers for a batch of queries: ``indices`` (q, k) int64 row numbers, -1 where fewer
    than k rows exist; ``scores`` (q, k) float32, best first (cosine similarity, or minus the
    euclidean distance), -inf where none."""

    indices: np.ndarray
    scores: np.ndarray


class VectorIndex:
    """The rows of ``vectors``, searchable by similarity (see the module doc for the convention).

    ``kind``: ``auto`` (exact up to ``exact_limit`` rows, else IVF), ``exact`` or ``approx``.
    ``nlist`` defaults to about 4·sqrt(n) cells, at most one per 40 rows; ``seed`` fixes the
    training sample and the k-means start, so the same rows give the same index."""

    def __init__(self, vectors: np.ndarray, *, metric: str = "cosine", kind: str = "auto",
                 exact_limit: int = EXACT_LIMIT, nprobe: int = NPROBE, nlist: int | None = None,
                 seed: int = 0) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric {metric!r}: choose {' or '.join(METRICS)}")
        if kind not in ("auto", "exact", "approx"):
            raise ValueError(f"index kind {kind!r}: choose auto, exact or approx")
        try:
            import faiss
        except ImportError as exc:
            from pixplot.errors import UserError

            raise UserError("nearest-neighbour search needs faiss (a dependency): pip install faiss-cpu") from exc
        self.metric = metric
        X = self._prepare(vectors if len(vectors) else np.zeros((0, np.shape(vectors)[-1]), np.float32))
        self._n, self.dim = X.shape
        self._flat = faiss.IndexFlatIP(self.dim) if metric == "cosine" else faiss.IndexFlatL2(self.dim)
        approx = kind == "approx" or (kind == "auto" and self._n > exact_limit)
        if not approx or self._n == 0:
            self.kind, self.nlist = "exact", 0
            self._flat.add(X)
            self._index: Any = self._flat
            return
        self.kind = "faiss-ivf"
        self.nlist = int(nlist or max(1, min(self._n // 40, int(4 * math.sqrt(self._n)))))
        space = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
        ivf = faiss.IndexIVFFlat(self._flat, self.dim, self.nlist, space)  # _flat: the cells, kept alive here
        ivf.cp.seed = seed
        ivf.cp.max_points_per_centroid = TRAIN_PER_CELL
        ivf.train(X)
        ivf.add(X)
        self._index = ivf
        self.nprobe = nprobe

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        return normalise(X) if self.metric == "cosine" else np.ascontiguousarray(X, dtype=np.float32)

    def __len__(self) -> int:
        return self._n

    @property
    def nprobe(self) -> int:
        """Cells scanned per query (0 for an exact index)."""
        return int(self._index.nprobe) if self.kind != "exact" else 0

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.kind != "exact":
            self._index.nprobe = max(1, min(int(value), self.nlist))

    def search(self, queries: np.ndarray, k: int) -> Hits:
        """The ``k`` best rows for each query, best first (padded with -1 / -inf)."""
        Q = np.asarray(queries, dtype=np.float32)
        Q = Q[None, :] if Q.ndim == 1 else Q
        kk = min(k, self._n)
        idx = np.full((len(Q), k), -1, np.int64)
        scores = np.full((len(Q), k), -np.inf, np.float32)
        if kk <= 0:
            return Hits(idx, scores)
        for i in range(0, len(Q), _CHUNK):
            D, ix = self._index.search(self._prepare(Q[i:i + _CHUNK]), kk)
            found = ix >= 0
            idx[i:i + _CHUNK, :kk] = ix
            s = D if self.metric == "cosine" else -np.sqrt(np.maximum(D, 0.0))  # faiss L2 is squared
            scores[i:i + _CHUNK, :kk] = np.where(found, s, -np.inf)
        return Hits(idx, scores)

    def neighbours(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """UMAP's convention: the ``min(k, n)`` nearest rows of each query as (indices int32,
        distances float32), nearest first; distance ``1 - cos`` (cosine) or euclidean."""
        hits = self.search(queries, k)
        kk = min(k, self._n)
        idx, s = hits.indices[:, :kk].astype(np.int32), hits.scores[:, :kk]
        dist = np.clip(1.0 - s, 0.0, 2.0) if self.metric == "cosine" else -s
        return idx, dist.astype(np.float32)


def knn_graph(X: np.ndarray, k: int, metric: str, seed: int = 24) -> tuple[np.ndarray, np.ndarray] | None:
    """Each row's ``k`` nearest rows of ``X`` (itself first) in UMAP's convention, or ``None``
    where :func:`available` says no (the caller then uses UMAP's own search)."""
    if not available(metric):
        return None
    return VectorIndex(X, metric=metric, seed=seed).neighbours(X, k)


def recall_at_k(index: VectorIndex, exact: VectorIndex, queries: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the exact top-k that ``index`` also returns (1.0 for an exact index)."""
    a = index.search(queries, k).indices
    b = exact.search(queries, k).indices
    hits = [len(set(a[i][a[i] >= 0]) & set(b[i][b[i] >= 0])) / max(1, int((b[i] >= 0).sum()))
            for i in range(len(b))]
    return float(np.mean(hits)) if hits else 1.0


def tune_nprobe(index: VectorIndex, exact: VectorIndex, queries: np.ndarray, k: int = 10,
                target: float = 0.95) -> float:
    """Double ``nprobe`` until recall@k against exact search reaches ``target`` (or every cell is
    scanned); returns the recall reached. Clustered embeddings reach it at once; rows with little
    structure need more cells, and get them rather than silently wrong neighbours."""
    r = recall_at_k(index, exact, queries, k)
    while r < target and index.kind != "exact" and index.nprobe < index.nlist:
        index.nprobe = index.nprobe * 2
        r = recall_at_k(index, exact, queries, k)
    return r
