"""Nearest-neighbour indexes over L2-normalised vectors: exact by default, approximate when large.

Similarity is the inner product of unit vectors (cosine similarity, 1 = identical). The exact
index is a float32 matrix product in chunks, which is as fast as anything up to a few hundred
thousand vectors and never wrong. Above :data:`APPROX_THRESHOLD` vectors a faiss inverted-file
index (IVF-Flat) answers a query in a few milliseconds instead of tens to a hundred.

Why faiss IVF rather than an HNSW graph (usearch, hnswlib): building it is k-means on a sample
plus one assignment pass, both matrix products, so a million vectors index in about a minute on
two cores; inserting into an HNSW graph measured ~300 vectors/s on the same loaded two-core
machine (200k vectors: 10 minutes), which a recognition run that builds its index on the fly
cannot afford. faiss-cpu is a larger wheel (~40 MB), a price paid once. Its recall against the
exact index is measured, not assumed: :func:`recall_at_k`, ``benchmarks/bench_recognize.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pixplot.knn import normalise

#: Galleries larger than this get the approximate index when the choice is ``auto``.
APPROX_THRESHOLD = 200_000
#: Rows of the gallery multiplied at once by the exact index (bounds its memory).
_CHUNK = 65_536
#: Queries scored at once (with _CHUNK, at most 256 MiB of scores).
_QUERY_BLOCK = 1024


@dataclass
class Hits:
    """Top-k answers for a batch of queries: ``indices`` (q, k) into the gallery, -1 where fewer
    than k exist; ``scores`` (q, k) cosine similarities, best first (-inf where none)."""

    indices: np.ndarray
    scores: np.ndarray


class Index(Protocol):
    kind: str

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> Hits: ...


def _topk(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest of each row of S, best first."""
    k = min(k, S.shape[1])
    if k == 0:
        return np.zeros((S.shape[0], 0), np.int64), np.zeros((S.shape[0], 0), np.float32)
    part = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < S.shape[1] else np.tile(np.arange(S.shape[1]),
                                                                                        (S.shape[0], 1))
    vals = np.take_along_axis(S, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _pad(idx: np.ndarray, val: np.ndarray, k: int) -> Hits:
    q, have = idx.shape
    if have < k:
        idx = np.hstack([idx, np.full((q, k - have), -1, np.int64)])
        val = np.hstack([val, np.full((q, k - have), -np.inf, np.float32)])
    return Hits(idx.astype(np.int64), val.astype(np.float32))


class ExactIndex:
    """Brute force: every query against every vector, one matrix product per chunk."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = normalise(vectors) if len(vectors) else np.zeros((0, np.shape(vectors)[-1]), np.float32)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> Hits:
        Q = normalise(queries)
        if len(Q) > _QUERY_BLOCK:  # bounds the (queries x chunk) score matrix
            parts = [self.search(Q[s:s + _QUERY_BLOCK], k) for s in range(0, len(Q), _QUERY_BLOCK)]
            return Hits(np.vstack([p.indices for p in parts]), np.vstack([p.scores for p in parts]))
        n = len(self.vectors)
        if n <= _CHUNK:
            idx, val = _topk(Q @ self.vectors.T, k)
            return _pad(idx, val, k)
        best_i = np.zeros((len(Q), 0), np.int64)
        best_v = np.zeros((len(Q), 0), np.float32)
        for start in range(0, n, _CHUNK):
            i, v = _topk(Q @ self.vectors[start:start + _CHUNK].T, k)
            best_i = np.hstack([best_i, i + start])
            best_v = np.hstack([best_v, v])
            keep_i, keep_v = _topk(best_v, k)
            best_i, best_v = np.take_along_axis(best_i, keep_i, axis=1), keep_v
        return _pad(best_i, best_v, k)


class ApproxIndex:
    """faiss IVF-Flat on inner product: k-means cells, each query scans the ``nprobe`` nearest cells.

    ``nlist`` defaults to about 4·sqrt(n) cells (4,000 at 1M), trained on a sample of 40 vectors
    per cell (under a minute at 1M on two cores); vectors are stored uncompressed, so within the
    scanned cells scores are exact. At 1M a query with ``nprobe`` 64 scans 1.6 % of the gallery;
    :func:`tune_nprobe` raises it until the measured recall is met. (sqrt(n) cells train 4x
    faster but need ~4x more vectors scanned for the same recall: measured 12.9 ms against
    ~4 ms per query at recall 0.97 on a 1M gallery.)"""

    kind = "faiss-ivf"

    def __init__(self, vectors: np.ndarray, nlist: int | None = None, nprobe: int = 64, threads: int | None = None,
                 seed: int = 0) -> None:
        try:
            import faiss
        except ImportError as exc:
            from pixplot.errors import UserError

            raise UserError("the approximate index needs faiss (a dependency): pip install faiss-cpu, "
                            "or use --index exact") from exc

        if threads:
            faiss.omp_set_num_threads(threads)
        X = normalise(vectors)
        n, self.dim = X.shape
        self._n = n
        self.nlist = int(nlist or max(1, min(n // 40, round(4 * np.sqrt(n)))))
        self._quantiser = faiss.IndexFlatIP(self.dim)
        self._index = faiss.IndexIVFFlat(self._quantiser, self.dim, self.nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = X if n <= 40 * self.nlist else X[np.sort(rng.choice(n, 40 * self.nlist, replace=False))]
        self._index.cp.seed = seed
        self._index.train(sample)
        self._index.add(X)
        self.nprobe = nprobe

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._index.nprobe = max(1, min(int(value), self.nlist))

    def __len__(self) -> int:
        return self._n

    def search(self, queries: np.ndarray, k: int) -> Hits:
        Q = normalise(queries)
        kk = min(k, self._n)
        if kk == 0:
            return _pad(np.zeros((len(Q), 0), np.int64), np.zeros((len(Q), 0), np.float32), k)
        scores, keys = self._index.search(Q, kk)
        scores = np.where(keys >= 0, scores, -np.inf).astype(np.float32)
        return _pad(keys.astype(np.int64), scores, k)


def make_index(vectors: np.ndarray, kind: str = "auto", threshold: int = APPROX_THRESHOLD) -> Index:
    """``exact``, ``approx``, or ``auto`` (approximate above ``threshold`` vectors)."""
    if kind not in ("auto", "exact", "approx"):
        raise ValueError(f"index kind {kind!r}: choose auto, exact or approx")
    if kind == "approx" or (kind == "auto" and len(vectors) > threshold):
        return ApproxIndex(vectors)
    return ExactIndex(vectors)


def recall_at_k(index: Index, exact: ExactIndex, queries: np.ndarray, k: int = 10) -> float:
    """Mean fraction of the exact top-k that ``index`` also returns (1.0 for the exact index)."""
    a = index.search(queries, k).indices
    b = exact.search(queries, k).indices
    hits = [len(set(a[i][a[i] >= 0]) & set(b[i][b[i] >= 0])) / max(1, int((b[i] >= 0).sum()))
            for i in range(len(b))]
    return float(np.mean(hits)) if hits else 1.0


def tune_nprobe(index: ApproxIndex, exact: ExactIndex, queries: np.ndarray, k: int = 10,
                target: float = 0.95) -> float:
    """Double ``nprobe`` until recall@k against exact search reaches ``target`` (or every cell is
    scanned); returns the recall reached. Clustered embeddings reach it at the default; vectors
    with little structure need more cells, and get them rather than silently wrong neighbours."""
    r = recall_at_k(index, exact, queries, k)
    while r < target and index.nprobe < index.nlist:
        index.nprobe = index.nprobe * 2
        r = recall_at_k(index, exact, queries, k)
    return r
