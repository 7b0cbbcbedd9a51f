"""t-SNE that scales: openTSNE's FFT-accelerated gradients on every core, neighbours from
:mod:`pixplot.knn`, and for big collections a fit on a seeded sample with the rest placed by
the fitted model (as the UMAP path does).

scikit-learn's Barnes-Hut t-SNE is quadratic in practice beyond tens of thousands of points;
openTSNE's interpolation-based gradient is linear in the points. Its own neighbour search
(Annoy) is replaced by the faiss index the UMAP path uses, so both layouts read the same
neighbours and nothing is compiled. The result depends only on the seed and the data.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Above this many points t-SNE is fitted on a seeded sample of this size; the rest are placed.
TSNE_FIT_SAMPLE = 100_000
#: Points placed per optimisation call (bounds the memory of the new points' affinities).
PLACE_CHUNK = 100_000


def import_opentsne():
    """openTSNE, or a clear message naming the extra that installs it."""
    try:
        import openTSNE
    except ImportError as exc:  # pragma: no cover - the dependency is in pyproject
        from pixplot.errors import UserError

        raise UserError("the tsne layout needs openTSNE: pip install 'seeen-pixplot[all]'") from exc
    return openTSNE


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def faiss_knn_index(data: np.ndarray, k: int, metric: str, seed: int) -> Any:
    """An openTSNE ``KNNIndex`` backed by :class:`pixplot.knn.VectorIndex`."""
    from openTSNE.nearest_neighbors import KNNIndex

    from pixplot.knn import VectorIndex

    class FaissKNN(KNNIndex):
        VALID_METRICS = ["cosine", "euclidean"]

        def build(self):
            self.index = VectorIndex(self.data, metric=self.metric, seed=seed)
            idx, dist = self.index.neighbours(self.data, self.k + 1)
            return _drop_self(idx, dist, self.k)

        def query(self, query, k):
            idx, dist = self.index.neighbours(np.asarray(query, np.float32), k)
            return idx.astype(np.int64), dist.astype(np.float64)

    return FaissKNN(np.ascontiguousarray(data, np.float32), k, metric=metric, random_state=seed)


def _drop_self(idx: np.ndarray, dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows: the row itself is removed where the search found it,
    otherwise the farthest of the ``k + 1`` is."""
    rows = np.arange(len(idx))[:, None]
    is_self = idx == rows
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False
    out_i = idx[keep].reshape(len(idx), k).astype(np.int64)
    out_d = dist[keep].reshape(len(idx), k).astype(np.float64)
    return out_i, out_d


@dataclass
class TSNEReport:
    """What the t-SNE path did (manifest ``layout_fit``, benchmarks)."""

    items: int
    sample: int
    fit_seconds: float
    transform_seconds: float

    def to_json(self) -> dict[str, Any]:
        method = "opentsne fit" if self.sample >= self.items else "opentsne fit on a sample, transform for the rest"
        return {"method": method, **asdict(self)}


def tsne_layout(X: np.ndarray, perplexity: float = 30.0, metric: str = "cosine", seed: int = 24,
                fit_sample: int = TSNE_FIT_SAMPLE, n_jobs: int | None = None) -> tuple[np.ndarray, TSNEReport]:
    """A raw 2-D t-SNE embedding of ``X`` (not normalised) and a report.

    Up to ``fit_sample`` points: one openTSNE fit (PCA start, 250 exaggerated then 500 plain
    iterations, FFT gradients). Above: the fit runs on a seeded sample and the other points are
    placed by the fitted embedding's ``transform`` (each starts at the median of its nearest sample
    points and is optimised against the fixed sample), chunk by chunk.
    """
    openTSNE = import_opentsne()
    from openTSNE import affinity, initialization

    n = len(X)
    jobs = n_jobs or _cores()
    m = n if not fit_sample or n <= fit_sample else fit_sample
    sample = np.arange(n) if m == n else np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
    S = np.ascontiguousarray(X[sample], np.float32)
    p = min(perplexity, max(1.0, (m - 1) / 3))
    k = min(m - 1, int(3 * p))
    t = time.perf_counter()
    aff = affinity.PerplexityBasedNN(perplexity=p, knn_index=faiss_knn_index(S, k, metric, seed), n_jobs=jobs)
    init = initialization.pca(S, random_state=seed)
    model = openTSNE.TSNE(perplexity=p, metric=metric, n_jobs=jobs, random_state=seed,
                          negative_gradient_method="fft" if m > 5000 else "bh")
    emb = model.fit(affinities=aff, initialization=init)
    fit_s = time.perf_counter() - t
    P = np.zeros((n, 2), np.float32)
    P[sample] = np.asarray(emb, np.float32)
    t = time.perf_counter()
    if m < n:
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        for i in range(0, len(rest), PLACE_CHUNK):
            rows = rest[i:i + PLACE_CHUNK]
            P[rows] = np.asarray(emb.transform(np.ascontiguousarray(X[rows], np.float32)), np.float32)
    transform_s = time.perf_counter() - t
    return P, TSNEReport(items=n, sample=m, fit_seconds=round(fit_s, 2), transform_seconds=round(transform_s, 2))
